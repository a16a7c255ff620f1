// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.iovec;
import dev.knot.bindings.linux.linger;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.tcp_h;
import dev.knot.bindings.linux.ucred;
import dev.knot.bindings.linux.uio_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketAddress;

/**
 * The socket system calls of Knot's sockets, typed: each either returns its result or throws an
 * {@link ErrnoException} naming the call, its descriptor or address, and errno. Calls that may find nothing to do
 * on a non-blocking socket return {@link #WOULD_BLOCK} instead of throwing EAGAIN, and EINTR is retried, as the
 * JDK's {@code IOStatus.UNAVAILABLE} and mio's {@code WouldBlock} do. Linux only; thread-safe (errno goes through
 * {@link CallState#forThread()}).
 */
public final class Sockets {
    private Sockets() {}

    /** What a non-blocking call returns when the kernel has nothing for it now (EAGAIN). */
    public static final int WOULD_BLOCK = -2;

    public static final int AF_INET = socket_h.AF_INET, AF_INET6 = socket_h.AF_INET6, AF_UNIX = socket_h.AF_UNIX;
    public static final int SOCK_STREAM = socket_h.SOCK_STREAM;
    public static final int SOL_SOCKET = socket_h.SOL_SOCKET, IPPROTO_TCP = in_h.IPPROTO_TCP;
    public static final int SO_ERROR = socket_h.SO_ERROR, SO_TYPE = socket_h.SO_TYPE, SO_DOMAIN = socket_h.SO_DOMAIN;
    public static final int SO_ACCEPTCONN = socket_h.SO_ACCEPTCONN, SO_REUSEADDR = socket_h.SO_REUSEADDR;
    public static final int SO_REUSEPORT = socket_h.SO_REUSEPORT, SO_KEEPALIVE = socket_h.SO_KEEPALIVE;
    public static final int SO_RCVBUF = socket_h.SO_RCVBUF, SO_SNDBUF = socket_h.SO_SNDBUF;
    public static final int TCP_NODELAY = tcp_h.TCP_NODELAY;
    public static final int SHUT_RD = socket_h.SHUT_RD, SHUT_WR = socket_h.SHUT_WR;
    public static final int SOMAXCONN = socket_h.SOMAXCONN;
    /** The most segments one readv/writev takes. */
    public static final int IOV_MAX = unistd_h.IOV_MAX;

