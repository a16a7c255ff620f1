// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

/**
 * The epoll_ctl calls of consecutive READ/WRITE changes of one kevent call, collected to go to the kernel in one
 * io_uring submission. Each entry is one change: the call it needs, what finishes it once the call's result is known
 * ({@link #ATTACH}, {@link #MODIFY}, {@link #DETACH}), and the change itself, for its EV_ERROR/EV_RECEIPT entry.
 * Guarded by the kqueue's lock; owned by one {@link EpollKqueue}.
 */
final class ChangeBatch {
    /** Returned instead of an errno by a filter whose epoll_ctl went into the batch. */
    static final int PENDING = Integer.MIN_VALUE + 1;
    /** What finishes an entry: attach, modify or detach of an fd knote; DONE: finished already, errno in events. */
    static final int ATTACH = 0, MODIFY = 1, DETACH = 2, DONE = 3;

    final int capacity = EpollKqueue.BATCH_ENTRIES;
    int n;
    final int[] kind, ep, op, fd, events, filter, flags, fflags, slot, result;
    final boolean[] expectExisting;
    final long[] token, ident, data, udata, e0, e1, e2, e3;
    final Knote[] kn;
    long batches, batchedChanges;

    ChangeBatch() {
        int c = capacity;
        kind = new int[c]; ep = new int[c]; op = new int[c]; fd = new int[c]; events = new int[c];
        filter = new int[c]; flags = new int[c]; fflags = new int[c]; slot = new int[c]; result = new int[c];
        expectExisting = new boolean[c];
        token = new long[c]; ident = new long[c]; data = new long[c]; udata = new long[c];
        e0 = new long[c]; e1 = new long[c]; e2 = new long[c]; e3 = new long[c];
        kn = new Knote[c];
    }

    /** Records the call of the change being applied; {@link #change} adds the change itself right after. */
    void add(int kind, int ep, int op, int fd, int events, long token, Knote kn, boolean expectExisting) {
        int i = n;
        this.kind[i] = kind; this.ep[i] = ep; this.op[i] = op; this.fd[i] = fd; this.events[i] = events;
        this.token[i] = token; this.kn[i] = kn; this.expectExisting[i] = expectExisting;
    }

    /** Records a change that needed no epoll_ctl and ended with {@code errno}, kept here for its entry's place. */
    void done(int errno) {
        int i = n;
        kind[i] = DONE; events[i] = errno; fd[i] = -1; kn[i] = null;
    }

    void change(long ident, int filter, int flags, int fflags, long data, long udata, long e0, long e1, long e2, long e3) {
        int i = n++;
        this.ident[i] = ident; this.filter[i] = filter; this.flags[i] = flags; this.fflags[i] = fflags;
        this.data[i] = data; this.udata[i] = udata;
        this.e0[i] = e0; this.e1[i] = e1; this.e2[i] = e2; this.e3[i] = e3;
    }

    /** Whether a pending change names descriptor {@code f}: a later change on it must see that one's outcome. */
    boolean touches(int f) {
        for (int i = 0; i < n; i++) if (fd[i] == f) return true;
        return false;
    }

    boolean full() {
        return n == capacity;
    }

    void clear() {
        for (int i = 0; i < n; i++) kn[i] = null;
        n = 0;
    }
}
