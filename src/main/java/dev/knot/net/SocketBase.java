package dev.knot.net;

import dev.knot.bindings.linux.socket_h;
import dev.knot.loop.Pollable;
import dev.knot.sys.CallState;
import dev.knot.sys.ErrnoException;
import dev.knot.sys.Fds;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicBoolean;

/** What listening and connected sockets share: the descriptor, its close, its local address and buffer options. */
abstract sealed class SocketBase implements Pollable, AutoCloseable permits StreamSocket, ListenSocket {
    final int fd;
    final int family;
    private final AtomicBoolean closed = new AtomicBoolean();

    SocketBase(int fd, int family) {
        this.fd = fd;
        this.family = family;
    }

    /** The descriptor; the socket owns it until {@link #close()}. */
    @Override
    public int fd() {
        return fd;
    }

    /** AF_INET, AF_INET6 or AF_UNIX. */
    public int family() {
        return family;
    }

    public boolean isOpen() {
        return !closed.get();
    }

    void ensureOpen() throws ClosedChannelException {
        if (closed.get()) throw new ClosedChannelException();
    }

    /** The address the socket is bound to. */
    public SocketAddress localAddress() throws IOException {
        ensureOpen();
        return name(true);
    }

    SocketAddress name(boolean local) throws ErrnoException {
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

    public void setReceiveBufferSize(int bytes) throws IOException {
        ensureOpen();
        SocketOptions.setInt(fd, socket_h.SOL_SOCKET, socket_h.SO_RCVBUF, bytes, "SO_RCVBUF");
    }

    /** SO_RCVBUF as the kernel reports it (Linux doubles what was set, for its bookkeeping). */
    public int receiveBufferSize() throws IOException {
        ensureOpen();
        return SocketOptions.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_RCVBUF, "SO_RCVBUF");
    }

    public boolean reuseAddress() throws IOException {
        ensureOpen();
        return SocketOptions.getBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_REUSEADDR, "SO_REUSEADDR");
    }

    /**
     * SO_REUSEADDR (for a socket from {@code StreamSocket.open}, before it binds).
     *
     * @param on the new value
     * @throws IOException if setsockopt fails or the socket is closed
     */
    public void setReuseAddress(boolean on) throws IOException {
        ensureOpen();
        SocketOptions.setBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_REUSEADDR, on, "SO_REUSEADDR");
    }

    /**
     * SO_REUSEPORT (before binding).
     *
     * @param on the new value
     * @throws IOException if setsockopt fails or the socket is closed
     */
    public void setReusePort(boolean on) throws IOException {
        ensureOpen();
        SocketOptions.setBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_REUSEPORT, on, "SO_REUSEPORT");
    }

    /**
     * SO_REUSEPORT as set.
     *
     * @return true if on
     * @throws IOException if getsockopt fails or the socket is closed
     */
    public boolean isReusePort() throws IOException {
        ensureOpen();
        return SocketOptions.getBoolean(fd, socket_h.SOL_SOCKET, socket_h.SO_REUSEPORT, "SO_REUSEPORT");
    }

    /**
     * Closes the socket. Registrations of the descriptor in Knot's kqueues go first (FreeBSD's close semantics).
     * Idempotent and thread-safe.
     */
    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) Fds.close(fd);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[fd=" + fd + (isOpen() ? "" : ", closed") + "]";
    }
}
