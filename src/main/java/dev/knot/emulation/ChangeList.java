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

    /** FreeBSD's change loop in kqueue_kevent(): returns the error/receipt count, -errno, or RETURN_ZERO. */
    int applyChanges(MemorySegment ch, int nchanges, MemorySegment ev, int nevents, Scratch s) {
        int written = 0;
        int room = nevents;
        kq.lock.lock();
        try {
            kq.scanFollows = nevents > 0;
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
                long receipt = register(ident, filter, flags, fflags, data, udata, e0, e1, e2, e3, s);
                int err = errno(receipt);
                if (err != 0 || (flags & EV_RECEIPT) != 0) {
                    if (room == 0) return err != 0 ? -err : RETURN_ZERO;
                    // The entry is the change itself with flags = EV_ERROR and data = errno (0 for a receipt).
                    Scan.writeEvent(ev, written++, ident, filter, EV_ERROR, fflags(receipt), err, udata, e0, e1, e2, e3);
                    room--;
                }
            }
            return written;
        } finally {
            kq.scanFollows = false;
            kq.finishChanges(s);
            kq.lock.unlock();
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
        if ((flags & EV_ENABLE) != 0) kn.status &= ~Knote.DISABLED;
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
