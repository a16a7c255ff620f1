// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_ADD;
import static dev.knot.bindings.freebsd.event_h.EV_DELETE;
import static dev.knot.bindings.freebsd.event_h.EV_DISABLE;
import static dev.knot.bindings.freebsd.event_h.EV_ENABLE;
import static dev.knot.bindings.freebsd.event_h.EV_ERROR;
import static dev.knot.bindings.freebsd.event_h.EV_FORCEONESHOT;
import static dev.knot.bindings.freebsd.event_h.EV_KEEPUDATA;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.freebsd.event_h.EV_RECEIPT;
import static dev.knot.bindings.freebsd.event_h.EV_SYSFLAGS;
import static dev.knot.bindings.freebsd.event_h.EVFILT_READ;
import static dev.knot.bindings.freebsd.event_h.EVFILT_WRITE;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFLAGSMASK;
import static dev.knot.bindings.linux.errno_h.EBADF;
import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.errno_h.ENOENT;
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
import static dev.knot.emulation.EpollKqueue.RETURN_ZERO;
import static dev.knot.emulation.EpollKqueue.SHORT;
import static dev.knot.emulation.EpollKqueue.STALE;
import static dev.knot.emulation.EpollKqueue.WAIT_FOLLOWS;

import dev.knot.system.Uring;

import java.lang.foreign.MemorySegment;

/**
 * The change half of kevent(2): FreeBSD's change loop in {@code kqueue_kevent()} and {@code kqueue_register()},
 * applied to one {@link EpollKqueue} under its lock. Each change yields a receipt (errno and the fflags its
 * EV_ERROR entry returns) that becomes an EV_ERROR entry when it failed or asked for EV_RECEIPT.
 */
final class ChangeList {
    private final EpollKqueue kq;

    ChangeList(EpollKqueue kq) {
        this.kq = kq;
    }

