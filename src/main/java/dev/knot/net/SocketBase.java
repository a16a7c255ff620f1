// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.Pollable;
import dev.knot.sys.ErrnoException;
import dev.knot.sys.Platform;
import dev.knot.system.Fds;
import dev.knot.system.Sockets;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicBoolean;

/** What listening, connected and datagram sockets share: the descriptor, its close, its local address and buffer options. */
abstract sealed class SocketBase implements Pollable, AutoCloseable permits StreamSocket, ListenSocket, DatagramSocket {
    final int fd;

    /**
     * The checks {@code adopt} makes of a descriptor from elsewhere, once for every kind of socket: Linux and the
     * socket type.
     *
     * @return its address family
     * @throws IllegalArgumentException if it is not a socket of {@code type}
     */
    static int adoptable(int fd, int type, String kind) throws IOException {
        Platform.requireLinux("Knot's sockets");
        if (Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_TYPE, "SO_TYPE") != type) {
            throw new IllegalArgumentException("fd " + fd + " is not a " + kind + " socket");
        }
        return Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_DOMAIN, "SO_DOMAIN");
    }
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

    /**
     * AF_INET, AF_INET6 or AF_UNIX.
     *
     * @return the address family: AF_INET, AF_INET6 or AF_UNIX
     */
    public int family() {
        return family;
    }

    /** {@return true until {@link #close()}} */
    public boolean isOpen() {
        return !closed.get();
    }

    void ensureOpen() throws ClosedChannelException {
        if (closed.get()) throw new ClosedChannelException();
    }

    /**
     * {@return the address the socket is bound to}
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public SocketAddress localAddress() throws IOException {
        ensureOpen();
        return name(true);
    }

    SocketAddress name(boolean local) throws ErrnoException {
        return Sockets.name(fd, local);
    }

    /**
     * Sets SO_RCVBUF.
     *
     * @param bytes the requested size (Linux doubles it for its bookkeeping)
     * @throws IOException {@link ErrnoException} if setsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setReceiveBufferSize(int bytes) throws IOException {
        ensureOpen();
        Sockets.setInt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, bytes, "SO_RCVBUF");
    }

    /**
     * SO_RCVBUF as the kernel reports it (Linux doubles what was set, for its bookkeeping).
     *
     * @return the receive buffer's size in bytes
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int receiveBufferSize() throws IOException {
        ensureOpen();
        return Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, "SO_RCVBUF");
    }

    /**
     * Sets SO_SNDBUF.
     *
     * @param bytes the requested size (Linux doubles it for its bookkeeping)
     * @throws IOException {@link ErrnoException} if setsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public void setSendBufferSize(int bytes) throws IOException {
        ensureOpen();
        Sockets.setInt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, bytes, "SO_SNDBUF");
    }

    /**
     * SO_SNDBUF as the kernel reports it (Linux doubles what was set).
     *
     * @return the send buffer's size in bytes
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int sendBufferSize() throws IOException {
        ensureOpen();
        return Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, "SO_SNDBUF");
    }

    /**
     * {@return whether SO_REUSEADDR is set}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public boolean reuseAddress() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, "SO_REUSEADDR");
    }

    /**
     * SO_REUSEADDR (for a socket from {@code StreamSocket.open}, before it binds).
     *
     * @param on the new value
     * @throws IOException if setsockopt fails or the socket is closed
     */
    public void setReuseAddress(boolean on) throws IOException {
        ensureOpen();
        Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, on, "SO_REUSEADDR");
    }

    /**
     * SO_REUSEPORT (before binding).
     *
     * @param on the new value
     * @throws IOException if setsockopt fails or the socket is closed
     */
    public void setReusePort(boolean on) throws IOException {
        ensureOpen();
        Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT, on, "SO_REUSEPORT");
    }

    /**
     * SO_REUSEPORT as set.
     *
     * @return true if on
     * @throws IOException if getsockopt fails or the socket is closed
     */
    public boolean isReusePort() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT, "SO_REUSEPORT");
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
