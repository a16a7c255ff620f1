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
import static dev.knot.bindings.linux.errno_h.EEXIST;
import static dev.knot.bindings.linux.errno_h.EINTR;
import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.errno_h.ENOENT;

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
    private static final int RETURN_ZERO = Integer.MIN_VALUE;

    // Tokens of the kqueue's own descriptors; knote slots start above them.
    static final int T_WAKE = 0, T_WRITESET = 1, T_TIMER_MONO = 2, T_TIMER_REAL = 3, T_INOTIFY = 4;
    private static final int FIRST_SLOT = 8;

    private static final Set<EpollKqueue> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Platform.requireLinux("The kqueue emulation");
    }

    // FreeBSD struct kevent layout, read and written directly.
    private static final long KEV = kevent.SIZEOF;
    private static final long K_IDENT = kevent.ident$OFFSET, K_FILTER = kevent.filter$OFFSET, K_FLAGS = kevent.flags$OFFSET,
            K_FFLAGS = kevent.fflags$OFFSET, K_DATA = kevent.data$OFFSET, K_UDATA = kevent.udata$OFFSET, K_EXT = kevent.ext$OFFSET;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT;

    final ReentrantLock lock = new ReentrantLock();

    /**
     * False when the owner takes a lower bound for EVFILT_READ's data on streams and pipes (1 while bytes are
     * readable, 0 at EOF), which saves a FIONREAD per event; knotes with NOTE_LOWAT always get the exact count.
     */
    volatile boolean readDataExact = true;
    final int epfd;
    int wepfd;
    final int wakefd;
    private final boolean cloexec;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one;            // the 8-byte value written to the eventfd
    private final MemorySegment asyncState;      // errno capture for best-effort calls from any thread

    private final FdFilter readFilter = new FdFilter(false);
    private final FdFilter writeFilter = new FdFilter(true);
    private final TimerFilter timerFilter = new TimerFilter();
    private final UserFilter userFilter = new UserFilter();
    private final ProcFilter procFilter = new ProcFilter();
    private final SignalFilter signalFilter = new SignalFilter();
    private final VnodeFilter vnodeFilter = new VnodeFilter();

    // The knote table: slots give tokens, fds index the descriptor filters, maps the others.
    private Knote[] slots = new Knote[64];
    private int[] gens = new int[64];
    private int[] freeSlots = new int[64];
    private int freeTop;
    private int nextSlot = FIRST_SLOT;
    private Knote pool;                          // recycled knotes, linked through qnext
    FdRecord[] fds = new FdRecord[64];
    private final LongMap<Knote> timers = new LongMap<>();
    private final LongMap<Knote> users = new LongMap<>();
    private final LongMap<Knote> procs = new LongMap<>();
    private final LongMap<Knote> signals = new LongMap<>();
    final KnoteQueue queue = new KnoteQueue();

    final TimerQueue timerQueue = new TimerQueue(this);
    final Inotify inotify = new Inotify(this);

    private Scratch freeScratch;
    private int scratchCount;
    private int waiters;
    private boolean wakePending;
    private boolean scanFollows;                 // the call applying changes will scan: it wakes itself
    private int callSeq;
    private boolean closed;
    boolean staleMain, staleWrite;
    private long rebuilds;
    private int liveKnotes;

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
        } finally {
            lock.unlock();
        }
        try {
            if (nchanges > 0) {
                int r = applyChanges(changes, nchanges, events, nevents, s);
                if (r == RETURN_ZERO) return 0;
                if (r != 0) return r;
            }
            if (nevents == 0) return 0;
            return scan(events, nevents, timeoutNanos, s);
        } finally {
            lock.lock();
            try {
                giveScratch(s);
            } finally {
                lock.unlock();
            }
        }
    }

    // ------------------------------------------------------------------------------------- changes

    private int receiptFflags;

    /** FreeBSD's change loop in kqueue_kevent(): returns the error/receipt count, -errno, or RETURN_ZERO. */
    private int applyChanges(MemorySegment ch, int nchanges, MemorySegment ev, int nevents, Scratch s) {
        int written = 0;
        int room = nevents;
        lock.lock();
        try {
            scanFollows = nevents > 0;
            for (int i = 0; i < nchanges; i++) {
                long b = i * KEV;
                int filter = ch.get(SHORT, b + K_FILTER);
                if (filter == 0) continue;
                long ident = ch.get(LONG, b + K_IDENT);
                int flags = Short.toUnsignedInt(ch.get(SHORT, b + K_FLAGS)) & ~EV_SYSFLAGS;
                int fflags = ch.get(INT, b + K_FFLAGS);
                long data = ch.get(LONG, b + K_DATA);
                long udata = ch.get(LONG, b + K_UDATA);
                long e0 = ch.get(LONG, b + K_EXT), e1 = ch.get(LONG, b + K_EXT + 8),
                        e2 = ch.get(LONG, b + K_EXT + 16), e3 = ch.get(LONG, b + K_EXT + 24);
                int err = register(ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);
                if (err != 0 || (flags & EV_RECEIPT) != 0) {
                    if (room == 0) return err != 0 ? -err : RETURN_ZERO;
                    // The entry is the change itself with flags = EV_ERROR and data = errno (0 for a receipt).
                    writeEvent(ev, written++, ident, filter, EV_ERROR, receiptFflags, err, udata, e0, e1, e2, e3);
                    room--;
                }
            }
            return written;
        } finally {
            scanFollows = false;
            finishChanges(s);
            lock.unlock();
        }
    }

    /** kqueue_register(): one change. Returns 0 or an errno. */
    private int register(long ident, int filter, int flags, int fflags, long data, long udata,
                         long e0, long e1, long e2, long e3, Scratch s) {
        receiptFflags = fflags;
        if ((flags & (EV_ENABLE | EV_DISABLE)) == (EV_ENABLE | EV_DISABLE)) return EINVAL;
        Filter fop = filterFor(filter);
        if (fop == null) return EINVAL;
        if ((flags & (EV_ADD | EV_KEEPUDATA)) == (EV_ADD | EV_KEEPUDATA)) return EINVAL;
        Knote kn;
        if (fop.isFd) {
            if (ident < 0 || ident > Integer.MAX_VALUE) return EBADF;
            if (ident == epfd) return EINVAL;                // a kqueue cannot watch itself
            kn = fdKnote((int) ident, filter);
        } else {
            kn = mapFor(filter).get(ident);
        }
        if (kn == null) return create(fop, ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);

        if ((flags & EV_DELETE) != 0) return drop(kn, s);
        if ((flags & EV_FORCEONESHOT) != 0) {
            kn.flags |= EV_ONESHOT;
            activate(kn, false);
        }
        if ((flags & EV_ENABLE) != 0) kn.status &= ~Knote.DISABLED;
        else if ((flags & EV_DISABLE) != 0) kn.status |= Knote.DISABLED;
        if ((flags & EV_KEEPUDATA) == 0) kn.udata = udata;
        if (fop.hasTouch) {
            int err = fop.touchRegister(this, kn, flags, fflags, data, s);
            if (fop == userFilter) receiptFflags = fflags & dev.knot.bindings.freebsd.event_h.NOTE_FFLAGSMASK;
            if (err != 0) return err;
        } else {
            kn.sfflags = fflags;
            kn.sdata = data;
        }
        int r = fop.modified(this, kn, flags, s);
        if (r == STALE) {
            // The number was closed behind Knot's back and now names another file: FreeBSD dropped its knotes at
            // close(2), so this change sees no knote at all, and nothing learnt about the old file carries over.
            fdGone((int) ident, s);
            return create(fop, ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);
        }
        if (r != 0) {
            drop(kn, s);
            return r;
        }
        evaluate(kn, s);
        return 0;
    }

    private int create(Filter fop, long ident, int filter, int flags, int fflags, long data, long udata,
                       long e0, long e1, long e2, long e3, Scratch s) {
        if ((flags & EV_ADD) == 0) {
            if (fop.isFd && !fdOpen((int) ident, s)) return EBADF;
            return ENOENT;
        }
        Knote kn = allocKnote();
        kn.ident = ident;
        kn.filter = filter;
        kn.fop = fop;
        kn.sfflags = fflags;
        kn.sdata = data;
        kn.flags = flags & ~(EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE | EV_FORCEONESHOT);
        kn.udata = udata;
        kn.ext0 = e0; kn.ext1 = e1; kn.ext2 = e2; kn.ext3 = e3;
        kn.status = (flags & EV_DISABLE) != 0 ? Knote.DISABLED : 0;
        receiptFflags = 0;                           // FreeBSD zeroes the change's fflags when it creates a knote
        if (fop.isFd) {
            int fd = (int) ident;
            // As FreeBSD's fget before kqueue_expand: a closed number is EBADF, and never grows the table to its size.
            if (fd >= fds.length && !fdOpen(fd, s)) {
                freeKnote(kn);
                return EBADF;
            }
            FdRecord r = record(fd);
            if (r != null && r.read == null && r.write == null && r.vnode == null) r.forget();
        }
        index(kn);
        int err = fop.attach(this, kn, s);
        if (err != 0) {
            unindex(kn);
            freeKnote(kn);
            return err;
        }
        liveKnotes++;
        evaluate(kn, s);
        return 0;
    }

    /** The end of kqueue_register(): re-run the filter and queue the knote if it is active and enabled. */
    private void evaluate(Knote kn, Scratch s) {
        if (!kn.isDisabled() && kn.fop.evaluatesOnRegister(kn) && kn.fop.event(this, kn, s)) kn.status |= Knote.ACTIVE;
        if ((kn.status & (Knote.ACTIVE | Knote.DISABLED | Knote.QUEUED)) == Knote.ACTIVE) enqueue(kn, false);
    }

    /** KNOTE_ACTIVATE: mark active and queue unless disabled or queued already. */
    void activate(Knote kn, boolean fromScan) {
        kn.status |= Knote.ACTIVE;
        if ((kn.status & (Knote.DISABLED | Knote.QUEUED)) == 0) enqueue(kn, fromScan);
    }

    private void enqueue(Knote kn, boolean fromScan) {
        queue.add(kn);
        // A thread blocked in epoll does not see the user-space queue; the eventfd tells it (and anyone polling the
        // kqueue's descriptor) that there is work. A scan in progress, or one this very call will run, needs no wake.
        if (!fromScan && !wakePending && (waiters > 0 || !scanFollows)) wake();
    }

    private void wake() {
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
        unindex(kn);
        freeKnote(kn);
        liveKnotes--;
        return r;
    }

    private void finishChanges(Scratch s) {
        timerQueue.rearm(s);
        if (staleMain || staleWrite) rebuild(s);
    }

    // ---------------------------------------------------------------------------------------- scan

    /** kqueue_scan(): returns the number of events, 0 on timeout, or -errno. */
    private int scan(MemorySegment out, int nevents, long timeoutNanos, Scratch s) {
        long start = timeoutNanos > 0 ? System.nanoTime() : 0;
        while (true) {
            int queued;
            lock.lock();
            try {
                if (closed) return -EBADF;
                timerQueue.runExpired(s);
                queued = queue.size();
                waiters++;
            } finally {
                lock.unlock();
            }
            long wait = queued > 0 ? 0 : timeoutNanos < 0 ? -1 : Math.max(0, timeoutNanos - (timeoutNanos > 0 ? System.nanoTime() - start : 0));
            int maxEp = Math.max(1, Math.min(Scratch.MAX_EPOLL_EVENTS, nevents - Math.min(queued, nevents / 2)));
            MemorySegment buf = s.events(maxEp);
            int r = epollWait(epfd, buf, Math.min(maxEp, s.eventCapacity), wait, s);
            int err = r < 0 ? s.errno() : 0;
            lock.lock();
            try {
                waiters--;
                if (closed) return -EBADF;
                int callId = ++callSeq;
                if (callId == 0) callId = ++callSeq;
                int n = 0;
                if (r > 0) n = processEpoll(buf, r, out, nevents, callId, s);
                timerQueue.runExpired(s);
                if (n < nevents && !queue.isEmpty()) n = drain(out, n, nevents, callId, s);
                timerQueue.rearm(s);
                if (staleMain || staleWrite) rebuild(s);
                if (n > 0) return n;
                if (r < 0 && err != EINTR) return -err;
                if (r < 0) return -EINTR;              // kevent(2) is not restarted after a signal
            } finally {
                lock.unlock();
            }
            if (timeoutNanos == 0 || (timeoutNanos > 0 && System.nanoTime() - start >= timeoutNanos)) return 0;
        }
    }

    private int epollWait(int ep, MemorySegment buf, int max, long waitNanos, Scratch s) {
        if (waitNanos < 0) return epoll_h.epoll_pwait2(s.callState, ep, buf, max, MemorySegment.NULL, MemorySegment.NULL);
        timespec.tv_sec(s.timeout, waitNanos / 1_000_000_000L);
        timespec.tv_nsec(s.timeout, waitNanos % 1_000_000_000L);
        return epoll_h.epoll_pwait2(s.callState, ep, buf, max, s.timeout, MemorySegment.NULL);
    }

    private static final long EV_SIZE = epoll_event.SIZEOF;
    private static final long EV_DATA = epoll_event.data$OFFSET;
    private static final long EV_EVENTS = epoll_event.events$OFFSET;

    private int processEpoll(MemorySegment buf, int r, MemorySegment out, int nevents, int callId, Scratch s) {
        int n = 0;
        boolean writeReady = false, inotifyReady = false;
        for (int i = 0; i < r; i++) {
            long token = buf.get(epoll_event.data$LAYOUT, i * EV_SIZE + EV_DATA);
            int ev = buf.get(epoll_event.events$LAYOUT, i * EV_SIZE + EV_EVENTS);
            int slot = (int) token;
            switch (slot) {
                case T_WAKE -> wakePending = false;
                case T_WRITESET -> writeReady = true;
                case T_TIMER_MONO, T_TIMER_REAL -> { } // runExpired follows
                case T_INOTIFY -> inotifyReady = true;
                default -> {
                    Knote kn = knoteFor(token);
                    if (kn == null) {
                        staleMain = true;
                    } else if (kn.fop == readFilter) {
                        n = deliverFd(kn, ev, out, n, callId, s);
                    } else if (kn.fop == procFilter) {
                        procFilter.exited(this, kn, s);
                    }
                }
            }
        }
        if (inotifyReady) inotify.read(s);
        if (writeReady && n < nevents) {
            int max = Math.min(nevents - n, s.eventCapacity);
            int w = epollWait(wepfd, buf, max, 0, s);
            for (int i = 0; i < w; i++) {
                long token = buf.get(epoll_event.data$LAYOUT, i * EV_SIZE + EV_DATA);
                int ev = buf.get(epoll_event.events$LAYOUT, i * EV_SIZE + EV_EVENTS);
                Knote kn = knoteFor(token);
                if (kn == null || kn.fop != writeFilter) staleWrite = true;
                else n = deliverFd(kn, ev, out, n, callId, s);
            }
        }
        return n;
    }

    /** An epoll report for a READ or WRITE knote: evaluate it and return it, FreeBSD's scan rules applied. */
    private int deliverFd(Knote kn, int ev, MemorySegment out, int n, int callId, Scratch s) {
        if (kn.deliveredInCall == callId) return n;
        FdFilter f = (FdFilter) kn.fop;
        f.reported(kn);
        if (kn.isDisabled()) {
            f.disarm(this, kn, s);               // disabled lazily: stop the kernel only once it reports
            return n;
        }
        int verdict = f.evaluate(this, kn, ev, s);
        if (verdict == FdFilter.CLOSED) {
            fdGone(kn.fd, s);
            return n;
        }
        if (verdict == FdFilter.NOT_CONNECTED) {
            f.park(this, kn, s);
            return n;
        }
        f.unpark(this, kn, s);
        if (verdict == FdFilter.NOT_READY) {
            f.notReady(this, kn, s);
            return n;
        }
        writeKnote(out, n++, kn, kn.fflags, kn.data);
        kn.deliveredInCall = callId;
        afterDelivery(kn, s);
        return n;
    }

    /** The rules of kqueue_scan() after a knote was copied out (non-touch filters). */
    private void afterDelivery(Knote kn, Scratch s) {
        if ((kn.flags & EV_ONESHOT) != 0) {
            drop(kn, s);
            return;
        }
        if ((kn.flags & (EV_CLEAR | EV_DISPATCH)) != 0) {
            if ((kn.flags & EV_CLEAR) != 0 && !kn.fop.hasTouch) {
                kn.data = 0;
                kn.fflags = 0;
            }
            if ((kn.flags & EV_DISPATCH) != 0) {
                kn.status |= Knote.DISABLED;
                kn.fop.dispatched(this, kn, s);
            }
            kn.status &= ~Knote.ACTIVE;
            queue.remove(kn);
        } else if (kn.fop.isFd && !kn.polled && ((FdFilter) kn.fop).edgeTriggered(kn)) {
            // A level knote that epoll watches edge-triggered (NOTE_LOWAT): keep it queued so the next scan re-runs
            // the filter, as FreeBSD does for every level knote.
            activate(kn, true);
        }
    }

    /** One pass over the active queue (FreeBSD's marker pass): each knote at most once per call. */
    private int drain(MemorySegment out, int n, int nevents, int callId, Scratch s) {
        int count = queue.size();
        while (count-- > 0 && n < nevents) {
            Knote kn = queue.peek();
            queue.remove(kn);
            if (kn.isDisabled()) continue;                  // stays ACTIVE; EV_ENABLE queues it again
            if (kn.deliveredInCall == callId) {
                queue.add(kn);
                continue;
            }
            Filter fop = kn.fop;
            if ((kn.flags & EV_ONESHOT) != 0) {
                // Oneshot knotes go out as stored, without re-running the filter, and are dropped.
                writeKnote(out, n++, kn, fop.outFflags(kn), fop.outData(kn));
                drop(kn, s);
                continue;
            }
            if (!fop.event(this, kn, s)) {
                kn.status &= ~Knote.ACTIVE;
                if (kn.stale) fdGone(kn.fd, s);               // the number now names another file
                continue;
            }
            writeKnote(out, n++, kn, fop.outFflags(kn), fop.outData(kn));
            kn.deliveredInCall = callId;
            if (fop.hasTouch) fop.afterTouchDelivery(kn);
            if ((kn.flags & (EV_CLEAR | EV_DISPATCH)) != 0) {
                afterDelivery(kn, s);
            } else {
                queue.add(kn);                                // level: back at the tail, seen again next call
            }
        }
        return n;
    }

    private void writeKnote(MemorySegment out, int i, Knote kn, int fflags, long data) {
        writeEvent(out, i, kn.ident, kn.filter, kn.flags, fflags, data, kn.udata, kn.ext0, kn.ext1, kn.ext2, kn.ext3);
    }

    private static void writeEvent(MemorySegment out, int i, long ident, int filter, int flags, int fflags, long data,
                                   long udata, long e0, long e1, long e2, long e3) {
        long b = i * KEV;
        out.set(LONG, b + K_IDENT, ident);
        out.set(SHORT, b + K_FILTER, (short) filter);
        out.set(SHORT, b + K_FLAGS, (short) flags);
        out.set(INT, b + K_FFLAGS, fflags);
        out.set(LONG, b + K_DATA, data);
        out.set(LONG, b + K_UDATA, udata);
        out.set(LONG, b + K_EXT, e0);
        out.set(LONG, b + K_EXT + 8, e1);
        out.set(LONG, b + K_EXT + 16, e2);
        out.set(LONG, b + K_EXT + 24, e3);
    }

    // ---------------------------------------------------------------------------- knote table

    private Filter filterFor(int filter) {
        if (filter == EVFILT_READ) return readFilter;
        if (filter == EVFILT_WRITE) return writeFilter;
        if (filter == EVFILT_TIMER) return timerFilter;
        if (filter == EVFILT_USER) return userFilter;
        if (filter == EVFILT_PROC) return procFilter;
        if (filter == EVFILT_SIGNAL) return signalFilter;
        if (filter == EVFILT_VNODE) return vnodeFilter;
        return null;
    }

    private LongMap<Knote> mapFor(int filter) {
        if (filter == EVFILT_TIMER) return timers;
        if (filter == EVFILT_USER) return users;
        if (filter == EVFILT_PROC) return procs;
        return signals;
    }

    FdRecord record(int fd) {
        return fd < fds.length ? fds[fd] : null;
    }

    FdRecord recordFor(int fd) {
        if (fd >= fds.length) {
            FdRecord[] n = new FdRecord[Math.max(fds.length * 2, fd + 1)];
            System.arraycopy(fds, 0, n, 0, fds.length);
            fds = n;
        }
        FdRecord r = fds[fd];
        if (r == null) {
            fds[fd] = r = new FdRecord(fd);
            FdWatchers.watch(fd, this);               // knote_fdclose: closing fd through Knot tells this kqueue
        }
        return r;
    }

    void releaseRecordIfEmpty(FdRecord r) {
        if (r.isEmpty() && r.fd < fds.length && fds[r.fd] == r) {
            fds[r.fd] = null;
            FdWatchers.unwatch(r.fd, this);
        }
    }

    private Knote fdKnote(int fd, int filter) {
        FdRecord r = record(fd);
        if (r == null) return null;
        return filter == EVFILT_READ ? r.read : filter == EVFILT_WRITE ? r.write : r.vnode;
    }

    private void index(Knote kn) {
        if (kn.fop.isFd) {
            FdRecord r = recordFor((int) kn.ident);
            kn.fd = (int) kn.ident;
            kn.rec = r;
            if (kn.filter == EVFILT_READ) r.read = kn;
            else if (kn.filter == EVFILT_WRITE) r.write = kn;
            else r.vnode = kn;
        } else {
            mapFor(kn.filter).put(kn.ident, kn);
        }
    }

    private void unindex(Knote kn) {
        if (kn.fop.isFd) {
            FdRecord r = kn.rec;
            if (r != null) {
                if (r.read == kn) r.read = null;
                if (r.write == kn) r.write = null;
                if (r.vnode == kn) r.vnode = null;
                releaseRecordIfEmpty(r);
            }
        } else if (mapFor(kn.filter).get(kn.ident) == kn) {
            mapFor(kn.filter).remove(kn.ident);
        }
    }

    private Knote allocKnote() {
        Knote kn = pool;
        if (kn != null) {
            pool = kn.qnext;
            kn.qnext = null;
        } else {
            kn = new Knote();
        }
        int slot;
        if (freeTop > 0) {
            slot = freeSlots[--freeTop];
        } else {
            slot = nextSlot++;
            if (slot >= slots.length) {
                slots = java.util.Arrays.copyOf(slots, slots.length * 2);
                gens = java.util.Arrays.copyOf(gens, gens.length * 2);
            }
        }
        slots[slot] = kn;
        kn.slot = slot;
        kn.gen = gens[slot];
        return kn;
    }

    private void freeKnote(Knote kn) {
        int slot = kn.slot;
        slots[slot] = null;
        gens[slot]++;                                // any token still in the kernel for this slot is now stale
        if (freeTop == freeSlots.length) freeSlots = java.util.Arrays.copyOf(freeSlots, freeSlots.length * 2);
        freeSlots[freeTop++] = slot;
        kn.reset();
        kn.qnext = pool;
        pool = kn;
    }

    /** The epoll token of a knote: its slot and generation. */
    static long token(Knote kn) {
        return ((long) kn.gen << 32) | (kn.slot & 0xFFFFFFFFL);
    }

    private Knote knoteFor(long token) {
        int slot = (int) token;
        if (slot < FIRST_SLOT || slot >= slots.length) return null;
        Knote kn = slots[slot];
        return kn != null && kn.gen == (int) (token >>> 32) ? kn : null;
    }

    // -------------------------------------------------------------------------- kernel helpers

    /** epoll_ctl; returns 0 or the errno. */
    int ctl(int ep, int op, int fd, int events, long token, Scratch s) {
        epoll_event.events(s.ctlEvent, events);
        epoll_event.data(s.ctlEvent, token);
        return epoll_h.epoll_ctl(s.callState, ep, op, fd, s.ctlEvent) == 0 ? 0 : s.errno();
    }

    /** Adds or modifies a registration, whichever the kernel needs (a disarmed one may linger from a oneshot). */
    int ctlSet(int ep, int fd, int events, long token, boolean expectExisting, Scratch s) {
        int e = ctl(ep, expectExisting ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, events, token, s);
        if (e == EEXIST) e = ctl(ep, EPOLL_CTL_MOD, fd, events, token, s);
        else if (e == ENOENT && expectExisting) e = ctl(ep, EPOLL_CTL_ADD, fd, events, token, s);
        return e;
    }

    boolean fdOpen(int fd, Scratch s) {
        return fcntl_h.fcntl(s.callState, fd, fcntl_h.F_GETFD, 0) >= 0;
    }

    /** The descriptor was found closed while its knotes lived: drop them, as close(2) would have. */
    void fdGone(int fd, Scratch s) {
        FdRecord r = record(fd);
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
        releaseRecordIfEmpty(r);
    }

    /** knote_fdclose(): called before Knot closes {@code fd}, which this kqueue watches. */
    @Override
    public void closing(int fd) {
        lock.lock();
        try {
            if (closed) return;
            FdRecord r = record(fd);
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
            FdRecord r = closed ? null : record(fd);
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

    /**
     * Replaces an epoll instance that reports registrations no knote owns. Such an orphan appears when a descriptor
     * was closed without Knot's knowledge while a duplicate keeps its file open: epoll keys registrations by (number,
     * file) and drops them only with the file's last descriptor, and no epoll_ctl can reach it any more.
     */
    private void rebuild(Scratch s) {
        if (staleWrite) {
            staleWrite = false;
            int nw = epoll_h.epoll_create1(s.callState, EPOLL_CLOEXEC);
            if (nw >= 0) {
                for (FdRecord r : fds) {
                    if (r == null) continue;
                    if (r.write != null && !r.write.polled) ctl(nw, EPOLL_CTL_ADD, r.fd, writeFilter.currentEvents(r.write), token(r.write), s);
                    r.writeLingers = false;
                }
                ctl(epfd, EPOLL_CTL_DEL, wepfd, 0, 0, s);
                unistd_h.close(s.callState, wepfd);
                wepfd = nw;
                ctl(epfd, EPOLL_CTL_ADD, wepfd, EPOLLIN, T_WRITESET, s);
                rebuilds++;
            }
        }
        if (staleMain) {
            staleMain = false;
            int nm = epoll_h.epoll_create1(s.callState, EPOLL_CLOEXEC);
            if (nm < 0) return;
            ctl(nm, EPOLL_CTL_ADD, wakefd, EPOLLIN | EPOLLET, T_WAKE, s);
            ctl(nm, EPOLL_CTL_ADD, wepfd, EPOLLIN, T_WRITESET, s);
            timerQueue.registerIn(nm, s);
            inotify.registerIn(nm, s);
            for (FdRecord r : fds) {
                if (r == null) continue;
                if (r.read != null && !r.read.polled) ctl(nm, EPOLL_CTL_ADD, r.fd, readFilter.currentEvents(r.read), token(r.read), s);
                r.readLingers = false;
            }
            procs.forEach(kn -> {
                if (kn.pidfd >= 0) ctl(nm, EPOLL_CTL_ADD, kn.pidfd, EPOLLIN | EPOLLONESHOT, token(kn), s);
            });
            // Threads blocked in the old instance must come back and wait on the new one: make the eventfd
            // level-triggered there (every waiter then sees it) and signal it, then put the new instance in place
            // under the kqueue's own descriptor number.
            ctl(epfd, EPOLL_CTL_MOD, wakefd, EPOLLIN, T_WAKE, s);
            wake();
            unistd_h.dup3(s.callState, nm, epfd, cloexec ? fcntl_h.O_CLOEXEC : 0);
            unistd_h.close(s.callState, nm);
            rebuilds++;
        }
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
            for (int i = FIRST_SLOT; i < nextSlot; i++) {
                Knote kn = slots[i];
                if (kn != null) drop(kn, s);
            }
            for (FdRecord r : fds) if (r != null) FdWatchers.unwatch(r.fd, this);   // lingering registrations
            timerQueue.close(s);
            inotify.close(s);
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
    void signalArrived(Knote kn, int gen) {
        lock.lock();
        try {
            if (closed || kn.gen != gen || kn.fop != signalFilter) return;
            kn.data++;
            activate(kn, false);
        } finally {
            lock.unlock();
        }
    }

    /** The knote watching signals, for the signal filter's attach. */
    SignalFilter signalFilter() {
        return signalFilter;
    }
}
