package dev.knot.net;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.iovec;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.tcp_h;
import dev.knot.bindings.linux.uio_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.sys.CallState;
import dev.knot.sys.ErrnoException;
import dev.knot.sys.Fds;
import dev.knot.sys.Platform;
import dev.knot.sys.SocketErrors;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * A non-blocking connected stream socket: TCP over IPv4 or IPv6, or Unix-domain.
 *
 * <p>Reads and writes never block: they return what the kernel took or gave, 0 when it would block, and -1 from a
 * read at end of stream. Wait for {@code Selector.OP_READ}/{@code OP_WRITE} (EVFILT_READ/WRITE) between them. A
 * {@link #connect} in progress completes through the WRITE filter: when it fires, call {@link #finishConnect()}.
 *
 * <p><b>Ownership:</b> the socket owns its descriptor; buffers and segments stay the caller's. <b>Threading:</b> not
 * thread-safe: use it from one thread (its event loop's); {@link #close()} is safe from any thread.
 * <b>Errors:</b> {@link ErrnoException}s naming errno and the operation (ECONNRESET, EPIPE, ECONNREFUSED...); a
 * closed socket throws {@link java.nio.channels.ClosedChannelException}. Writes use MSG_NOSIGNAL, so a peer that
 * is gone gives EPIPE, never SIGPIPE.
 */
public final class StreamSocket extends SocketBase {
    private static final int NOSIGNAL = socket_h.MSG_NOSIGNAL;
    private static final int IOV_MAX = unistd_h.IOV_MAX;
    private static final ThreadLocal<MemorySegment> IOVECS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(iovec.LAYOUT, IOV_MAX));

    private boolean connected;
    private SocketAddress remote;

    StreamSocket(int fd, int family, boolean connected) {
        super(fd, family);
        this.connected = connected;
    }

    /**
     * Starts a non-blocking connect. Loopback and Unix-domain connects usually complete at once
     * ({@link #isConnected()}); otherwise register for OP_WRITE and call {@link #finishConnect()} when it fires.
     *
     * @throws ErrnoException if the connect fails at once (ECONNREFUSED for a Unix path nobody listens on, ENOENT...)
     */
    public static StreamSocket connect(SocketAddress remote) throws IOException {
        Platform.requireLinux("Knot's sockets");
        int family = SocketAddresses.family(remote);
        MemorySegment st = CallState.forThread();
        int fd = socket_h.socket(st, family, socket_h.SOCK_STREAM | socket_h.SOCK_NONBLOCK | socket_h.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException("socket(" + family + ")", CallState.errno(st));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.encode(remote, a);
            StreamSocket s = new StreamSocket(fd, family, false);
            s.remote = remote;
            if (socket_h.connect(st, fd, sa, (int) sa.byteSize()) == 0) {
                s.connected = true;
            } else {
                int e = CallState.errno(st);
                if (e != errno_h.EINPROGRESS && e != errno_h.EAGAIN) throw new ErrnoException("connect(" + remote + ")", e);
            }
            return s;
        } catch (IOException | RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Creates a non-blocking, close-on-exec stream socket of {@code address}'s family (IPv4, IPv6 or Unix-domain)
     * that is neither bound nor connected, so that options can be set and a local address bound before
     * {@link #beginConnect}. Frameworks that configure a socket before connecting it (Netty's bootstrap) need this.
     *
     * @param address an address of the family wanted (its value is not used)
     * @return the unconnected socket, owned by the caller
     * @throws IOException ({@link ErrnoException}) if socket(2) fails, e.g. EAFNOSUPPORT for IPv6 on a host without it
     * @throws IllegalArgumentException for an unresolved or unsupported address
     */
    public static StreamSocket open(SocketAddress address) throws IOException {
        Platform.requireLinux("Knot's sockets");
        int family = SocketAddresses.family(address);
        MemorySegment st = CallState.forThread();
        int fd = socket_h.socket(st, family, socket_h.SOCK_STREAM | socket_h.SOCK_NONBLOCK | socket_h.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException("socket(" + family + ")", CallState.errno(st));
        return new StreamSocket(fd, family, false);
    }

    /**
     * Binds an unconnected socket from {@link #open} to a local address before {@link #beginConnect}.
     *
     * @param local the local address (port 0 for an ephemeral port)
     * @throws IOException EADDRINUSE, EADDRNOTAVAIL... naming the address; ClosedChannelException if closed
     */
    public void bind(SocketAddress local) throws IOException {
        ensureOpen();
        MemorySegment st = CallState.forThread();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.encode(local, a);
            if (socket_h.bind(st, fd, sa, (int) sa.byteSize()) != 0) throw new ErrnoException("bind(" + local + ")", CallState.errno(st));
        }
    }

    /**
     * Starts a non-blocking connect of a socket from {@link #open}. When it returns false, wait for the WRITE filter
     * and call {@link #finishConnect()}.
     *
     * @param remote the peer
     * @return true if connected at once (usual for loopback and Unix-domain), false if in progress
     * @throws IOException the connect's immediate failure (ECONNREFUSED, ENOENT, EISCONN...) naming the address
     */
    public boolean beginConnect(SocketAddress remote) throws IOException {
        ensureOpen();
        MemorySegment st = CallState.forThread();
        this.remote = remote;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.encode(remote, a);
            if (socket_h.connect(st, fd, sa, (int) sa.byteSize()) == 0) {
                connected = true;
                return true;
            }
            int e = CallState.errno(st);
            if (e != errno_h.EINPROGRESS && e != errno_h.EAGAIN) throw new ErrnoException("connect(" + remote + ")", e);
            return false;
        }
    }

    /**
     * Takes over a connected stream socket received from elsewhere, making it non-blocking and close-on-exec.
     *
     * @throws ErrnoException EBADF if it is not open, ENOTSOCK if it is not a socket
     * @throws IllegalArgumentException if it is not a stream socket
     */
    public static StreamSocket adopt(int fd) throws IOException {
        Platform.requireLinux("Knot's sockets");
        if (SocketOptions.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_TYPE, "SO_TYPE") != socket_h.SOCK_STREAM) {
            throw new IllegalArgumentException("fd " + fd + " is not a stream socket");
        }
        int family = SocketOptions.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_DOMAIN, "SO_DOMAIN");
        Fds.setNonBlocking(fd, true);
        Fds.setCloseOnExec(fd, true);
        return new StreamSocket(fd, family, true);
    }

    /** A connected Unix-domain socketpair, both ends non-blocking and close-on-exec. */
    public static StreamSocket[] pair() throws IOException {
        Platform.requireLinux("Knot's sockets");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(java.lang.foreign.ValueLayout.JAVA_INT, 2);
            MemorySegment st = CallState.forThread();
            if (socket_h.socketpair(st, socket_h.AF_UNIX, socket_h.SOCK_STREAM | socket_h.SOCK_NONBLOCK | socket_h.SOCK_CLOEXEC, 0, sv) != 0) {
                throw new ErrnoException("socketpair", CallState.errno(st));
            }
            return new StreamSocket[] {
                new StreamSocket(sv.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, 0), socket_h.AF_UNIX, true),
                new StreamSocket(sv.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, 1), socket_h.AF_UNIX, true)
            };
        }
    }

    /** True once connected. */
    public boolean isConnected() {
        return connected;
    }

    /**
     * Completes a non-blocking connect after the WRITE filter fired.
     *
     * @return true if connected, false if still in progress
     * @throws ErrnoException the connect's failure (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH...)
     */
    public boolean finishConnect() throws IOException {
        ensureOpen();
        if (connected) return true;
        int err = SocketOptions.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_ERROR, "SO_ERROR");
        if (err == 0) err = SocketErrors.take(fd);      // a kqueue emulation that reported it may have read it
        if (err != 0) throw new ErrnoException("connect(" + remote + ")", err);
        try {
            remote = name(false);
            connected = true;
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == errno_h.ENOTCONN) return false;
            throw e;
        }
    }

    /**
     * Reads into {@code dst}.
     *
     * @return bytes read; 0 if none are available now (or {@code dst} is empty); -1 at end of stream
     * @throws ErrnoException ECONNRESET and the like
     */
    public int read(MemorySegment dst) throws IOException {
        ensureOpen();
        long len = dst.byteSize();
        if (len == 0) return 0;
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.recv(st, fd, dst, len, 0);
            if (r > 0) return (int) r;
            if (r == 0) {
                // A reset whose error the kqueue emulation consumed looks like EOF to recv: report the reset.
                int err = SocketErrors.take(fd);
                if (err != 0) throw new ErrnoException("recv(" + fd + ")", err);
                return -1;
            }
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException("recv(" + fd + ")", e);
        }
    }

    /**
     * Reads into native memory given by its address, for buffers whose address a framework hands out (a direct
     * Netty {@code ByteBuf}'s {@code memoryAddress()}): as {@link #read(MemorySegment)}, without a segment per call.
     * The caller guarantees that {@code length} bytes from {@code address} are writable memory it owns.
     *
     * @param address the first byte to fill
     * @param length at most this many bytes are read
     * @return bytes read; 0 if none are available now (or {@code length} is 0); -1 at end of stream
     * @throws IOException ECONNRESET and the like, as {@link ErrnoException}s
     */
    public int readAddress(long address, int length) throws IOException {
        ensureOpen();
        if (length <= 0) return 0;
        MemorySegment buf = MemorySegment.ofAddress(address);
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.recv(st, fd, buf, length, 0);
            if (r > 0) return (int) r;
            if (r == 0) {
                int err = SocketErrors.take(fd);
                if (err != 0) throw new ErrnoException("recv(" + fd + ")", err);
                return -1;
            }
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException("recv(" + fd + ")", e);
        }
    }

    /**
     * Writes native memory given by its address: as {@link #write(MemorySegment)}, without a segment per call. The
     * caller guarantees that {@code length} bytes from {@code address} are readable memory it owns.
     *
     * @param address the first byte to send
     * @param length the number of bytes
     * @return bytes the kernel took (0 if its send buffer is full)
     * @throws IOException EPIPE, ECONNRESET... as {@link ErrnoException}s
     */
    public int writeAddress(long address, int length) throws IOException {
        ensureOpen();
        if (length <= 0) return 0;
        MemorySegment buf = MemorySegment.ofAddress(address);
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.send(st, fd, buf, length, NOSIGNAL);
            if (r >= 0) return (int) r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException("send(" + fd + ")", e);
        }
    }

    /**
     * Gathering write (writev) of the first {@code count} entries of {@code iov}, which the caller filled.
     *
     * @param iov the entries (address and length of each piece)
     * @param count how many, {@code 1 <= count <= iov.capacity()}
     * @return bytes written; 0 if the send buffer is full
     * @throws IOException EPIPE, ECONNRESET... as {@link ErrnoException}s
     * @throws IndexOutOfBoundsException if {@code count} is out of range
     */
    public long write(IoVecArray iov, int count) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(0, count, iov.capacity());
        if (count == 0) return 0;
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = uio_h.writev(st, fd, iov.segment(), count);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException("writev(" + fd + ")", e);
        }
    }

    /** Reads into {@code length} bytes of {@code dst} at {@code offset}; as {@link #read(MemorySegment)}. */
    public int read(MemorySegment dst, long offset, long length) throws IOException {
        return read(dst.asSlice(offset, length));
    }

    /** Writes {@code length} bytes of {@code src} from {@code offset}; as {@link #write(MemorySegment)}. */
    public int write(MemorySegment src, long offset, long length) throws IOException {
        return write(src.asSlice(offset, length));
    }

    /**
     * Reads into a direct buffer's remaining space and advances its position. Heap buffers are refused: the kernel
     * writes native memory.
     */
    public int read(ByteBuffer dst) throws IOException {
        requireDirect(dst);
        int n = read(MemorySegment.ofBuffer(dst));
        if (n > 0) dst.position(dst.position() + n);
        return n;
    }

    /**
     * Writes from {@code src}.
     *
     * @return bytes the kernel took (0 if its send buffer is full)
     * @throws ErrnoException EPIPE if the peer is gone, ECONNRESET, ...
     */
    public int write(MemorySegment src) throws IOException {
        ensureOpen();
        long len = src.byteSize();
        if (len == 0) return 0;
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.send(st, fd, src, len, NOSIGNAL);
            if (r >= 0) return (int) r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException("send(" + fd + ")", e);
        }
    }

    /** Writes a direct buffer's remaining bytes and advances its position. */
    public int write(ByteBuffer src) throws IOException {
        requireDirect(src);
        int n = write(MemorySegment.ofBuffer(src));
        if (n > 0) src.position(src.position() + n);
        return n;
    }

    /**
     * Gathering write (writev) of {@code count} segments from {@code offset}, up to IOV_MAX at a time.
     *
     * @return bytes written; 0 if the send buffer is full
     */
    public long write(MemorySegment[] srcs, int offset, int count) throws IOException {
        return vector(srcs, offset, count, true);
    }

    /**
     * Scattering read (readv) into {@code count} segments from {@code offset}.
     *
     * @return bytes read, 0 if none are available, -1 at end of stream
     */
    public long read(MemorySegment[] dsts, int offset, int count) throws IOException {
        return vector(dsts, offset, count, false);
    }

    private long vector(MemorySegment[] segs, int offset, int count, boolean write) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(offset, count, segs.length);
        int n = Math.min(count, IOV_MAX);
        if (n == 0) return 0;
        MemorySegment iov = IOVECS.get();
        long total = 0;
        for (int i = 0; i < n; i++) {
            MemorySegment s = segs[offset + i];
            long base = i * iovec.SIZEOF;
            iov.set(iovec.iov_base$LAYOUT, base + iovec.iov_base$OFFSET, s);
            iov.set(iovec.iov_len$LAYOUT, base + iovec.iov_len$OFFSET, s.byteSize());
            total += s.byteSize();
        }
        if (total == 0) return 0;
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = write ? uio_h.writev(st, fd, iov, n) : uio_h.readv(st, fd, iov, n);
            if (r > 0) return r;
            if (r == 0) return write ? 0 : -1;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return 0;
            if (e != errno_h.EINTR) throw new ErrnoException((write ? "writev(" : "readv(") + fd + ")", e);
        }
    }

    private static void requireDirect(ByteBuffer b) {
        if (!b.isDirect()) throw new IllegalArgumentException("Knot's sockets read and write direct buffers or MemorySegments, not heap buffers");
    }

    /** Half-close: no more reads (the peer's further data is discarded). */
    public void shutdownInput() throws IOException {
        shutdown(socket_h.SHUT_RD, "SHUT_RD");
    }

    /** Half-close: no more writes; the peer reads end of stream after the data already sent. */
    public void shutdownOutput() throws IOException {
        shutdown(socket_h.SHUT_WR, "SHUT_WR");
        Fds.sendShutdown(fd);
    }

    private void shutdown(int how, String name) throws IOException {
        ensureOpen();
        MemorySegment st = CallState.forThread();
        if (socket_h.shutdown(st, fd, how) != 0) throw new ErrnoException("shutdown(" + fd + ", " + name + ")", CallState.errno(st));
    }

    /** The credentials of the process at the other end of a Unix-domain socket, from SO_PEERCRED. */
    public record PeerCredentials(int pid, int uid, int gid) {}

    /**
     * SO_PEERCRED: who connected (for a Unix-domain socket; the kernel records it at connect time).
     *
     * @throws ErrnoException e.g. ENOPROTOOPT on a TCP socket
     */
    public PeerCredentials peerCredentials() throws IOException {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = dev.knot.bindings.linux.ucred.allocate(a);
            MemorySegment len = a.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
            len.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, (int) dev.knot.bindings.linux.ucred.SIZEOF);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, socket_h.SOL_SOCKET, socket_h.SO_PEERCRED, cred, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", SO_PEERCRED)", CallState.errno(st));
            }
            return new PeerCredentials(dev.knot.bindings.linux.ucred.pid(cred), dev.knot.bindings.linux.ucred.uid(cred),
                    dev.knot.bindings.linux.ucred.gid(cred));
        }
    }

    /** The peer's address. */
    public SocketAddress remoteAddress() throws IOException {
        ensureOpen();
        if (remote == null) remote = name(false);
        return remote;
    }

    public void setTcpNoDelay(boolean on) throws IOException {
        ensureOpen();
        SocketOptions.tcpNoDelay(fd, on);
    }

    /** TCP_NODELAY on for TCP sockets; nothing for Unix-domain ones. */
    public void setTcpNoDelayIfTcp() throws IOException {
        if (family != socket_h.AF_UNIX) setTcpNoDelay(true);
    }

    public boolean tcpNoDelay() throws IOException {
        ensureOpen();
        return SocketOptions.getBoolean(fd, in_h.IPPROTO_TCP, tcp_h.TCP_NODELAY, "TCP_NODELAY");
    }

    public void setKeepAlive(boolean on) throws IOException {
        ensureOpen();
        SocketOptions.setBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_KEEPALIVE, on, "SO_KEEPALIVE");
    }

    public boolean keepAlive() throws IOException {
        ensureOpen();
        return SocketOptions.getBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_KEEPALIVE, "SO_KEEPALIVE");
    }

    public void setSendBufferSize(int bytes) throws IOException {
        ensureOpen();
        SocketOptions.setInt(fd, socket_h.SOL_SOCKET, socket_h.SO_SNDBUF, bytes, "SO_SNDBUF");
    }

    /** SO_SNDBUF as the kernel reports it (Linux doubles what was set). */
    public int sendBufferSize() throws IOException {
        ensureOpen();
        return SocketOptions.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_SNDBUF, "SO_SNDBUF");
    }

    /** SO_LINGER: {@code seconds < 0} turns it off; 0 makes {@link #close()} reset the connection. */
    public void setLinger(int seconds) throws IOException {
        ensureOpen();
        SocketOptions.linger(fd, seconds);
    }

    /** SO_LINGER seconds, or -1 when off. */
    public int linger() throws IOException {
        ensureOpen();
        return SocketOptions.linger(fd);
    }
}
