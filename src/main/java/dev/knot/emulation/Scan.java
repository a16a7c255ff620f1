// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.epoll_h;
import dev.knot.bindings.linux.timespec;
import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.EV_DISPATCH;
import static dev.knot.bindings.freebsd.event_h.EV_ENABLE;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.linux.errno_h.EBADF;
import static dev.knot.bindings.linux.errno_h.EINTR;
import static dev.knot.emulation.EpollKqueue.INT;
import static dev.knot.emulation.EpollKqueue.KEV;
import static dev.knot.emulation.EpollKqueue.K_DATA;
import static dev.knot.emulation.EpollKqueue.K_EXT;
import static dev.knot.emulation.EpollKqueue.K_FFLAGS;
import static dev.knot.emulation.EpollKqueue.K_FILTER;
import static dev.knot.emulation.EpollKqueue.K_FLAGS;
import static dev.knot.emulation.EpollKqueue.K_IDENT;
import static dev.knot.emulation.EpollKqueue.K_UDATA;
import static dev.knot.emulation.EpollKqueue.LONG;
import static dev.knot.emulation.EpollKqueue.SHORT;
import static dev.knot.emulation.EpollKqueue.T_INOTIFY;
import static dev.knot.emulation.EpollKqueue.T_TIMER_MONO;
import static dev.knot.emulation.EpollKqueue.T_TIMER_REAL;
import static dev.knot.emulation.EpollKqueue.T_WAKE;
import static dev.knot.emulation.EpollKqueue.T_WRITESET;

import dev.knot.system.Uring;

import java.lang.foreign.MemorySegment;

/**
 * The collecting half of kevent(2): FreeBSD's {@code kqueue_scan()} over one {@link EpollKqueue}. Waits in epoll
 * (never holding the kqueue's lock there), turns epoll reports into knote evaluations, drains the user-space active
 * queue once per call, and applies the rules for ONESHOT, CLEAR and DISPATCH knotes after delivery.
 */
final class Scan {
    private final EpollKqueue kq;

    Scan(EpollKqueue kq) {
        this.kq = kq;
    }

    /** kqueue_scan(): returns the number of events, 0 on timeout, or -errno. */
    int scan(MemorySegment out, int nevents, long timeoutNanos, Scratch s) {
        long start = timeoutNanos > 0 ? System.nanoTime() : 0;
        while (true) {
            int queued;
            kq.lock.lock();
            try {
                if (kq.closed) return -EBADF;
                kq.awaitInflight();
                if (kq.closed) return -EBADF;
                kq.timerQueue.runExpired(s);
                queued = kq.queue.size();
                kq.waiters++;
            } finally {
                kq.lock.unlock();
            }
            long wait = queued > 0 ? 0 : timeoutNanos < 0 ? -1 : Math.max(0, timeoutNanos - (timeoutNanos > 0 ? System.nanoTime() - start : 0));
            int maxEp = Math.max(1, Math.min(Scratch.MAX_EPOLL_EVENTS, nevents - Math.min(queued, nevents / 2)));
            MemorySegment buf = s.events(maxEp);
            int r = epollWait(kq.epfd, buf, Math.min(maxEp, s.eventCapacity), wait, s);
            int err = r < 0 ? s.errno() : 0;
            kq.lock.lock();
            try {
                kq.waiters--;
                int n = collect(buf, r, err, out, nevents, s);
                if (n != 0) return n;
            } finally {
                kq.lock.unlock();
            }
            if (timeoutNanos == 0 || (timeoutNanos > 0 && System.nanoTime() - start >= timeoutNanos)) return 0;
        }
    }

    /**
     * The rest of a scan round once epoll answered {@code r} (events in {@code buf}, or -1 with {@code err}), under
     * the lock: returns the number of events, -errno, or 0 to wait again.
     */
    private int collect(MemorySegment buf, int r, int err, MemorySegment out, int nevents, Scratch s) {
        if (kq.closed) return -EBADF;
        int callId = ++kq.callSeq;
        if (callId == 0) callId = ++kq.callSeq;
        int n = 0;
        if (r > 0) n = processEpoll(buf, r, out, nevents, callId, s);
        kq.timerQueue.runExpired(s);
        if (n < nevents && !kq.queue.isEmpty()) n = drain(out, n, nevents, callId, s);
        if (s.deferredDisarms > 0) disarmDeferred(n == 0, s);
        kq.timerQueue.rearm(s);
        if (kq.staleMain || kq.staleWrite) kq.rebuild(s);
        if (n > 0) return n;
        if (r < 0 && err != EINTR) return -err;
        if (r < 0) return -EINTR;              // kevent(2) is not restarted after a signal
        return 0;
    }

