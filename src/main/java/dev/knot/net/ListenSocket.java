// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Errnos;
import dev.knot.system.Fds;
import dev.knot.system.SocketAddresses;
import dev.knot.system.Sockets;
import dev.knot.sys.Platform;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A non-blocking listening socket: TCP over IPv4 or IPv6, or Unix-domain stream. Register it with EVFILT_READ (or
 * {@code Selector.OP_READ}), whose data is the number of connections waiting, and {@link #accept()} until it
 * returns null.
 *
 * <p><b>Ownership:</b> the socket owns its descriptor (and, for a Unix-domain socket it bound, not the path: the
 * caller removes the file). <b>Threading:</b> accept from one thread at a time; {@link #close()} from any.
 * <b>Errors:</b> {@link ErrnoException}s naming the call, descriptor and address.
 */
public final class ListenSocket extends SocketBase {
    /**
     * How to bind.
     *
     * @param backlog the accept queue length (the kernel caps it at somaxconn)
     * @param reuseAddress SO_REUSEADDR: rebind a port whose old connections are in TIME_WAIT
     * @param reusePort SO_REUSEPORT: several sockets (e.g. one per prefork worker) share the port and the kernel
     *                  balances connections between them
     */
    public record Options(int backlog, boolean reuseAddress, boolean reusePort) {
        /** {@return the defaults: backlog SOMAXCONN, SO_REUSEADDR on, SO_REUSEPORT off} */
        public static Options defaults() {
            return new Options(Sockets.SOMAXCONN, true, false);
        }

        /**
         * {@return these options with another backlog}
         *
         * @param n the accept queue's length
         */
        public Options backlog(int n) {
            return new Options(n, reuseAddress, reusePort);
        }

        /**
         * {@return these options with SO_REUSEPORT set or cleared}
         *
         * @param on whether several sockets may bind the same address and port
         */
        public Options reusePort(boolean on) {
            return new Options(backlog, reuseAddress, on);
        }

        /**
         * {@return these options with SO_REUSEADDR set or cleared}
         *
         * @param on whether a TCP address in TIME_WAIT may be bound again
         */
        public Options reuseAddress(boolean on) {
            return new Options(backlog, on, reusePort);
        }
    }

    private ListenSocket(int fd, int family) {
        super(fd, family);
    }

    /**
     * Binds and listens with {@link Options#defaults()}.
     *
     * @param local the address to bind: an {@code InetSocketAddress} (port 0 picks one) or a {@code
     *              UnixDomainSocketAddress}
     * @return the listening socket, owned by the caller
     * @throws IOException an {@link ErrnoException} naming the address if socket, bind or listen fails (EADDRINUSE,
     *         EACCES, EADDRNOTAVAIL...)
     */
    public static ListenSocket bind(SocketAddress local) throws IOException {
        return bind(local, Options.defaults());
    }

    /**
     * Binds and listens with the given backlog and default options.
     *
     * @param local the address to bind: an {@code InetSocketAddress} (port 0 picks one) or a {@code
     *              UnixDomainSocketAddress}
     * @param backlog the accept queue's length (the kernel caps it at {@code net.core.somaxconn})
     * @return the listening socket, owned by the caller
     * @throws IOException an {@link ErrnoException} naming the address if socket, bind or listen fails (EADDRINUSE,
     *         EACCES, EADDRNOTAVAIL...)
     */
    public static ListenSocket bind(SocketAddress local, int backlog) throws IOException {
        return bind(local, Options.defaults().backlog(backlog));
    }

    /**
     * Creates a non-blocking, close-on-exec socket of {@code local}'s family, applies the options, binds and listens.
     *
     * @param local the address to bind: an {@code InetSocketAddress} (port 0 picks one) or a {@code
     *              UnixDomainSocketAddress}
     * @param options backlog, SO_REUSEADDR and SO_REUSEPORT
     * @return the listening socket, owned by the caller
     * @throws ErrnoException e.g. EADDRINUSE, EACCES, or EADDRNOTAVAIL, naming the address
     */
    public static ListenSocket bind(SocketAddress local, Options options) throws IOException {
        Platform.requireLinux("Knot's sockets");
        int family = SocketAddresses.family(local);
        int fd = Sockets.socket(family, Sockets.SOCK_STREAM);
        try {
            if (family != Sockets.AF_UNIX) {
                Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, options.reuseAddress(), "SO_REUSEADDR");
                if (options.reusePort()) Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT, true, "SO_REUSEPORT");
            }
            Sockets.bind(fd, local);
            Sockets.listen(fd, options.backlog(), local);
            return new ListenSocket(fd, family);
        } catch (IOException | RuntimeException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * Takes over a listening socket received from elsewhere (inherited from a parent, LISTEN_FDS, SCM_RIGHTS): makes
     * it non-blocking and close-on-exec. The socket then owns the descriptor.
     *
     * @param fd a listening socket's descriptor, owned by the new socket from then on
     * @return the listening socket, which owns {@code fd}
     * @throws ErrnoException EBADF if it is not open, ENOTSOCK if it is not a socket
     * @throws IllegalArgumentException if it is a socket but not a listening stream socket
     */
    public static ListenSocket adopt(int fd) throws IOException {
        Platform.requireLinux("Knot's sockets");
        if (!Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_ACCEPTCONN, "SO_ACCEPTCONN")) {
            throw new IllegalArgumentException("fd " + fd + " is not a listening socket");
        }
        int family = Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_DOMAIN, "SO_DOMAIN");
        Fds.setNonBlocking(fd, true);
        Fds.setCloseOnExec(fd, true);
        return new ListenSocket(fd, family);
    }

    /**
     * Accepts one pending connection, non-blocking and close-on-exec.
     *
     * @return the connection, or null if none is waiting
     * @throws ErrnoException for real failures (EMFILE when out of descriptors: the connection stays queued)
     */
    public StreamSocket accept() throws IOException {
        int c = acceptFd();
        return c < 0 ? null : new StreamSocket(c, family, true);
    }

    /** Takes one accepted connection from {@link #acceptAll}; it owns the socket from then on. */
    @FunctionalInterface
    public interface AcceptHandler {
        /**
         * Takes ownership of one accepted connection.
         *
         * @param socket the connection, owned by the handler from now on
         * @throws IOException if setting it up fails; {@link #acceptAll} then closes it and rethrows
         */
        void accepted(StreamSocket socket) throws IOException;
    }

    /** How long {@link #acceptAll} stops accepting when descriptors or kernel memory run out. */
    public static final long ACCEPT_PAUSE_MILLIS = 100;

    // Resolved with this class: loading a class later may itself need the descriptor that has run out.
    private static final int EMFILE = Errnos.EMFILE, ENFILE = Errnos.ENFILE, ENOBUFS = Errnos.ENOBUFS, ENOMEM = Errnos.ENOMEM;

    /**
     * Accepts every waiting connection and hands each to {@code handler}: the body of this listener's READ handler
     * on {@code loop}, whose {@code key} watches it. If the handler throws, the connection is closed and the
     * exception propagates. When the process or the system is out of descriptors (EMFILE, ENFILE) or the kernel
     * out of memory (ENOBUFS, ENOMEM), the connection stays queued and the listener stays readable, so accepting
     * pauses instead of spinning: READ interest is dropped for {@link #ACCEPT_PAUSE_MILLIS} and the failure goes to
     * {@link EventLoop#report}. A handler that cancels {@code key} or turns its READ interest off stops the batch:
     * no further connection is taken. Loop thread only.
     *
     * @param loop the event loop this listener is registered on
     * @param key the listener's key on {@code loop}
     * @param handler takes each accepted connection
     * @throws IOException any other accept failure, or what the handler threw
     */
    public void acceptAll(EventLoop loop, Key key, AcceptHandler handler) throws IOException {
        acceptAll(loop, key, Integer.MAX_VALUE, handler);
    }

    /**
     * As {@link #acceptAll(EventLoop, Key, AcceptHandler)}, but accepts at most {@code max} connections in this call
     * (a server at its connection cap takes only what it has room for; the rest stay queued and the listener stays
     * readable).
     *
     * @param loop the loop whose thread this is
     * @param key the key watching this listener for READ on {@code loop}
     * @param max the most connections to accept now
     * @param handler takes each accepted connection
     * @return the number of connections accepted
     * @throws IOException any accept failure other than those that pause, or what the handler threw
     */
    public int acceptAll(EventLoop loop, Key key, int max, AcceptHandler handler) throws IOException {
        int accepted = 0;
        while (accepted < max) {
            StreamSocket s;
            try {
                s = accept();
            } catch (ErrnoException e) {
                int errno = e.errno();
                if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM) throw e;
                pauseAccepting(loop, key, e);
                return accepted;
            }
            if (s == null) {
                // The queue is drained: the shortage is over. One accept that succeeded is not enough to say so (a
                // descriptor freed for a moment lets one through, and the next fails again: the same shortage).
                if (pausedSince != 0) resumed(loop);
                return accepted;
            }
            accepted++;
            try {
                handler.accepted(s);
            } catch (IOException | RuntimeException e) {
                try {
                    s.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
            // A handler that turned accepting off (a drain, a worker at its request limit) means it: take no more.
            if (!key.isValid() || (key.interest() & Selector.OP_READ) == 0) return accepted;
        }
        // A full batch without a failure ends a shortage too, where a steady stream of connects never drains the queue.
        if (pausedSince != 0) resumed(loop);
        return accepted;
    }

    private void pauseAccepting(EventLoop loop, Key key, ErrnoException cause) {
        key.interest(key.interest() & ~Selector.OP_READ);
        loop.schedule(() -> {
            if (key.isValid()) key.interest(key.interest() | Selector.OP_READ);   // keys are never reused
        }, ACCEPT_PAUSE_MILLIS, TimeUnit.MILLISECONDS);
        // Reported when the shortage begins and logged when it ends, not at every retry.
        pauseRetries++;
        if (pausedSince != 0) return;
        pausedSince = System.nanoTime();
        pauseRetries = 0;
        loop.report(new IOException("accepting on " + this + " paused: retrying every " + ACCEPT_PAUSE_MILLIS + " ms", cause));
    }

    private void resumed(EventLoop loop) {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pausedSince);
        loop.log("accepting on " + this + " resumed after " + ms + " ms (" + pauseRetries + " retries failed)");
        pausedSince = 0;
    }

    // The current shortage (loop thread only): when it began (0: none) and how many retries failed since.
    private long pausedSince;
    private long pauseRetries;

    /**
     * Like {@link #accept()} but returns the raw descriptor (caller owns it), or -1 if none is waiting.
     *
     * @return the descriptor
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int acceptFd() throws IOException {
        ensureOpen();
        int c = Sockets.accept(fd);
        return c == Sockets.WOULD_BLOCK ? -1 : c;
    }

    /**
     * SO_REUSEPORT.
     *
     * @return whether SO_REUSEPORT is set
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public boolean reusePort() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEPORT, "SO_REUSEPORT");
    }

    /**
     * {@return the local port of a TCP listener}
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public int port() throws IOException {
        SocketAddress a = localAddress();
        if (a instanceof java.net.InetSocketAddress i) return i.getPort();
        throw new IllegalStateException("a Unix-domain socket has no port");
    }

    /** {@return true for a Unix-domain listener} */
    public boolean isUnix() {
        return family == Sockets.AF_UNIX;
    }

    /**
     * {@return the path of a Unix-domain listener}
     *
     * @throws IOException {@link ErrnoException} naming the system call and errno if it fails, or {@link
     *        java.nio.channels.ClosedChannelException} if the socket is closed
     */
    public java.nio.file.Path path() throws IOException {
        if (localAddress() instanceof UnixDomainSocketAddress u) return u.getPath();
        throw new IllegalStateException("not a Unix-domain socket");
    }
}
