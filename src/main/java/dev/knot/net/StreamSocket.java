// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.system.SocketAddresses;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Fds;
import dev.knot.sys.Platform;
import dev.knot.system.SocketErrors;
import dev.knot.system.Sockets;
import dev.knot.system.Errnos;

import java.io.IOException;
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
     * @param remote the address to connect to: an {@code InetSocketAddress} (IPv4 or IPv6) or a {@code
     *               UnixDomainSocketAddress}
     * @return the socket, owned by the caller; connected or connecting
     * @throws ErrnoException if the connect fails at once (ECONNREFUSED for a Unix path nobody listens on, ENOENT...)
     */
    public static StreamSocket connect(SocketAddress remote) throws IOException {
        Platform.requireLinux("Knot's sockets");
        int family = SocketAddresses.family(remote);
        int fd = Sockets.socket(family, Sockets.SOCK_STREAM);
        try {
            StreamSocket s = new StreamSocket(fd, family, false);
            s.remote = remote;
            s.connected = Sockets.connect(fd, remote);
            return s;
        } catch (IOException | RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Takes over a connected stream socket received from elsewhere, making it non-blocking and close-on-exec.
     *
     * @param fd a connected stream socket's descriptor, owned by the new socket from then on
     * @return the socket, which owns {@code fd}
     * @throws ErrnoException EBADF if it is not open, ENOTSOCK if it is not a socket
     * @throws IllegalArgumentException if it is not a stream socket
     */
    public static StreamSocket adopt(int fd) throws IOException {
        int family = adoptable(fd, Sockets.SOCK_STREAM, "stream");
        Fds.setNonBlocking(fd, true);
        Fds.setCloseOnExec(fd, true);
        return new StreamSocket(fd, family, true);
    }

    /**
     * {@return a connected Unix-domain socketpair, both ends non-blocking and close-on-exec, owned by the caller}
     *
     * @throws IOException an {@link ErrnoException} if socketpair fails (EMFILE, ENFILE...)
     */
    public static StreamSocket[] pair() throws IOException {
        Platform.requireLinux("Knot's sockets");
        int[] sv = Sockets.socketpair(Sockets.SOCK_STREAM);
        return new StreamSocket[] {
            new StreamSocket(sv[0], Sockets.AF_UNIX, true), new StreamSocket(sv[1], Sockets.AF_UNIX, true)
        };
    }

    /** {@return true once connected} */
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
        int err = Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_ERROR, "SO_ERROR");
        if (err == 0) err = SocketErrors.take(fd);      // a kqueue emulation that reported it may have read it
        if (err != 0) throw new ErrnoException("connect(" + remote + ")", err);
        try {
            remote = name(false);
            connected = true;
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == Errnos.ENOTCONN) return false;
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
        return new StreamSocket(Sockets.socket(family, Sockets.SOCK_STREAM), family, false);
    }

    /**
     * Binds an unconnected socket from {@link #open} to a local address before {@link #beginConnect}.
     *
     * @param local the local address (port 0 for an ephemeral port)
     * @throws IOException EADDRINUSE, EADDRNOTAVAIL... naming the address; ClosedChannelException if closed
     */
    public void bind(SocketAddress local) throws IOException {
        ensureOpen();
        Sockets.bind(fd, local);
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
        this.remote = remote;
        connected = Sockets.connect(fd, remote);
        return connected;
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
        long r = Sockets.recvAddress(fd, address, length);
        if (r > 0) return (int) r;
        if (r == Sockets.WOULD_BLOCK) return 0;
        return endOfStream();
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
        long r = Sockets.sendAddress(fd, address, length);
        return r == Sockets.WOULD_BLOCK ? 0 : (int) r;
    }

    /**
     * Gathering write (writev) of the first {@code count} entries of {@code iov}, which the caller filled.
     *
     * @param iov the entries (address and length of each piece)
     * @param count how many, {@code 0 <= count <= iov.capacity()}
     * @return bytes written; 0 if the send buffer is full
     * @throws IOException EPIPE, ECONNRESET... as {@link ErrnoException}s
     * @throws IndexOutOfBoundsException if {@code count} is out of range
     */
    public long write(IoVecArray iov, int count) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(0, count, iov.capacity());
        if (count == 0) return 0;
        long r = Sockets.writev(fd, iov.segment(), count);
        return r == Sockets.WOULD_BLOCK ? 0 : r;
    }

    /**
     * Reads into {@code dst}.
     *
     * @param dst where the bytes go
     * @return bytes read; 0 if none are available now (or {@code dst} is empty); -1 at end of stream
     * @throws ErrnoException ECONNRESET and the like
     */
    public int read(MemorySegment dst) throws IOException {
        ensureOpen();
        if (dst.byteSize() == 0) return 0;
        return readResult(Sockets.recv(fd, dst));
    }

    /**
     * Reads into {@code length} bytes of {@code dst} at {@code offset}; as {@link #read(MemorySegment)}.
     *
     * @param dst where the bytes go
     * @param offset the index of the first byte
     * @param length how many bytes
     * @return bytes read; 0 if none are available now; -1 at end of stream
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int read(MemorySegment dst, long offset, long length) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(offset, length, dst.byteSize());
        if (length == 0) return 0;
        return readResult(Sockets.recv(fd, dst, offset, length));
    }

    private int readResult(long r) throws ErrnoException {
        if (r > 0) return (int) r;
        if (r == Sockets.WOULD_BLOCK) return 0;
        return endOfStream();
    }

    /** recv returned 0: -1 for the end of stream, or the reset that the kqueue emulation consumed, thrown. */
    int endOfStream() throws ErrnoException {
        int err = SocketErrors.take(fd);
        if (err != 0) throw new ErrnoException("recv(" + fd + ")", err);
        return -1;
    }

    /**
     * Writes {@code length} bytes of {@code src} from {@code offset}; as {@link #write(MemorySegment)}.
     *
     * @param src the bytes to write
     * @param offset the index of the first byte
     * @param length how many bytes
     * @return bytes the kernel took (0 if its send buffer is full)
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int write(MemorySegment src, long offset, long length) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(offset, length, src.byteSize());
        if (length == 0) return 0;
        long r = Sockets.send(fd, src, offset, length);
        return r == Sockets.WOULD_BLOCK ? 0 : (int) r;
    }

    /**
     * Reads into a direct buffer's remaining space and advances its position. Heap buffers are refused: the kernel
     * writes native memory.
     *
     * @param dst where the bytes go
     * @return bytes read; 0 if none are available now; -1 at end of stream
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
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
     * @param src the bytes to write
     * @return bytes the kernel took (0 if its send buffer is full)
     * @throws ErrnoException EPIPE if the peer is gone, ECONNRESET, ...
     */
    public int write(MemorySegment src) throws IOException {
        ensureOpen();
        if (src.byteSize() == 0) return 0;
        long r = Sockets.send(fd, src);
        return r == Sockets.WOULD_BLOCK ? 0 : (int) r;
    }

    /**
     * Writes a direct buffer's remaining bytes and advances its position.
     *
     * @param src the bytes to write
     * @return bytes the kernel took (0 if its send buffer is full)
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int write(ByteBuffer src) throws IOException {
        requireDirect(src);
        int n = write(MemorySegment.ofBuffer(src));
        if (n > 0) src.position(src.position() + n);
        return n;
    }

    /**
     * Gathering write (writev) of {@code count} segments from {@code offset}, up to IOV_MAX at a time.
     *
     * @param srcs the segments to write, in order
     * @param offset the index of the first segment
     * @param count how many segments, from {@code offset}
     * @return bytes written; 0 if the send buffer is full
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public long write(MemorySegment[] srcs, int offset, int count) throws IOException {
        return vector(srcs, offset, count, true);
    }

    /**
     * Scattering read (readv) into {@code count} segments from {@code offset}.
     *
     * @param dsts the segments to fill, in order
     * @param offset the index of the first segment
     * @param count how many segments, from {@code offset}
     * @return bytes read, 0 if none are available, -1 at end of stream
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public long read(MemorySegment[] dsts, int offset, int count) throws IOException {
        return vector(dsts, offset, count, false);
    }

    private long vector(MemorySegment[] segs, int offset, int count, boolean write) throws IOException {
        ensureOpen();
        java.util.Objects.checkFromIndexSize(offset, count, segs.length);
        int n = Math.min(count, Sockets.IOV_MAX);
        if (n == 0) return 0;
        long total = 0;
        for (int i = 0; i < n; i++) total += segs[offset + i].byteSize();
        if (total == 0) return 0;
        long r = Sockets.vector(fd, segs, offset, n, write);
        if (r > 0) return r;
        if (r == 0) return write ? 0 : -1;
        return 0;                                         // WOULD_BLOCK
    }

    private static void requireDirect(ByteBuffer b) {
        if (!b.isDirect()) throw new IllegalArgumentException("Knot's sockets read and write direct buffers or MemorySegments, not heap buffers");
    }

    /**
     * Half-close: no more reads (the peer's further data is discarded).
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void shutdownInput() throws IOException {
        ensureOpen();
        Sockets.shutdown(fd, Sockets.SHUT_RD);
    }

    /**
     * Half-close: no more writes; the peer reads end of stream after the data already sent.
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void shutdownOutput() throws IOException {
        ensureOpen();
        Sockets.shutdown(fd, Sockets.SHUT_WR);
        Fds.sendShutdown(fd);
    }

    /**
     * The credentials of the process at the other end of a Unix-domain socket, from SO_PEERCRED.
     *
     * @param pid the peer's process id
     * @param uid the peer's user id
     * @param gid the peer's group id
     */
    public record PeerCredentials(int pid, int uid, int gid) {}

    /**
     * SO_PEERCRED: who connected (for a Unix-domain socket; the kernel records it at connect time).
     *
     * @return the peer's pid, uid and gid as the kernel recorded them at connect time
     * @throws ErrnoException e.g. ENOPROTOOPT on a TCP socket
     */
    public PeerCredentials peerCredentials() throws IOException {
        ensureOpen();
        int[] c = Sockets.peerCredentials(fd);
        return new PeerCredentials(c[0], c[1], c[2]);
    }

    /**
     * {@return the peer's address}
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public SocketAddress remoteAddress() throws IOException {
        ensureOpen();
        if (remote == null) remote = name(false);
        return remote;
    }

    /**
     * Sets TCP_NODELAY: send small segments at once instead of waiting to coalesce them (Nagle).
     *
     * @param on whether to disable Nagle's algorithm
     * @throws IOException {@link ErrnoException} if setsockopt fails (ENOTSUP-like errors on Unix-domain sockets), or
     *        {@link java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setTcpNoDelay(boolean on) throws IOException {
        ensureOpen();
        Sockets.setBoolean(fd, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, on, "TCP_NODELAY");
    }

    /**
     * TCP_NODELAY on for TCP sockets; nothing for Unix-domain ones.
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setTcpNoDelayIfTcp() throws IOException {
        if (family != Sockets.AF_UNIX) setTcpNoDelay(true);
    }

    /**
     * {@return whether TCP_NODELAY is set}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public boolean tcpNoDelay() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, "TCP_NODELAY");
    }

    /**
     * Sets SO_KEEPALIVE: the kernel probes an idle connection and reports its loss.
     *
     * @param on whether to send keep-alive probes
     * @throws IOException {@link ErrnoException} if setsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setKeepAlive(boolean on) throws IOException {
        ensureOpen();
        Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, on, "SO_KEEPALIVE");
    }

    /**
     * {@return whether SO_KEEPALIVE is set}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public boolean keepAlive() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, "SO_KEEPALIVE");
    }

    /**
     * SO_LINGER: {@code seconds < 0} turns it off; 0 makes {@link #close()} reset the connection.
     *
     * @param seconds the linger time; negative turns SO_LINGER off
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setLinger(int seconds) throws IOException {
        ensureOpen();
        Sockets.setLinger(fd, seconds);
    }

    /**
     * SO_LINGER seconds, or -1 when off.
     *
     * @return the linger time in seconds, or -1 when SO_LINGER is off
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int linger() throws IOException {
        ensureOpen();
        return Sockets.linger(fd);
    }
}