    /**
     * FreeBSD's change loop in kqueue_kevent(): returns the error/receipt count, -errno, or RETURN_ZERO.
     *
     * <p>With io_uring, consecutive READ/WRITE changes on distinct descriptors have their epoll_ctl calls collected
     * in the kqueue's {@link ChangeBatch} and submitted together, and each change is finished, in order, from its
     * own result. A change is collected only while the eventlist has room for an entry for every collected change:
     * FreeBSD stops at the first error that finds no room, and io_uring cannot take back the calls queued after it.
     *
     * <p>Where the kernel has IORING_OP_EPOLL_WAIT ({@link EpollKqueue#COMBINED_WAIT}) and a blocking or timed wait
     * follows, the last batch, of any size, is not submitted here: it is left in a ring ({@link Scratch#ring}) for
     * {@link Scan#scanCombined}, which sends it and the wait in one io_uring_enter, and this returns
     * {@link EpollKqueue#WAIT_FOLLOWS}. Only when no entry was written (an entry means no scan), nothing is queued
     * in user space (the wait would not return for it), and this call is the kqueue's only one (see
     * {@link EpollKqueue#inflight}).
     */
    int applyChanges(MemorySegment ch, int nchanges, MemorySegment ev, int nevents, long timeoutNanos, Scratch s) {
        int written = 0;
        kq.lock.lock();
        ChangeBatch batch = null;
        boolean combine = EpollKqueue.COMBINED_WAIT && nevents > 0 && timeoutNanos != 0;
        boolean waitFollows = false;
        try {
            kq.awaitInflight();
            kq.scanFollows = nevents > 0;
            batch = (nchanges >= MIN_BATCH && nevents >= MIN_BATCH) || combine ? kq.batch() : null;
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
                if (batch != null) {
                    boolean fits = (filter == EVFILT_READ || filter == EVFILT_WRITE) && ident >= 0 && ident <= Integer.MAX_VALUE;
                    if (batch.n > 0 && (!fits || batch.full() || batch.n >= nevents - written || batch.touches((int) ident))) {
                        written = flush(batch, ev, written, s);
                    }
                    if (fits && batch.n < nevents - written) s.batch = batch;
                }
                long receipt = register(ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);
                s.batch = null;
                int err = errno(receipt);
                if (err == ChangeBatch.PENDING) {
                    batch.change(ident, filter, flags, fflags(receipt), data, udata, e0, e1, e2, e3);
                    continue;
                }
                if (batch != null && batch.n > 0 && (err != 0 || (flags & EV_RECEIPT) != 0)) {
                    // Finished without the kernel, but its entry must come after those of the changes before it.
                    batch.done(err);
                    batch.change(ident, filter, flags, fflags(receipt), data, udata, e0, e1, e2, e3);
                    continue;
                }
                if (err != 0 || (flags & EV_RECEIPT) != 0) {
                    if (written == nevents) return err != 0 ? -err : RETURN_ZERO;
                    // The entry is the change itself with flags = EV_ERROR and data = errno (0 for a receipt).
                    Scan.writeEvent(ev, written++, ident, filter, EV_ERROR, fflags(receipt), err, udata, e0, e1, e2, e3);
                }
            }
            if (batch != null && batch.n > 0) {
                if (combine && written == 0 && startCombined(batch, nevents, s)) {
                    waitFollows = true;
                    return WAIT_FOLLOWS;
                }
                written = flush(batch, ev, written, s);
            }
            return written;
        } finally {
            s.batch = null;
            if (batch != null && batch.n > 0 && !waitFollows) flush(batch, null, 0, s);  // an exception cut the loop short
            kq.scanFollows = false;
            kq.finishChanges(s);
            kq.lock.unlock();
        }
    }

    /**
     * Whether the batch can go to the kernel with the wait, and if so queues its calls in a ring left in
     * {@link Scratch#ring} and marks this thread {@link EpollKqueue#inflight}. Receipts and changes finished
     * without the kernel write entries, so they never get here with a wait to follow.
     */
    private boolean startCombined(ChangeBatch batch, int nevents, Scratch s) {
        if (batch.n > COMBINED_MAX || kq.callers != 1 || kq.closed || kq.staleMain || kq.staleWrite) return false;
        for (int i = 0; i < batch.n; i++) {
            if (batch.kind[i] == ChangeBatch.DONE || (batch.flags[i] & EV_RECEIPT) != 0) return false;
        }
        kq.timerQueue.runExpired(s);
        if (!kq.queue.isEmpty()) return false;
        Uring ring = Uring.acquire();
        if (ring == null) return false;
        if (ring.capacity() < batch.n + 2) {
            Uring.release(ring);
            return false;
        }
        for (int i = 0; i < batch.n; i++) {
            batch.slot[i] = ring.epollCtl(batch.ep[i], batch.op[i], batch.fd[i], batch.events[i], batch.token[i]);
        }
        s.ring = ring;
        kq.inflight = Thread.currentThread();
        kq.waiters++;                                    // as Scan.scan's wait: a wake() from elsewhere reaches it
        return true;
    }

    /**
     * After the combined io_uring_enter ({@link Scan#scanCombined}), with the lock held: finishes the batch from the
     * ring's results (making the calls the kernel never made), writes its EV_ERROR entries, and lets the threads
     * waiting in {@link EpollKqueue#awaitInflight} go on. Returns the number of entries written.
     */
    int finishCombined(Uring ring, MemorySegment ev, Scratch s) {
        ChangeBatch batch = kq.batch();
        try {
            int n = batch.n;
            for (int i = 0; i < n; i++) batch.result[i] = ring.result(batch.slot[i]);
            batch.batches++;
            batch.batchedChanges += n;
            kq.kernelChanges += n;
            kq.combinedWaits++;
            return finishAll(batch, true, ev, 0, s);
        } finally {
            batch.clear();
            kq.inflight = null;
            kq.inflightDone.signalAll();
            kq.finishChanges(s);
        }
    }

    /**
     * The fewest epoll_ctl calls that go through io_uring; smaller batches make plain epoll_ctl calls. Measured on
     * this project's 2-vCPU VM (benchmarks/report/changelist.py, N MODs of socket READ knotes per kevent call,
     * io_uring/epoll_ctl time): 1.23 at 2, 1.12 at 4, 1.03 at 8, 0.95 at 16, 0.92 at 32, 0.93 at 64. A submission costs
     * about 230 ns more than a system call and saves about 28 ns per call it carries, so the break-even is near 8.
     * {@code -Dknot.uring.minBatch=N} overrides it (2 gives the fewest system calls at any N).
     */
    static final int MIN_BATCH = Math.max(2, Integer.getInteger("knot.uring.minBatch", 10));

    /**
     * The most epoll_ctl calls that go to the kernel with the wait ({@link #startCombined}); a larger last batch is
     * submitted on its own and the wait is an epoll_pwait2, as without IORING_OP_EPOLL_WAIT. The wait must start
     * only once every call succeeded, so the calls are linked into a chain, and the kernel runs a chain one link at
     * a time (each through task work): measured on this project's 2-vCPU VM (KeventWaitBatchBench, blocking wait,
     * medians of 5 interleaved forks against the two-call path; benchmarks/RESULTS.md, "Changes and the wait"), a
     * link costs about 60-85 ns more than an unlinked call while the wait's system call saves about 1 us: 0.88x at
     * 1 change, 0.56x at 4, 0.43x at 8 (where the two-call path makes one epoll_ctl per change), 1.03x at 16, 1.22x
     * at 64, 1.25x at 256. {@code -Dknot.uring.epollWait.maxBatch=N} overrides it (up to
     * {@link EpollKqueue#BATCH_ENTRIES}, for one system call at any N up to that).
     */
    static final int COMBINED_MAX = Math.max(1, Math.min(EpollKqueue.BATCH_ENTRIES,
            Integer.getInteger("knot.uring.epollWait.maxBatch", 12)));

    /**
     * Submits the batch and finishes its changes in order, each from its own epoll_ctl result, writing their
     * EV_ERROR/EV_RECEIPT entries from {@code written} on (none if {@code ev} is null). The caller collected no more
     * changes than there is room for, so every entry fits. Returns the new entry count.
     */
    private int flush(ChangeBatch batch, MemorySegment ev, int written, Scratch s) {
        int n = batch.n, calls = 0;
        for (int i = 0; i < n; i++) if (batch.kind[i] != ChangeBatch.DONE) calls++;
        Uring ring = calls >= MIN_BATCH ? Uring.acquire() : null;
        boolean viaRing = ring != null;
        if (viaRing) {
            try {
                for (int i = 0; i < n; i++) {
                    if (batch.kind[i] != ChangeBatch.DONE) {
                        batch.slot[i] = ring.epollCtl(batch.ep[i], batch.op[i], batch.fd[i], batch.events[i], batch.token[i]);
                        batch.result[i] = 0;
                    }
                }
                ring.submit();
                for (int i = 0; i < n; i++) if (batch.kind[i] != ChangeBatch.DONE) batch.result[i] = ring.result(batch.slot[i]);
            } finally {
                Uring.release(ring);
            }
            batch.batches++;
            batch.batchedChanges += calls;
            kq.kernelChanges += calls;
        }
        return finishAll(batch, viaRing, ev, written, s);
    }

    /** Finishes the batch's changes in order from their results ({@code viaRing}) or plain calls; see {@link #flush}. */
    private int finishAll(ChangeBatch batch, boolean viaRing, MemorySegment ev, int written, Scratch s) {
        int n = batch.n;
        for (int i = 0; i < n; i++) {
            long receipt;
            if (batch.kind[i] == ChangeBatch.DONE) {
                receipt = receipt(batch.events[i], batch.fflags[i]);
            } else {
                int e = viaRing ? batch.result[i] : Uring.NOT_DONE;
                if (e == Uring.NOT_DONE) e = kq.ctl(batch.ep[i], batch.op[i], batch.fd[i], batch.events[i], batch.token[i], s);
                receipt = finish(batch, i, e, s);
            }
            int err = errno(receipt);
            if (ev != null && (err != 0 || (batch.flags[i] & EV_RECEIPT) != 0)) {
                Scan.writeEvent(ev, written++, batch.ident[i], batch.filter[i], EV_ERROR, fflags(receipt), err,
                        batch.udata[i], batch.e0[i], batch.e1[i], batch.e2[i], batch.e3[i]);
            }
        }
        batch.clear();
        return written;
    }

    /** The end of {@link #register} (or {@link #create}) for a collected change whose epoll_ctl returned {@code e}. */
    private long finish(ChangeBatch batch, int i, int e, Scratch s) {
        int rf = batch.fflags[i];
        Knote kn = batch.kn[i];
        switch (batch.kind[i]) {
            case ChangeBatch.DETACH -> {
                return receipt(FdFilter.detached(e), rf);
            }
            case ChangeBatch.ATTACH -> {
                FdFilter fop = (FdFilter) kn.fop;
                return created(kn, fop.attached(kq, kn, e, batch.events[i], batch.expectExisting[i], s), s);
            }
            default -> {
                return modifiedDone(kn.fop, kn, FdFilter.modifiedDone(kn, e, batch.events[i]), batch.ident[i],
                        batch.filter[i], batch.flags[i], batch.fflags[i], batch.data[i], batch.udata[i],
                        batch.e0[i], batch.e1[i], batch.e2[i], batch.e3[i], rf, s);
            }
        }
    }

    /**
     * kqueue_register(): one change. Returns its receipt: the errno (0 for success) and the fflags that an
     * EV_ERROR/EV_RECEIPT entry for it carries (see {@link #receipt}).
     */
    private long register(long ident, int filter, int flags, int fflags, long data, long udata,
                         long e0, long e1, long e2, long e3, Scratch s) {
        int rf = fflags;                              // FreeBSD returns the change's fflags, except as below
        if ((flags & (EV_ENABLE | EV_DISABLE)) == (EV_ENABLE | EV_DISABLE)) return receipt(EINVAL, rf);
        Filter fop = kq.filterFor(filter);
        if (fop == null) return receipt(EINVAL, rf);
        if ((flags & (EV_ADD | EV_KEEPUDATA)) == (EV_ADD | EV_KEEPUDATA)) return receipt(EINVAL, rf);
        Knote kn;
        if (fop.isFd) {
            if (ident < 0 || ident > Integer.MAX_VALUE) return receipt(EBADF, rf);
            if (ident == kq.epfd) return receipt(EINVAL, rf);                // a kqueue cannot watch itself
            kn = kq.table.fdKnote((int) ident, filter);
        } else {
            kn = kq.table.mapFor(filter).get(ident);
        }
        if (kn == null) return create(fop, ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);

        if ((flags & EV_DELETE) != 0) return receipt(kq.drop(kn, s), rf);
        if ((flags & EV_FORCEONESHOT) != 0) {
            kn.flags |= EV_ONESHOT;
            kq.activate(kn, false);
        }
        if ((flags & EV_ENABLE) != 0) {
            kn.status &= ~Knote.DISABLED;
            kn.disabledReports = 0;
        }
        else if ((flags & EV_DISABLE) != 0) kn.status |= Knote.DISABLED;
        if ((flags & EV_KEEPUDATA) == 0) kn.udata = udata;
        if (fop.hasTouch) {
            int err = fop.touchRegister(kq, kn, flags, fflags, data, s);
            if (fop == kq.userFilter) rf = fflags & NOTE_FFLAGSMASK;
            if (err != 0) return receipt(err, rf);
        } else {
            kn.sfflags = fflags;
            kn.sdata = data;
        }
        int r = fop.modified(kq, kn, flags, s);
        if (r == ChangeBatch.PENDING) return receipt(r, rf);
        return modifiedDone(fop, kn, r, ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, rf, s);
    }

    /** The end of kqueue_register() for a modify whose filter answered {@code r}. */
    private long modifiedDone(Filter fop, Knote kn, int r, long ident, int filter, int flags, int fflags, long data,
                              long udata, long e0, long e1, long e2, long e3, int rf, Scratch s) {
        if (r == STALE) {
            // The number was closed behind Knot's back and now names another file: FreeBSD dropped its knotes at
            // close(2), so this change sees no knote at all, and nothing learnt about the old file carries over.
            kq.fdGone((int) ident, s);
            return create(fop, ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);
        }
        if (r != 0) {
            kq.drop(kn, s);
            return receipt(r, rf);
        }
        evaluate(kn, s);
        return receipt(0, rf);
    }

    /** The EV_ADD of a knote that does not exist yet; a receipt as {@link #register}'s. */
    private long create(Filter fop, long ident, int filter, int flags, int fflags, long data, long udata,
                       long e0, long e1, long e2, long e3, Scratch s) {
        if ((flags & EV_ADD) == 0) {
            if (fop.isFd && !kq.fdOpen((int) ident, s)) return receipt(EBADF, fflags);
            return receipt(ENOENT, fflags);
        }
        Knote kn = kq.table.alloc();
        kn.ident = ident;
        kn.filter = filter;
        kn.fop = fop;
        kn.sfflags = fflags;
        kn.sdata = data;
        kn.flags = flags & ~(EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE | EV_FORCEONESHOT);
        kn.udata = udata;
        kn.ext0 = e0; kn.ext1 = e1; kn.ext2 = e2; kn.ext3 = e3;
        kn.status = (flags & EV_DISABLE) != 0 ? Knote.DISABLED : 0;
        // From here on the receipt carries fflags 0: FreeBSD zeroes the change's fflags when it creates a knote.
        if (fop.isFd) {
            int fd = (int) ident;
            // As FreeBSD's fget before kqueue_expand: a closed number is EBADF, and never grows the table to its size.
            if (fd >= kq.table.fds.length && !kq.fdOpen(fd, s)) {
                kq.table.free(kn);
                return receipt(EBADF, 0);
            }
            FdRecord r = kq.table.record(fd);
            if (r != null && r.read == null && r.write == null && r.vnode == null) r.forget();
        }
        kq.table.index(kn);
        int err = fop.attach(kq, kn, s);
        if (err == ChangeBatch.PENDING) return receipt(err, 0);
        return created(kn, err, s);
    }

    /** The end of {@link #create} once the filter's attach answered {@code err}. */
    private long created(Knote kn, int err, Scratch s) {
        if (err != 0) {
            kq.table.unindex(kn);
            kq.table.free(kn);
            return receipt(err, 0);
        }
        kq.liveKnotes++;
        evaluate(kn, s);
        return receipt(0, 0);
    }

    /** The end of kqueue_register(): re-run the filter and queue the knote if it is active and enabled. */
    private void evaluate(Knote kn, Scratch s) {
        if (!kn.isDisabled() && kn.fop.evaluatesOnRegister(kn) && kn.fop.event(kq, kn, s)) kn.status |= Knote.ACTIVE;
        if ((kn.status & (Knote.ACTIVE | Knote.DISABLED | Knote.QUEUED)) == Knote.ACTIVE) kq.enqueue(kn, false);
    }

    /** A change's receipt: its errno in the low 32 bits, the fflags its EV_ERROR entry carries in the high 32. */
    static long receipt(int errno, int fflags) {
        return ((long) fflags << 32) | (errno & 0xFFFFFFFFL);
    }

    static int errno(long receipt) {
        return (int) receipt;
    }

    static int fflags(long receipt) {
        return (int) (receipt >>> 32);
    }
}