    private static final int NONBLOCK_CLOEXEC = socket_h.SOCK_NONBLOCK | socket_h.SOCK_CLOEXEC;
    private static final ThreadLocal<MemorySegment> IOVECS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(iovec.LAYOUT, IOV_MAX));

    /** socket(2): a non-blocking, close-on-exec socket of {@code family} and {@code type}; the caller owns it. */
    public static int socket(int family, int type) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        int fd = socket_h.socket(st, family, type | NONBLOCK_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException("socket(" + family + ")", CallState.errno(st));
        return fd;
    }

    /** socketpair(2) of non-blocking, close-on-exec Unix-domain sockets: {@code {end0, end1}}, both the caller's. */
    public static int[] socketpair(int type) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(ValueLayout.JAVA_INT, 2);
            MemorySegment st = CallState.forThread();
            if (socket_h.socketpair(st, AF_UNIX, type | NONBLOCK_CLOEXEC, 0, sv) != 0) {
                throw new ErrnoException("socketpair", CallState.errno(st));
            }
            return new int[] {sv.getAtIndex(ValueLayout.JAVA_INT, 0), sv.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /** bind(2) to {@code local}. */
    public static void bind(int fd, SocketAddress local) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.encode(local, a);
            MemorySegment st = CallState.forThread();
            if (socket_h.bind(st, fd, sa, (int) sa.byteSize()) != 0) {
                throw new ErrnoException("bind(" + local + ")", CallState.errno(st));
            }
        }
    }

    /** listen(2); {@code local} names the socket in the error. */
    public static void listen(int fd, int backlog, SocketAddress local) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        if (socket_h.listen(st, fd, backlog) != 0) throw new ErrnoException("listen(" + local + ")", CallState.errno(st));
    }

    /**
     * connect(2) on a non-blocking socket.
     *
     * @return true if connected at once, false if the connect is in progress (EINPROGRESS, EAGAIN)
     */
    public static boolean connect(int fd, SocketAddress remote) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.encode(remote, a);
            MemorySegment st = CallState.forThread();
            if (socket_h.connect(st, fd, sa, (int) sa.byteSize()) == 0) return true;
            int e = CallState.errno(st);
            if (e != errno_h.EINPROGRESS && e != errno_h.EAGAIN) throw new ErrnoException("connect(" + remote + ")", e);
            return false;
        }
    }

    /**
     * accept4(2), non-blocking and close-on-exec. A connection reset before it was taken (ECONNABORTED) and EINTR
     * are skipped.
     *
     * @return the new descriptor (the caller's), or {@link #WOULD_BLOCK}
     */
    public static int accept(int fd) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            int c = socket_h.accept4(st, fd, MemorySegment.NULL, MemorySegment.NULL, NONBLOCK_CLOEXEC);
            if (c >= 0) return c;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e == errno_h.ECONNABORTED || e == errno_h.EINTR) continue;
            throw new ErrnoException("accept4(" + fd + ")", e);
        }
    }

    /** recv(2) into all of {@code dst}: bytes read, 0 at end of stream, or {@link #WOULD_BLOCK}. */
    public static long recv(int fd, MemorySegment dst) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.recv(st, fd, dst, dst.byteSize(), 0);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("recv(" + fd + ")", e);
        }
    }

    // recv/send of a slice call the bindings' static final handles so that the JIT inlines the whole downcall where
    // the slice is made and the slice never exists (escape analysis): the slice is what keeps the caller's arena
    // alive during the call, which a raw address would not. Through the wrappers' non-final CALL handles each call
    // allocated its 40 B slice (80 B per HTTP request in the example, one read and one write).
    private static final java.lang.invoke.MethodHandle RECV = socket_h.recv$handle(), SEND = socket_h.send$handle();

    /** recv(2) into {@code length} bytes of {@code dst} from {@code offset}: bytes read (0 at EOF), or {@link #WOULD_BLOCK}. */
    public static long recv(int fd, MemorySegment dst, long offset, long length) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r;
            try {
                r = (long) RECV.invokeExact(st, fd, dst.asSlice(offset, length), length, 0);
            } catch (Throwable t) {
                throw new AssertionError("knot: downcall recv failed", t);
            }
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("recv(" + fd + ")", e);
        }
    }

    /** send(2) of {@code length} bytes of {@code src} from {@code offset}, as {@link #send(int, MemorySegment)}. */
    public static long send(int fd, MemorySegment src, long offset, long length) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r;
            try {
                r = (long) SEND.invokeExact(st, fd, src.asSlice(offset, length), length, socket_h.MSG_NOSIGNAL);
            } catch (Throwable t) {
                throw new AssertionError("knot: downcall send failed", t);
            }
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("send(" + fd + ")", e);
        }
    }

    /** send(2) of all of {@code src} with MSG_NOSIGNAL (a gone peer is EPIPE, never SIGPIPE): bytes taken, or {@link #WOULD_BLOCK}. */
    public static long send(int fd, MemorySegment src) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.send(st, fd, src, src.byteSize(), socket_h.MSG_NOSIGNAL);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("send(" + fd + ")", e);
        }
    }

    /**
     * readv(2) or writev(2) of {@code count} segments from {@code offset} (at most {@link #IOV_MAX}; the caller
     * trims), through this thread's iovec array.
     *
     * @return bytes moved (0 from readv at end of stream), or {@link #WOULD_BLOCK}
     */
    public static long vector(int fd, MemorySegment[] segs, int offset, int count, boolean write) throws ErrnoException {
        MemorySegment iov = IOVECS.get();
        for (int i = 0; i < count; i++) {
            MemorySegment s = segs[offset + i];
            long base = i * iovec.SIZEOF;
            iov.set(iovec.iov_base$LAYOUT, base + iovec.iov_base$OFFSET, s);
            iov.set(iovec.iov_len$LAYOUT, base + iovec.iov_len$OFFSET, s.byteSize());
        }
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = write ? uio_h.writev(st, fd, iov, count) : uio_h.readv(st, fd, iov, count);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException((write ? "writev(" : "readv(") + fd + ")", e);
        }
    }

    /** The layout of {@code struct iovec}, for arrays that callers fill by address ({@code dev.knot.net.IoVecArray}). */
    public static final long IOVEC_SIZE = iovec.SIZEOF, IOVEC_BASE = iovec.iov_base$OFFSET, IOVEC_LEN = iovec.iov_len$OFFSET;

    /**
     * recv(2) into {@code length} bytes of native memory at {@code address}, which the caller owns (a framework's
     * direct buffer): bytes read, 0 at end of stream, or {@link #WOULD_BLOCK}.
     */
    public static long recvAddress(int fd, long address, long length) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            // By address, not MemorySegment.ofAddress: a segment made here is allocated whenever the JIT cannot see
            // through the whole downcall (KnotLoopAllocationTest).
            long r = socket_h.recv$raw(st, fd, address, length, 0);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("recv(" + fd + ")", e);
        }
    }

    /** send(2) with MSG_NOSIGNAL of {@code length} bytes at {@code address}: bytes taken, or {@link #WOULD_BLOCK}. */
    public static long sendAddress(int fd, long address, long length) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = socket_h.send$raw(st, fd, address, length, socket_h.MSG_NOSIGNAL);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("send(" + fd + ")", e);
        }
    }

    /** writev(2) of the first {@code count} entries of a caller-filled iovec array: bytes taken, or {@link #WOULD_BLOCK}. */
    public static long writev(int fd, MemorySegment iov, int count) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = uio_h.writev(st, fd, iov, count);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("writev(" + fd + ")", e);
        }
    }

    /**
     * writev(2) as {@link #writev(int, MemorySegment, int)}, of an iovec array at a native address: no segment is
     * made per call (see {@link #recvAddress}).
     */
    public static long writevAddress(int fd, long iovAddress, int count) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        while (true) {
            long r = uio_h.writev$raw(st, fd, iovAddress, count);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("writev(" + fd + ")", e);
        }
    }

    /** shutdown(2); {@code how} is {@link #SHUT_RD} or {@link #SHUT_WR}. */
    public static void shutdown(int fd, int how) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        if (socket_h.shutdown(st, fd, how) != 0) {
            String name = how == SHUT_RD ? "SHUT_RD" : how == SHUT_WR ? "SHUT_WR" : String.valueOf(how);
            throw new ErrnoException("shutdown(" + fd + ", " + name + ")", CallState.errno(st));
        }
    }

    /** getsockname(2) ({@code local}) or getpeername(2). */
    public static SocketAddress name(int fd, boolean local) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = SocketAddresses.storage(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) sa.byteSize());
            MemorySegment st = CallState.forThread();
            int r = local ? socket_h.getsockname(st, fd, sa, len) : socket_h.getpeername(st, fd, sa, len);
            if (r != 0) throw new ErrnoException((local ? "getsockname(" : "getpeername(") + fd + ")", CallState.errno(st));
            return SocketAddresses.decode(sa, len.get(ValueLayout.JAVA_INT, 0));
        }
    }

    /** setsockopt(2) of an int option; {@code what} names it in the error. */
    public static void setInt(int fd, int level, int name, int value, String what) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, level, name, v, 4) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", " + what + ", " + value + ")", CallState.errno(st));
            }
        }
    }

    /** getsockopt(2) of an int option; {@code what} names it in the error. */
    public static int getInt(int fd, int level, int name, String what) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, level, name, v, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", " + what + ")", CallState.errno(st));
            }
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** setsockopt(2) of a boolean option. */
    public static void setBoolean(int fd, int level, int name, boolean on, String what) throws ErrnoException {
        setInt(fd, level, name, on ? 1 : 0, what);
    }

    /** getsockopt(2) of a boolean option. */
    public static boolean getBoolean(int fd, int level, int name, String what) throws ErrnoException {
        return getInt(fd, level, name, what) != 0;
    }

    /** SO_LINGER: {@code seconds < 0} turns it off; 0 makes close send a reset. */
    public static void setLinger(int fd, int seconds) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = linger.allocate(a);
            linger.l_onoff(l, seconds >= 0 ? 1 : 0);
            linger.l_linger(l, Math.max(0, seconds));
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, SOL_SOCKET, socket_h.SO_LINGER, l, (int) linger.SIZEOF) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", SO_LINGER, " + seconds + ")", CallState.errno(st));
            }
        }
    }

    /** SO_LINGER in seconds, -1 when off. */
    public static int linger(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = linger.allocate(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) linger.SIZEOF);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, SOL_SOCKET, socket_h.SO_LINGER, l, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", SO_LINGER)", CallState.errno(st));
            }
            return linger.l_onoff(l) != 0 ? linger.l_linger(l) : -1;
        }
    }

    /** SO_PEERCRED of a Unix-domain socket: {@code {pid, uid, gid}} of the process that connected. */
    public static int[] peerCredentials(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = ucred.allocate(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) ucred.SIZEOF);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, SOL_SOCKET, socket_h.SO_PEERCRED, cred, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", SO_PEERCRED)", CallState.errno(st));
            }
            return new int[] {ucred.pid(cred), ucred.uid(cred), ucred.gid(cred)};
        }
    }
}
