// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_ADD;
import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.EV_DELETE;
import static dev.knot.bindings.freebsd.event_h.EV_DISABLE;
import static dev.knot.bindings.freebsd.event_h.EV_DISPATCH;
import static dev.knot.bindings.freebsd.event_h.EV_ENABLE;
import static dev.knot.bindings.freebsd.event_h.EV_ERROR;
import static dev.knot.bindings.freebsd.event_h.EV_FORCEONESHOT;
import static dev.knot.bindings.freebsd.event_h.EV_KEEPUDATA;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.freebsd.event_h.EV_RECEIPT;
import static dev.knot.bindings.freebsd.event_h.EV_SYSFLAGS;
import static dev.knot.bindings.freebsd.event_h.EVFILT_PROC;
import static dev.knot.bindings.freebsd.event_h.EVFILT_READ;
import static dev.knot.bindings.freebsd.event_h.EVFILT_SIGNAL;
import static dev.knot.bindings.freebsd.event_h.EVFILT_TIMER;
import static dev.knot.bindings.freebsd.event_h.EVFILT_USER;
import static dev.knot.bindings.freebsd.event_h.EVFILT_VNODE;
import static dev.knot.bindings.freebsd.event_h.EVFILT_WRITE;
import static dev.knot.bindings.linux.epoll_h.EPOLLET;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLLONESHOT;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CLOEXEC;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_DEL;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_MOD;
import static dev.knot.bindings.linux.errno_h.EBADF;
import static dev.knot.bindings.linux.errno_h.EINTR;
import static dev.knot.bindings.linux.errno_h.EINVAL;