    /**
     * kqueue_scan() for a call whose last batch of changes waits in {@link Scratch#ring}
     * ({@link ChangeList#applyChanges} returned {@link EpollKqueue#WAIT_FOLLOWS}): the batch and the first wait go
     * to the kernel in one io_uring_enter, without the lock; then, with it, the batch is finished and the events
     * collected as {@link #scan} does. If a call of the batch failed (the kernel then cancelled the wait) the
     * change's entry is returned and there is no scan, as in FreeBSD; if the wait ends with nothing to return,
     * the scan goes on with {@link #scan}'s plain waits for the rest of the timeout.
     */
    int scanCombined(ChangeList changes, MemorySegment out, int nevents, long timeoutNanos, Scratch s) {
        Uring ring = s.ring;
        s.ring = null;
        long start = timeoutNanos > 0 ? System.nanoTime() : 0;
        int r = 0;
        boolean finished = false;
        try {
            r = ring.submitWithWait(kq.epfd, Math.min(Uring.WAIT_EVENTS, nevents), timeoutNanos);
            kq.lock.lock();
            try {
                kq.waiters--;
                finished = true;
                int written = changes.finishCombined(ring, out, s);
                if (written != 0) return written;        // the failure that wrote them cancelled the wait
                int n = collect(ring.waitEvents(), Math.max(r, 0), 0, out, nevents, s);
                if (n != 0) return n;
            } finally {
                kq.lock.unlock();
            }
        } finally {
            if (!finished) {
                // submitWithWait threw (it does not, but a change must never stay half made): finish from NOT_DONE.
                kq.lock.lock();
                try {
                    kq.waiters--;
                    changes.finishCombined(ring, null, s);
                } finally {
                    kq.lock.unlock();
                }
            }
            Uring.release(ring);
        }
        if (timeoutNanos > 0) {
            long left = timeoutNanos - (System.nanoTime() - start);
            if (left <= 0) return 0;
            return scan(out, nevents, left, s);
        }
        return scan(out, nevents, timeoutNanos, s);
    }

    /** Ends the scan's deferred disarms (see {@link #deliverFd}): made if {@code now}, else left armed. */
    private void disarmDeferred(boolean now, Scratch s) {
        if (now) {
            for (int i = 0; i < s.deferredDisarms; i++) {
                Knote kn = kq.table.knoteFor(s.deferred[i]);     // null if it went away in this scan
                if (kn != null && kn.isDisabled() && kn.fop.isFd) ((FdFilter) kn.fop).disarm(kq, kn, s);
            }
        }
        s.deferredDisarms = 0;
    }

