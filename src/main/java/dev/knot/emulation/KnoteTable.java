// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EVFILT_READ;
import static dev.knot.bindings.freebsd.event_h.EVFILT_TIMER;
import static dev.knot.bindings.freebsd.event_h.EVFILT_USER;
import static dev.knot.bindings.freebsd.event_h.EVFILT_PROC;
import static dev.knot.bindings.freebsd.event_h.EVFILT_WRITE;

import dev.knot.system.FdWatchers;
import dev.knot.system.SlotTable;

import java.util.function.Consumer;

/**
 * One kqueue's knotes, found three ways: by epoll token (a {@link SlotTable}: slot and generation, so an event for
 * a knote that is gone finds nothing), by descriptor number for the descriptor filters (READ, WRITE, VNODE: an
 * {@link FdRecord} per number, as FreeBSD's {@code kq_knlist}), and by ident for the others (as {@code kq_knhash}).
 * Knotes are recycled through a pool. Guarded by the kqueue's lock.
 */
final class KnoteTable {
    /** Tokens below this are the kqueue's own descriptors (see EpollKqueue.T_*). */
    static final int FIRST_SLOT = 8;

    private final SlotTable<Knote> slots = new SlotTable<>(FIRST_SLOT);
    private final FdWatchers.Watcher owner;
    FdRecord[] fds = new FdRecord[64];
    final LongMap<Knote> timers = new LongMap<>();
    final LongMap<Knote> users = new LongMap<>();
    final LongMap<Knote> procs = new LongMap<>();
    final LongMap<Knote> signals = new LongMap<>();
    private Knote pool;                          // recycled knotes, linked through qnext

    /** @param owner the kqueue, told by {@link FdWatchers} when a descriptor it has a record for is closed */
    KnoteTable(FdWatchers.Watcher owner) {
        this.owner = owner;
    }

    /** The knotes indexed by ident, for one non-descriptor filter. */
    LongMap<Knote> mapFor(int filter) {
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
            FdWatchers.watch(fd, owner);              // knote_fdclose: closing fd through Knot tells this kqueue
        }
        return r;
    }

    void releaseRecordIfEmpty(FdRecord r) {
        if (r.isEmpty() && r.fd < fds.length && fds[r.fd] == r) {
            fds[r.fd] = null;
            FdWatchers.unwatch(r.fd, owner);
        }
    }

    /** The descriptor knote of (fd, filter), or null. */
    Knote fdKnote(int fd, int filter) {
        FdRecord r = record(fd);
        if (r == null) return null;
        return filter == EVFILT_READ ? r.read : filter == EVFILT_WRITE ? r.write : r.vnode;
    }

    /** Files the knote under its (ident, filter); its slot it has had since {@link #alloc}. */
    void index(Knote kn) {
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

    void unindex(Knote kn) {
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

    /** A clean knote with a slot and a fresh token. */
    Knote alloc() {
        Knote kn = pool;
        if (kn != null) {
            pool = kn.qnext;
            kn.qnext = null;
        } else {
            kn = new Knote();
        }
        kn.token = slots.add(kn);
        return kn;
    }

    /** Frees the knote's slot (any token still in the kernel for it is now stale) and recycles it. */
    void free(Knote kn) {
        slots.remove(kn.token);
        kn.reset();
        kn.qnext = pool;
        pool = kn;
    }

    /** The knote an epoll token names, or null if it is gone. */
    Knote knoteFor(long token) {
        return slots.get(token);
    }

    /** The number of knotes. */
    int size() {
        return slots.size();
    }

    /** Every knote; the action may drop knotes as it goes. */
    void forEach(Consumer<Knote> action) {
        slots.forEach(action);
    }

    /** Stops watching the numbers of records that remain (lingering registrations): the kqueue is closing. */
    void unwatchAll() {
        for (FdRecord r : fds) if (r != null) FdWatchers.unwatch(r.fd, owner);
    }
}