import dev.knot.bindings.freebsd.kevent;
import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.epoll_h;
import dev.knot.bindings.linux.eventfd_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.timespec;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.system.CallState;
import dev.knot.sys.ErrnoException;
import dev.knot.system.FdWatchers;
import dev.knot.system.Uring;
import dev.knot.sys.Platform;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * FreeBSD's kqueue, emulated over epoll: {@link #kevent} takes a changelist and fills an eventlist in FreeBSD's
 * {@code struct kevent} layout and behaves as FreeBSD's kevent(2) does, filter by filter.
 *
 * <p>How the mapping works (details in README, "Linux emulation"): knotes live in user space, keyed by (ident,
 * filter) as in the kernel. READ knotes are registered in the kqueue's own epoll instance and WRITE knotes in a
 * second one nested in it, so that the two filters of one descriptor keep independent trigger modes. Each
 * registration carries a token (knote slot and generation) in {@code epoll_event.data}, so an event for a knote
 * that is gone is recognised and dropped, and an epoll instance that keeps reporting such an orphan (a descriptor
 * closed behind our back while a duplicate keeps its file open) is rebuilt. Timers, user events, signals, process
 * exits (pidfd) and vnode changes (inotify) are activated in user space onto an active queue that is scanned like
 * FreeBSD's {@code kq_head}; an eventfd wakes threads blocked in epoll when that queue gains work.
 *
 * <p>Errors are returned, not thrown: {@link #kevent} returns the number of events or {@code -errno}.
 * Thread-safe: calls may run concurrently; the lock is never held while a thread waits in the kernel.
 */
public final class EpollKqueue implements FdWatchers.Watcher {
    /** Returned by {@link Filter#modified} when the knote's descriptor was closed and its number reused. */
    static final int STALE = -1;
    /** Returned by the change pass: a successful EV_RECEIPT found no room, so kevent returns 0 (as FreeBSD does). */
    static final int RETURN_ZERO = Integer.MIN_VALUE;
    /** Returned by the change pass: its last batch is in {@link Scratch#ring}, to go to the kernel with the wait. */
    static final int WAIT_FOLLOWS = Integer.MIN_VALUE + 2;

    // Tokens of the kqueue's own descriptors; knote slots start above them.
    static final int T_WAKE = 0, T_WRITESET = 1, T_TIMER_MONO = 2, T_TIMER_REAL = 3, T_INOTIFY = 4, T_PROCCN = 5;

    private static final Set<EpollKqueue> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Platform.requireLinux("The kqueue emulation");
    }

    // FreeBSD struct kevent layout, read and written directly.
    static final long KEV = kevent.SIZEOF;
    static final long K_IDENT = kevent.ident$OFFSET, K_FILTER = kevent.filter$OFFSET, K_FLAGS = kevent.flags$OFFSET,
            K_FFLAGS = kevent.fflags$OFFSET, K_DATA = kevent.data$OFFSET, K_UDATA = kevent.udata$OFFSET, K_EXT = kevent.ext$OFFSET;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT;

    final ReentrantLock lock = new ReentrantLock();
    /**
     * Signalled when a combined call ({@link #inflight}) has finished its batch. Guarded by {@link #lock}.
     */
    final java.util.concurrent.locks.Condition inflightDone = lock.newCondition();
    /**
     * The thread whose kevent call is in the kernel with its last batch of changes and its wait in one io_uring
     * submission, those changes not yet finished in user space (their knotes half made); null otherwise. Every
     * other call that reads or changes knotes waits, through {@link #awaitInflight}, until that thread is back.
     */
    Thread inflight;
    /** Threads inside {@link #kevent}; the combined path is taken only by a call that is alone. */
    int callers;
    long combinedWaits;                 // kevent calls whose changes and wait went in one io_uring_enter

    /**
     * False when the owner takes a lower bound for EVFILT_READ's data on streams and pipes (1 while bytes are
     * readable, 0 at EOF), which saves a FIONREAD per event; knotes with NOTE_LOWAT always get the exact count.
     */
    volatile boolean readDataExact = true;
    /** As {@link #readDataExact} for EVFILT_WRITE on sockets: 1 while writable saves SIOCOUTQ and SO_SNDBUF. */
    volatile boolean writeDataExact = true;
    final int epfd;
    int wepfd;
    final int wakefd;
    final boolean cloexec;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one;            // the 8-byte value written to the eventfd
    private final MemorySegment asyncState;      // errno capture for best-effort calls from any thread

    final FdFilter readFilter = new FdFilter(false);
    final FdFilter writeFilter = new FdFilter(true);
    final TimerFilter timerFilter = new TimerFilter();
    final UserFilter userFilter = new UserFilter();
    final ProcFilter procFilter = new ProcFilter();
    final SignalFilter signalFilter = new SignalFilter();
    final VnodeFilter vnodeFilter = new VnodeFilter();

    final KnoteTable table = new KnoteTable(this);
    private final ChangeList changeList = new ChangeList(this);
    private final Scan scanner = new Scan(this);
    final DataQueries dataQueries = new DataQueries();
    private final EpollRebuild rebuilder = new EpollRebuild(this);
    final KnoteQueue queue = new KnoteQueue();

    final TimerQueue timerQueue = new TimerQueue(this);
    final Inotify inotify = new Inotify(this);
    final ProcEvents procEvents = new ProcEvents(this);

    private Scratch freeScratch;
    private int scratchCount;
    int waiters;
    boolean wakePending;
    boolean scanFollows;                 // the call applying changes will scan: it wakes itself
    int callSeq;
    boolean closed;
    boolean staleMain, staleWrite;
    long rebuilds;
    long kernelChanges;                  // epoll_ctl calls made, directly or through io_uring; see kernelChanges()
    int liveKnotes;
    /** The most epoll_ctl calls of one io_uring submission (the pooled rings have room for them and a wait). */
    static final int BATCH_ENTRIES = 256;
    private ChangeBatch batch;
    /** Probed when the first kqueue opens, so that the pool's first ring exists before anyone counts descriptors. */
    private static final boolean USE_URING = Uring.available();
    /** Whether a kevent call's last batch of changes and its blocking wait may go in one io_uring_enter. */
    static final boolean COMBINED_WAIT = USE_URING && Uring.epollWaitAvailable();

    private EpollKqueue(int epfd, int wepfd, int wakefd, boolean cloexec) {
        this.epfd = epfd;
        this.wepfd = wepfd;
        this.wakefd = wakefd;
        this.cloexec = cloexec;
        this.one = arena.allocate(LONG);
        this.one.set(LONG, 0, 1L);
        this.asyncState = CallState.allocate(arena);
    }

    /**
     * Opens an emulated kqueue: an epoll instance (whose descriptor is the kqueue's), a nested epoll instance for
     * WRITE knotes and an eventfd for wakeups.
     *
     * @param cloexec whether the kqueue's descriptor is close-on-exec (its private descriptors always are)
     */
    public static EpollKqueue open(boolean cloexec) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        int ep = -1, wep = -1, wake = -1;
        try {
            ep = epoll_h.epoll_create1(st, cloexec ? EPOLL_CLOEXEC : 0);
            if (ep < 0) throw new ErrnoException("epoll_create1", CallState.errno(st));
            wep = epoll_h.epoll_create1(st, EPOLL_CLOEXEC);
            if (wep < 0) throw new ErrnoException("epoll_create1", CallState.errno(st));
            wake = eventfd_h.eventfd(st, 0, eventfd_h.EFD_CLOEXEC | eventfd_h.EFD_NONBLOCK);
            if (wake < 0) throw new ErrnoException("eventfd", CallState.errno(st));
            EpollKqueue kq = new EpollKqueue(ep, wep, wake, cloexec);
            Scratch s = kq.takeScratch();
            int e = kq.ctl(ep, EPOLL_CTL_ADD, wake, EPOLLIN | EPOLLET, T_WAKE, s);
            if (e == 0) e = kq.ctl(ep, EPOLL_CTL_ADD, wep, EPOLLIN, T_WRITESET, s);
            if (e != 0) {
                s.close();                                   // the kqueue is never returned: free its memory here
                kq.arena.close();
                throw new ErrnoException("epoll_ctl(ADD)", e);
            }
            kq.giveScratch(s);
            LIVE.add(kq);
            return kq;
        } catch (ErrnoException | RuntimeException e) {
            for (int fd : new int[] {ep, wep, wake}) if (fd >= 0) unistd_h.close(st, fd);
            throw e;
        }
    }

    /** See {@link #readDataExact}; applies to events evaluated after the call. */
    public void setReadDataExact(boolean exact) {
        readDataExact = exact;
    }

    /** See {@link #readDataExact}. */
    public boolean isReadDataExact() {
        return readDataExact;
    }

    /** See {@link #writeDataExact}; applies to events evaluated after the call. */
    public void setWriteDataExact(boolean exact) {
        writeDataExact = exact;
    }

    /** See {@link #writeDataExact}. */
    public boolean isWriteDataExact() {
        return writeDataExact;
    }

    /** The kqueue's descriptor: its epoll instance, which polls readable while events are pending. */
    public int fd() {
        return epfd;
    }

    /** How many times an epoll instance was rebuilt to shed registrations of descriptors closed behind Knot's back. */
    public long rebuilds() {
        lock.lock();
        try {
            return rebuilds;
        } finally {
            lock.unlock();
        }
    }

    /** The number of knotes registered. */
    public int size() {
        lock.lock();
        try {
            return liveKnotes;
        } finally {
            lock.unlock();
        }
    }

    /**
     * kevent(2): applies {@code nchanges} changes, then, unless a change produced an error or receipt entry,
     * collects up to {@code nevents} events, waiting up to {@code timeoutNanos} (negative: forever).
     *
     * @param changes {@code nchanges} FreeBSD kevents (may be the same memory as {@code events})
     * @param events room for {@code nevents} FreeBSD kevents
     * @return the number of entries written to {@code events}, or {@code -errno}
     */
    public int kevent(MemorySegment changes, int nchanges, MemorySegment events, int nevents, long timeoutNanos) {
        if (nchanges < 0 || nevents < 0) return -EINVAL;
        Scratch s;
        lock.lock();
        try {
            if (closed) return -EBADF;
            s = takeScratch();
            callers++;
        } finally {
            lock.unlock();
        }
        try {
            if (nchanges > 0) {
                int r = changeList.applyChanges(changes, nchanges, events, nevents, timeoutNanos, s);
                if (r == WAIT_FOLLOWS) return scanner.scanCombined(changeList, events, nevents, timeoutNanos, s);
                if (r == RETURN_ZERO) return 0;
                if (r != 0) return r;
            }
            if (nevents == 0) return 0;
            return scanner.scan(events, nevents, timeoutNanos, s);
        } finally {
            lock.lock();
            try {
                callers--;
                giveScratch(s);
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Exports the state of knote (ident, filter) for the fork path ({@link KnoteStates}): {state bits, fflags, data,
     * next expiry as CLOCK_MONOTONIC ns}, or null if there is no such knote (or the filter is unknown). Timers are
     * brought up to date first, so an expiry that is due is counted.
     */
    public long[] knoteState(long ident, int filter) {
        lock.lock();
        try {
            if (closed) return null;
            awaitInflight();
            Scratch s = takeScratch();
            try {
                timerQueue.runExpired(s);
                long[] out = new long[4];
                return KnoteStates.export(this, find(ident, filter), out, s) ? out : null;
            } finally {
                giveScratch(s);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Applies a state {@link #knoteState} exported elsewhere to knote (ident, filter); 0 or an errno (ENOENT, EINVAL). */
    public int restoreKnoteState(long ident, int filter, int state, int fflags, long data, long expiry) {
        lock.lock();
        try {
            if (closed) return EBADF;
            awaitInflight();
            Scratch s = takeScratch();
            try {
                return KnoteStates.restore(this, find(ident, filter), state, fflags, data, expiry, s);
            } finally {
                giveScratch(s);
            }
        } finally {
            lock.unlock();
        }
    }

    private Knote find(long ident, int filter) {
        Filter fop = filterFor(filter);
        if (fop == null) return null;
        if (fop.isFd) return ident < 0 || ident > Integer.MAX_VALUE ? null : table.fdKnote((int) ident, filter);
        return table.mapFor(filter).get(ident);
    }

    /**
     * With the lock held: returns once no other thread's combined call ({@link #inflight}) has changes in flight.
     * Such a call is blocked in the kernel; the eventfd wakes its wait, and it finishes its changes and signals.
     */
    void awaitInflight() {
        while (inflight != null && inflight != Thread.currentThread()) {
            if (!wakePending) wake();
            inflightDone.awaitUninterruptibly();
        }
    }

    /** KNOTE_ACTIVATE: mark active and queue unless disabled or queued already. */
    void activate(Knote kn, boolean fromScan) {
        kn.status |= Knote.ACTIVE;
        if ((kn.status & (Knote.DISABLED | Knote.QUEUED)) == 0) enqueue(kn, fromScan);
    }

    void enqueue(Knote kn, boolean fromScan) {
        queue.add(kn);
        // A thread blocked in epoll does not see the user-space queue; the eventfd tells it (and anyone polling the
        // kqueue's descriptor) that there is work. A scan in progress, or one this very call will run, needs no wake.
        if (!fromScan && !wakePending && (waiters > 0 || !scanFollows)) wake();
    }

    void wake() {
        wakePending = true;
        unistd_h.write(asyncState, wakefd, one, 8);
    }

    /**
     * Drops a knote: off the queue, f_detach, out of the table. Returns the detach's errno (fd filters). Filters call
     * it for knotes that end themselves (a process exit nobody asked about, a pipe reader gone).
     */
    int drop(Knote kn, Scratch s) {
        queue.remove(kn);
        int r = kn.fop.detach(this, kn, s);
        table.unindex(kn);
        table.free(kn);
        liveKnotes--;
        return r;
    }

    void finishChanges(Scratch s) {
        timerQueue.rearm(s);
        if (staleMain || staleWrite) rebuild(s);
    }

    /** See {@link EpollRebuild}. */
    void rebuild(Scratch s) {
        rebuilder.rebuild(s);
    }

    // ---------------------------------------------------------------------------- knote table

    Filter filterFor(int filter) {
        if (filter == EVFILT_READ) return readFilter;
        if (filter == EVFILT_WRITE) return writeFilter;
        if (filter == EVFILT_TIMER) return timerFilter;
        if (filter == EVFILT_USER) return userFilter;
        if (filter == EVFILT_PROC) return procFilter;
        if (filter == EVFILT_SIGNAL) return signalFilter;
        if (filter == EVFILT_VNODE) return vnodeFilter;
        return null;
    }

    /** The epoll token of a knote: its slot and generation. */
    static long token(Knote kn) {
        return kn.token;
    }

    // -------------------------------------------------------------------------- kernel helpers

    /** epoll_ctl; returns 0 or the errno. */
    int ctl(int ep, int op, int fd, int events, long token, Scratch s) {
        kernelChanges++;
        epoll_event.events(s.ctlEvent, events);
        epoll_event.data(s.ctlEvent, token);
        return epoll_h.epoll_ctl(s.callState, ep, op, fd, s.ctlEvent) == 0 ? 0 : s.errno();
    }

    /**
     * The one epoll_ctl of a change: made now, or, while the change list collects a batch for io_uring
     * ({@link Scratch#batch} set), queued there; then it returns {@link ChangeBatch#PENDING} and the change list
     * finishes the change ({@code kind}) when the result is in.
     */
    int ctlOrDefer(int kind, int ep, int op, int fd, int events, long token, Knote kn, boolean expectExisting, Scratch s) {
        ChangeBatch b = s.batch;
        if (b == null) return ctl(ep, op, fd, events, token, s);
        s.batch = null;                                   // one call per change goes into the batch
        b.add(kind, ep, op, fd, events, token, kn, expectExisting);
        return ChangeBatch.PENDING;
    }

    /**
     * The batch for this kqueue's change lists, opened on first use; null when io_uring is not used (unavailable,
     * forced off, or the ring could not be opened), and then every epoll_ctl is a plain system call.
     */
    ChangeBatch batch() {
        ChangeBatch b = batch;
        if (b != null || !USE_URING) return b;
        return batch = new ChangeBatch();
    }

    /** See {@link dev.knot.kqueue.Kqueue#kernelChanges()}. */
    public long kernelChanges() {
        lock.lock();
        try {
            return kernelChanges;
        } finally {
            lock.unlock();
        }
    }

    /**
     * How this kqueue's change lists reach the kernel: "io_uring" (the epoll_ctl calls of one kevent call in one
     * submission), or "epoll_ctl" with the reason io_uring is not used.
     */
    public String changelistPath() {
        lock.lock();
        try {
            if (!USE_URING) return "epoll_ctl (" + Uring.unavailableReason() + ")";
            ChangeBatch b = batch;
            String wait = COMBINED_WAIT
                    ? "changes+wait in one io_uring_enter: " + combinedWaits + " calls (up to " + ChangeList.COMBINED_MAX
                            + " changes with the wait)"
                    : "wait: epoll_pwait2 (" + Uring.epollWaitUnavailableReason() + ")";
            return "io_uring (" + (b == null ? 0 : b.batches) + " submissions of " + (b == null ? 0 : b.batchedChanges)
                    + " changes; " + ChangeList.MIN_BATCH + "+ changes per call; epoll_ctl otherwise; " + wait + ")";
        } finally {
            lock.unlock();
        }
    }

    /**
     * How this kqueue computes EVFILT_READ's exact data on sockets: "io_uring" with the counts so far when the
     * FIONREADs of one scan go to the kernel as one submission of SIOCINQ commands, or "ioctl" with the reason not.
     */
    public String dataQueryPath() {
        lock.lock();
        try {
            String u = DataQueries.unavailableReason();
            if (!u.isEmpty()) return "ioctl (" + u + ")";
            return "io_uring (" + dataQueries.batches + " submissions of " + dataQueries.queries + " SIOCINQ queries; "
                    + DataQueries.MIN_BATCH + "+ TCP/UDP sockets per scan; ioctl otherwise)";
        } finally {
            lock.unlock();
        }
    }

    boolean fdOpen(int fd, Scratch s) {
        return fcntl_h.fcntl(s.callState, fd, fcntl_h.F_GETFD, 0) >= 0;
    }

    /** The descriptor was found closed while its knotes lived: drop them, as close(2) would have. */
    void fdGone(int fd, Scratch s) {
        FdRecord r = table.record(fd);
        if (r == null) return;
        r.readLingers = r.writeLingers = false;
        dropAll(r, s);
        r.forget();
        // If a duplicate keeps the file open, its epoll registration survives and will report with a dead token.
    }

    /** The descriptor's knotes, all of them; the record goes too unless something still lingers on it. */
    private void dropAll(FdRecord r, Scratch s) {
        if (r.read != null) drop(r.read, s);
        if (r.write != null) drop(r.write, s);
        if (r.vnode != null) drop(r.vnode, s);
        table.releaseRecordIfEmpty(r);
    }

    /** knote_fdclose(): called before Knot closes {@code fd}, which this kqueue watches. */
    @Override
    public void closing(int fd) {
        lock.lock();
        try {
            if (closed) return;
            awaitInflight();
            FdRecord r = table.record(fd);
            if (r == null) return;
            Scratch s = takeScratch();
            try {
                // The descriptor is still open, so epoll_ctl(DEL) removes the registrations even if the file lives on.
                if (r.readLingers) ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0, s);
                if (r.writeLingers) ctl(wepfd, EPOLL_CTL_DEL, fd, 0, 0, s);
                r.readLingers = r.writeLingers = false;
                dropAll(r, s);
            } finally {
                giveScratch(s);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Knot shut down {@code fd}'s sending side: its WRITE knote now reports EV_EOF (and is woken to say so). */
    @Override
    public void sendShutdown(int fd) {
        lock.lock();
        try {
            if (!closed) awaitInflight();
            FdRecord r = closed ? null : table.record(fd);
            if (r == null) return;
            r.sendShut = true;
            if (r.write != null && !r.write.isDisabled()) {
                Scratch s = takeScratch();
                try {
                    writeFilter.modified(this, r.write, dev.knot.bindings.freebsd.event_h.EV_ADD, s);
                } finally {
                    giveScratch(s);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** The number of knotes waiting on the active queue, for EVFILT_READ on this kqueue's descriptor. */
    int pending() {
        if (!lock.tryLock()) return 1;
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** The live kqueue whose descriptor is {@code fd}, or null. */
    static EpollKqueue forDescriptor(int fd) {
        for (EpollKqueue kq : LIVE) if (kq.epfd == fd) return kq;
        return null;
    }

    // ------------------------------------------------------------------------------- lifecycle

    private Scratch takeScratch() {
        Scratch s = freeScratch;
        if (s != null) {
            freeScratch = s.next;
            s.next = null;
            return s;
        }
        scratchCount++;
        return new Scratch();
    }

    private void giveScratch(Scratch s) {
        s.next = freeScratch;
        freeScratch = s;
    }

    /**
     * Wakes every thread blocked in {@link #kevent} and makes every later call fail with EBADF. The eventfd is
     * switched to level-triggered so that each waiter, not just one, sees it.
     */
    public void wakeAll() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            Scratch s = takeScratch();
            try {
                ctl(epfd, EPOLL_CTL_MOD, wakefd, EPOLLIN, T_WAKE, s);
            } finally {
                giveScratch(s);
            }
            unistd_h.write(asyncState, wakefd, one, 8);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Releases everything: drops every knote (timers, signal handlers, pidfds, inotify watches) and closes the
     * descriptors. The caller guarantees that no thread is inside {@link #kevent}; call {@link #wakeAll} first.
     */
    public void close() {
        lock.lock();
        try {
            closed = true;
            LIVE.remove(this);
            Scratch s = takeScratch();
            table.forEach(kn -> drop(kn, s));
            table.unwatchAll();                       // records that only lingering registrations kept
            timerQueue.close(s);
            inotify.close(s);
            procEvents.close(s);
            MemorySegment st = s.callState;
            unistd_h.close(st, wakefd);
            unistd_h.close(st, wepfd);
            unistd_h.close(st, epfd);
            s.close();
            for (Scratch f = freeScratch; f != null; f = f.next) f.close();
            freeScratch = null;
            arena.close();
        } finally {
            lock.unlock();
        }
    }

    /** Called by the signal bridge when a watched signal arrives; counts it on the knote if it is still ours. */
    void signalArrived(Knote kn, long token) {
        lock.lock();
        try {
            if (closed || kn.token != token || kn.fop != signalFilter) return;
            kn.data++;
            activate(kn, false);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether EVFILT_PROC's NOTE_FORK, NOTE_EXEC and NOTE_TRACK can be reported to this process: it may join the
     * kernel's process-events connector (CAP_NET_ADMIN). Without it they are accepted and only NOTE_EXIT comes.
     */
    public static boolean processEventsAvailable() {
        return ProcEvents.available();
    }

    /** The knote watching signals, for the signal filter's attach. */
    SignalFilter signalFilter() {
        return signalFilter;
    }
}