    private int epollWait(int ep, MemorySegment buf, int max, long waitNanos, Scratch s) {
        if (waitNanos == 0) {
            // A poll that cannot sleep: the critical variant, as Sys's queries (the kernel only re-polls the ready
            // list, at most max entries). A failure is made again through the capturing form to learn errno.
            int r = epoll_h.epoll_pwait2$critical(ep, buf.address(), max, s.zeroTimeoutAddress, 0L);
            if (r >= 0) return r;
            return epoll_h.epoll_pwait2(s.callState, ep, buf, max, s.zeroTimeout, MemorySegment.NULL);
        }
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
        boolean writeReady = false, inotifyReady = false, procReady = false;
        long[] inq = kq.dataQueries.prefetch(kq, buf, r, callId, s) ? s.inq(r) : null;
        for (int i = 0; i < r; i++) {
            long token = buf.get(epoll_event.data$LAYOUT, i * EV_SIZE + EV_DATA);
            int ev = buf.get(epoll_event.events$LAYOUT, i * EV_SIZE + EV_EVENTS);
            long asked = DataQueries.NONE;
            if (inq != null) {
                asked = inq[i];
                inq[i] = DataQueries.NONE;
            }
            int slot = (int) token;
            switch (slot) {
                case T_WAKE -> kq.wakePending = false;
                case T_WRITESET -> writeReady = true;
                case T_TIMER_MONO, T_TIMER_REAL -> { } // runExpired follows
                case T_INOTIFY -> inotifyReady = true;
                case EpollKqueue.T_PROCCN -> procReady = true;
                default -> {
                    Knote kn = kq.table.knoteFor(token);
                    if (kn == null) {
                        kq.staleMain = true;
                    } else if (kn.fop == kq.readFilter) {
                        s.inqNext = asked;                      // only for this knote's evaluation
                        n = deliverFd(kn, ev, out, n, callId, s);
                        s.inqNext = DataQueries.NONE;
                    } else if (kn.fop == kq.procFilter) {
                        kq.procFilter.exited(kq, kn, s);
                    }
                }
            }
        }
        if (inotifyReady) kq.inotify.read(s);
        if (procReady) kq.procEvents.read(s);
        if (writeReady && n < nevents) {
            int max = Math.min(nevents - n, s.eventCapacity);
            int w = epollWait(kq.wepfd, buf, max, 0, s);
            for (int i = 0; i < w; i++) {
                long token = buf.get(epoll_event.data$LAYOUT, i * EV_SIZE + EV_DATA);
                int ev = buf.get(epoll_event.events$LAYOUT, i * EV_SIZE + EV_EVENTS);
                Knote kn = kq.table.knoteFor(token);
                if (kn == null || kn.fop != kq.writeFilter) kq.staleWrite = true;
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
            // EV_DISABLE is lazy: the kernel is stopped only once it reports the knote, and only when keeping it
            // armed costs more than a MOD: reported while disabled in a second scan, or in a scan with nothing to
            // return (a blocking call would spin on it). A knote disabled for one round and enabled again, as a
            // selector's interest toggle does, so costs no epoll_ctl at all.
            if (kn.disabledReports++ > 0) f.disarm(kq, kn, s);
            else s.deferDisarm(kn.token);
            return n;
        }
        int verdict = f.evaluate(kq, kn, ev, s);
        if (verdict == FdFilter.CLOSED) {
            kq.fdGone(kn.fd, s);
            return n;
        }
        if (verdict == FdFilter.NOT_CONNECTED) {
            f.park(kq, kn, s);
            return n;
        }
        f.unpark(kq, kn, s);
        if (verdict == FdFilter.NOT_READY) {
            f.notReady(kq, kn, s);
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
            kq.drop(kn, s);
            return;
        }
        if ((kn.flags & (EV_CLEAR | EV_DISPATCH)) != 0) {
            if ((kn.flags & EV_CLEAR) != 0 && !kn.fop.hasTouch) {
                kn.data = 0;
                kn.fflags = 0;
            }
            if ((kn.flags & EV_DISPATCH) != 0) {
                kn.status |= Knote.DISABLED;
                kn.fop.dispatched(kq, kn, s);
            }
            kn.status &= ~Knote.ACTIVE;
            kq.queue.remove(kn);
        } else if (kn.fop.isFd && !kn.polled && ((FdFilter) kn.fop).edgeTriggered(kn)) {
            // A level knote that epoll watches edge-triggered (NOTE_LOWAT): keep it queued so the next scan re-runs
            // the filter, as FreeBSD does for every level knote.
            kq.activate(kn, true);
        }
    }

    /** One pass over the active queue (FreeBSD's marker pass): each knote at most once per call. */
    private int drain(MemorySegment out, int n, int nevents, int callId, Scratch s) {
        int count = kq.queue.size();
        while (count-- > 0 && n < nevents) {
            Knote kn = kq.queue.peek();
            kq.queue.remove(kn);
            if (kn.isDisabled()) continue;                  // stays ACTIVE; EV_ENABLE queues it again
            if (kn.deliveredInCall == callId) {
                kq.queue.add(kn);
                continue;
            }
            Filter fop = kn.fop;
            if ((kn.flags & EV_ONESHOT) != 0) {
                // Oneshot knotes go out as stored, without re-running the filter, and are dropped.
                writeKnote(out, n++, kn, fop.outFflags(kn), fop.outData(kn));
                kq.drop(kn, s);
                continue;
            }
            if (!fop.event(kq, kn, s)) {
                kn.status &= ~Knote.ACTIVE;
                if (kn.stale) kq.fdGone(kn.fd, s);               // the number now names another file
                continue;
            }
            writeKnote(out, n++, kn, fop.outFflags(kn), fop.outData(kn));
            kn.deliveredInCall = callId;
            if (fop.hasTouch) fop.afterTouchDelivery(kn);
            if ((kn.flags & (EV_CLEAR | EV_DISPATCH)) != 0) {
                afterDelivery(kn, s);
            } else {
                kq.queue.add(kn);                                // level: back at the tail, seen again next call
            }
        }
        return n;
    }

    private void writeKnote(MemorySegment out, int i, Knote kn, int fflags, long data) {
        writeEvent(out, i, kn.ident, kn.filter, kn.flags, fflags, data, kn.udata, kn.ext0, kn.ext1, kn.ext2, kn.ext3);
    }

    static void writeEvent(MemorySegment out, int i, long ident, int filter, int flags, int fflags, long data,
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
}
