// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.sys.Errno;
import dev.knot.sys.Platform;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A kqueue: the Java face of kqueue(2) and kevent(2).
 *
 * <p>On FreeBSD and macOS this is the kernel's kqueue. On Linux it is Knot's emulation over epoll, which gives
 * FreeBSD's semantics for EVFILT_READ, WRITE, TIMER, USER, PROC, SIGNAL and VNODE (see docs/emulation.md
 * for how, and for each known deviation); {@link #backend()} tells which one runs.
 *
 * <p><b>Ownership:</b> a Kqueue owns its descriptor and releases it on {@link #close()}; the {@link KeventArray}s
 * passed to {@link #kevent} stay the caller's. <b>Threading:</b> every method is thread-safe; several threads may
 * be in {@link #kevent} at once (each with its own arrays), a change made by one (an EVFILT_USER trigger, say)
 * wakes another blocked in it, and {@link #close()} wakes every blocked thread, whose call then fails with EBADF.
 * <b>Errors:</b> where kevent(2) returns -1, a {@link KqueueException} carries the errno; errors of individual
 * changes, and EV_RECEIPT acknowledgements, come back in the eventlist as EV_ERROR entries with the errno in data,
 * exactly as kevent(2) defines. Misuse that C would turn into memory corruption is refused up front: a count
 * larger than its array throws {@link IndexOutOfBoundsException}, a closed array {@link IllegalStateException}.
 */
public final class Kqueue implements AutoCloseable {
    /** kqueuex(2) flag: the descriptor is closed on exec. */
    public static final int CLOEXEC = dev.knot.system.KeventAbi.KQUEUE_CLOEXEC;
    /** kqueuex(2) flag: fork(2) copies the kqueue and its knotes into the child (FreeBSD 15.1+). */
    public static final int CPONFORK = dev.knot.system.KeventAbi.KQUEUE_CPONFORK;

    private static final int EINVAL = Errno.EINVAL, EBADF = Errno.EBADF, EFAULT = Errno.EFAULT;
    private static final int CLOSED = 1 << 30;

    private final Backend backend;
    private final int fd;
    private final int flags;
    /** CLOSED bit plus the number of threads inside kevent; the last one out after close releases the backend. */
    private final AtomicInteger state = new AtomicInteger();

    private Kqueue(Backend backend, int flags) {
        this.backend = backend;
        this.fd = backend.fd();
        this.flags = flags;
    }

    /**
     * Opens a kqueue with {@link #CLOEXEC}, as {@code open(CLOEXEC)}.
     *
     * @return the new kqueue, owned by the caller, who closes it
     * @throws KqueueException EMFILE/ENFILE/ENOMEM when the system is out of resources
     */
    public static Kqueue open() throws KqueueException {
        return open(CLOEXEC);
    }

    /**
     * Opens a kqueue, as kqueuex(2) does.
     *
     * @param flags {@link #CLOEXEC} and {@link #CPONFORK}; any other bit is EINVAL. CPONFORK is accepted everywhere
     *              but only honoured where {@link #copiesOnFork()} is true
     * @return the new kqueue, owned by the caller, who closes it
     * @throws KqueueException EINVAL for unknown flags, EMFILE/ENFILE/ENOMEM when the system is out of resources
     * @throws UnsupportedOperationException on an OS or arch Knot has no bindings for
     */
    public static Kqueue open(int flags) throws KqueueException {
        if ((flags & ~(CLOEXEC | CPONFORK)) != 0) {
            throw new KqueueException(EINVAL, "kqueuex(0x" + Integer.toHexString(flags) + "): unknown flag bits");
        }
        Backend b = switch (Platform.CURRENT) {
            case LINUX -> EmulatedBackend.open(flags);
            case FREEBSD -> NativeBackend.open(flags & (Holder.COPIES_ON_FORK ? CLOEXEC | CPONFORK : CLOEXEC));
            case MACOS -> NativeBackend.open(flags & CLOEXEC);
            case OTHER -> throw new UnsupportedOperationException("Knot has no kqueue for " + System.getProperty("os.name"));
        };
        return new Kqueue(b, flags);
    }

    /**
     * Knot extension: takes ownership of a kqueue descriptor this process inherited, the copy that FreeBSD's
     * KQUEUE_CPONFORK makes of a parent's kqueue (with its knotes and their state) when the descriptor survives
     * exec, as the fork path's same-numbers mode arranges. Unverified: Knot has not run this on a FreeBSD host.
     *
     * @param fd the inherited descriptor, owned by the returned kqueue from now on
     * @return the kqueue, owned by the caller, who closes it
     * @throws KqueueException EBADF or EINVAL if {@code fd} is not a kqueue; EOPNOTSUPP on Linux, where a kqueue is
     *         an epoll instance that a child would share with its parent, never a copy, and on kernels that do not
     *         copy kqueues ({@link #copiesOnFork()} false)
     */
    public static Kqueue adopt(int fd) throws KqueueException {
        if (!copiesOnFork()) {
            throw new KqueueException(Errno.EOPNOTSUPP, "Kqueue.adopt(" + fd + "): " + (Platform.CURRENT == Platform.LINUX
                    ? "an emulated kqueue is an epoll instance, shared with a child rather than copied"
                    : "this kernel does not copy kqueues into children (no KQUEUE_CPONFORK)"));
        }
        return new Kqueue(NativeBackend.adopt(fd), CPONFORK);
    }

    /** {@return {@code "kqueue"} where the kernel has one, {@code "epoll-emulation"} on Linux} */
    public static String backend() {
        return Platform.CURRENT == Platform.LINUX ? "epoll-emulation" : "kqueue";
    }

    /**
     * Knot extension, for diagnostics: how this kqueue's changelists reach the kernel. On FreeBSD and macOS
     * {@code "kevent"}: the kernel applies a changelist in the call itself. On Linux {@code "io_uring (...)"} when the
     * epoll_ctl calls that the changes of one kevent call need go to the kernel in one io_uring submission (with the
     * counts so far), or {@code "epoll_ctl (reason)"} when each is its own system call because io_uring is
     * unavailable (the kernel lacks it or {@code IORING_OP_EPOLL_CTL}, {@code kernel.io_uring_disabled}, a seccomp
     * filter) or was turned off with {@code -Dknot.uring=false} or {@code KNOT_URING=false}. Thread-safe.
     *
     * @return a one-line description that starts with {@code "kevent"}, {@code "io_uring"} or {@code "epoll_ctl"}
     */
    public String changelistPath() {
        return backend.changelistPath();
    }

    /**
     * Knot extension, for diagnostics: how EVFILT_READ's exact {@code data} (the bytes readable) is computed for
     * the sockets this kqueue returns. On FreeBSD and macOS {@code "kevent"}: the kernel fills it in as it collects.
     * On Linux {@code "io_uring (...)"} when the byte counts of the TCP and UDP sockets of one call are asked in one
     * io_uring submission ({@code SOCKET_URING_OP_SIOCINQ}, Linux 6.7; with the counts so far), or
     * {@code "ioctl (reason)"} when each is its own FIONREAD: io_uring is unavailable, the kernel lacks the socket
     * commands, or {@code -Dknot.uring.dataQueries=false} (or {@code KNOT_URING_DATA_QUERIES=false}) turned it off.
     * AF_UNIX sockets and pipes always take the FIONREAD, and a kqueue in the lower-bound mode
     * ({@link #setReadDataExact}) asks nothing. Thread-safe.
     *
     * @return a one-line description that starts with {@code "kevent"}, {@code "io_uring"} or {@code "ioctl"}
     */
    public String dataQueryPath() {
        return backend.dataQueryPath();
    }

    /**
     * Knot extension, for diagnostics and benchmarks: how many registration changes the Linux emulation has made
     * in the kernel for this kqueue since it opened (epoll_ctl calls, whether made directly or carried by io_uring).
     * A native kqueue applies its changelist in the kernel itself and reports -1. Any thread may call it.
     *
     * @return the emulation's epoll_ctl count, or -1 on a native kqueue
     */
    public long kernelChanges() {
        return backend.kernelChanges();
    }

    /** {@return true where the kernel honours {@link #CPONFORK} (FreeBSD with kqueuex(KQUEUE_CPONFORK)); false on Linux and macOS} */
    public static boolean copiesOnFork() {
        return Platform.CURRENT == Platform.FREEBSD && Holder.COPIES_ON_FORK;
    }

    /**
     * {@return true where EVFILT_PROC reports NOTE_FORK, NOTE_EXEC and NOTE_TRACK (with NOTE_CHILD and NOTE_TRACKERR)
     * to this process: on FreeBSD and macOS the kernel's kqueue does (macOS dropped NOTE_TRACK in 10.5); on Linux the
     * emulation needs the kernel's process-events connector, which works only in the initial pid and user namespaces
     * (not inside a container's) and, before Linux 6.6, only with CAP_NET_ADMIN; without it a knote asking for them
     * is still registered and reports NOTE_EXIT only. Asked of the kernel on each call, since privileges can change}
     */
    public static boolean tracksForkAndExec() {
        return Platform.CURRENT != Platform.LINUX || dev.knot.emulation.EpollKqueue.processEventsAvailable();
    }

    private static final class Holder {
        static final boolean COPIES_ON_FORK = Platform.CURRENT == Platform.FREEBSD && NativeBackend.probeCopyOnFork();
    }

    /**
     * Applies {@code nchanges} entries of {@code changes}, then collects up to {@code nevents} events into
     * {@code events}. Both arrays may be the same.
     *
     * @param changes the changelist; may be null when {@code nchanges} is 0
     * @param nchanges how many entries of {@code changes} to apply, from index 0
     * @param events the eventlist; may be null when {@code nevents} is 0
     * @param nevents the most entries to write into {@code events}, from index 0
     * @param timeoutNanos how long to wait for events: negative waits forever, 0 polls
     * @return the number of entries written to {@code events}: events, or EV_ERROR/EV_RECEIPT entries for changes
     * @throws KqueueException EBADF if this kqueue is closed (also for a thread blocked here when another closes it),
     *         EINVAL for a negative count, EFAULT for a null array with a positive count, EINTR if a signal
     *         interrupted the wait (the changes were applied), or the errno of a change that failed when there was
     *         no room to report it in {@code events}
     * @throws IndexOutOfBoundsException if a count exceeds its array's capacity
     * @throws IllegalStateException if an array is closed
     */
    public int kevent(KeventArray changes, int nchanges, KeventArray events, int nevents, long timeoutNanos)
            throws KqueueException {
        if (nchanges < 0) throw new KqueueException(EINVAL, "kevent: nchanges " + nchanges + " is negative");
        if (nevents < 0) throw new KqueueException(EINVAL, "kevent: nevents " + nevents + " is negative");
        MemorySegment ch = segment(changes, nchanges, "changes");
        MemorySegment ev = segment(events, nevents, "events");
        if (!enter()) throw new KqueueException(EBADF, "kevent: the kqueue is closed");
        int r;
        try {
            r = backend.kevent(ch, nchanges, ev, nevents, timeoutNanos);
        } finally {
            exit();
        }
        if (r < 0) throw new KqueueException(-r, "kevent(kqueue fd " + fd + ")");
        // A native kqueue wakes the threads that close() interrupts with its private event: they get EBADF too.
        if (backend instanceof NativeBackend && (state.get() & CLOSED) != 0) {
            throw new KqueueException(EBADF, "kevent(kqueue fd " + fd + "): closed while waiting");
        }
        return r;
    }

    private static MemorySegment segment(KeventArray a, int n, String name) throws KqueueException {
        if (n == 0) return a == null ? MemorySegment.NULL : a.segment();
        if (a == null) throw new KqueueException(EFAULT, "kevent: " + name + " is null but its count is " + n);
        if (n > a.capacity()) {
            throw new IndexOutOfBoundsException("kevent: " + name + " count " + n + " exceeds the array's capacity " + a.capacity());
        }
        return a.segment();
    }

    private boolean enter() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) return false;
            if (state.compareAndSet(s, s + 1)) return true;
        }
    }

    private void exit() {
        if (state.decrementAndGet() == CLOSED) release();
    }

    private void release() {
        // Exactly one thread sees the count reach zero after close; it frees the backend.
        if (state.compareAndSet(CLOSED, CLOSED | (1 << 29))) backend.close();
    }

    /** {@return the kqueue's descriptor (on Linux, the emulation's epoll instance); it polls readable while events are pending} */
    public int fd() {
        return fd;
    }

    /** {@return the flags it was opened with} */
    public int flags() {
        return flags;
    }

    /**
     * Knot extension: whether EVFILT_READ's {@code data} must be the exact byte count on streams and pipes. The
     * default is exact, as FreeBSD reports it. FreeBSD and macOS know the count for free and ignore this; the Linux
     * emulation pays a FIONREAD system call per READ event for it, so an owner that never looks at the count (a
     * selector that just reads until the socket is empty) can set {@code false} and get a lower bound instead: 1
     * while bytes are readable, 0 at EOF or with a pending socket error. Knotes with NOTE_LOWAT, listening sockets
     * (data is the accept queue), eventfds, kqueues and files keep the exact value. Takes effect for events
     * reported after the call; any thread may call it.
     *
     * @param exact {@code false} to accept a lower bound for READ data on streams and pipes
     */
    public void setReadDataExact(boolean exact) {
        backend.setReadDataExact(exact);
    }

    /** {@return true unless {@link #setReadDataExact}{@code (false)} took effect (it never does on a native kqueue)} */
    public boolean isReadDataExact() {
        return backend.isReadDataExact();
    }

    /**
     * Knot extension: whether EVFILT_WRITE's {@code data} must be the exact free send space on sockets. The default
     * is exact, as FreeBSD reports it. The Linux emulation pays two system calls per WRITE event on a socket for it
     * (SIOCOUTQ and SO_SNDBUF), so an owner that never looks at the number (a selector that writes until EAGAIN) can
     * set {@code false} and get a lower bound instead: 1 while the socket is writable, 0 at EOF or with a pending
     * socket error. Knotes with NOTE_LOWAT, pipes and other descriptors keep the exact value. FreeBSD and macOS
     * ignore it. Takes effect for events reported after the call; any thread may call it.
     *
     * @param exact {@code false} to accept a lower bound for WRITE data on sockets
     */
    public void setWriteDataExact(boolean exact) {
        backend.setWriteDataExact(exact);
    }

    /** {@return true unless {@link #setWriteDataExact}{@code (false)} took effect (it never does on a native kqueue)} */
    public boolean isWriteDataExact() {
        return backend.isWriteDataExact();
    }

    /**
     * {@return true where {@link #knoteState} and {@link #restoreKnoteState} work: the Linux emulation, whose knotes
     * live in this JVM; false on a native kqueue, whose state only the kernel can copy (KQUEUE_CPONFORK)}
     */
    public static boolean exportsKnoteState() {
        return Platform.CURRENT == Platform.LINUX;
    }

    /**
     * Knot extension for the fork path: the state of knote (ident, filter) beyond its registration. Timers are
     * brought up to date first, so an expiry that is due is counted in the state.
     *
     * @param ident the knote's ident
     * @param filter its filter
     * @return its state, or null if this kqueue has no such knote
     * @throws KqueueException EBADF if this kqueue is closed
     * @throws UnsupportedOperationException on a native kqueue (see {@link #exportsKnoteState()})
     */
    public KnoteState knoteState(long ident, int filter) throws KqueueException {
        if (!enter()) throw new KqueueException(EBADF, "knoteState: the kqueue is closed");
        try {
            long[] s = backend.knoteState(ident, filter);
            return s == null ? null : new KnoteState(ident, filter, (int) s[0], (int) s[1], s[2], s[3]);
        } finally {
            exit();
        }
    }

    /**
     * Knot extension for the fork path: gives an existing knote the state another kqueue's knote had (see
     * {@link KnoteState}); a pending state queues its event, a disabled one disables the knote, a timer takes the
     * next expiry (expirations already overdue are counted at the next kevent).
     *
     * @param state the state, for the knote (state.ident(), state.filter()) of this kqueue
     * @throws KqueueException ENOENT if there is no such knote, EINVAL for unknown state bits or a negative count,
     *         EBADF if this kqueue is closed
     * @throws UnsupportedOperationException on a native kqueue (see {@link #exportsKnoteState()})
     */
    public void restoreKnoteState(KnoteState state) throws KqueueException {
        if (!enter()) throw new KqueueException(EBADF, "restoreKnoteState: the kqueue is closed");
        int r;
        try {
            r = backend.restoreKnoteState(state.ident(), state.filter(), state.state(), state.fflags(), state.data(),
                    state.expiryMonotonicNanos());
        } finally {
            exit();
        }
        if (r != 0) {
            throw new KqueueException(r, "restoreKnoteState(" + Kevent.filterName(state.filter()) + " " + state.ident() + ")");
        }
    }

    /** {@return true until {@link #close()}} */
    public boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    /**
     * Closes the kqueue: its knotes are dropped and its descriptor released, once no thread is inside
     * {@link #kevent}. Threads blocked in {@link #kevent} are woken and their calls fail with EBADF. Idempotent.
     */
    @Override
    public void close() {
        while (true) {
            int s = state.get();
            if ((s & CLOSED) != 0) return;
            // Count this thread as inside while it wakes the others, so the backend cannot be released under it.
            if (state.compareAndSet(s, (s | CLOSED) + 1)) {
                try {
                    if (s != 0) backend.wakeAll();
                } finally {
                    exit();
                }
                return;
            }
        }
    }

    /** The Linux emulation behind this kqueue, or null on a native backend; for Knot's own diagnostics and tests. */
    dev.knot.emulation.EpollKqueue emulation() {
        return backend instanceof EmulatedBackend e ? e.kq : null;
    }

    @Override
    public String toString() {
        return "Kqueue[fd=" + fd + ", " + backend() + (isOpen() ? "" : ", closed") + "]";
    }
}
