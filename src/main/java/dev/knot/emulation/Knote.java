// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import dev.knot.system.DeadlineHeap;

/**
 * One registration: FreeBSD's {@code struct knote}, keyed by (ident, filter) within one kqueue.
 *
 * <p>Field names follow the kernel's: {@code flags}, {@code fflags}, {@code data}, {@code udata} and {@code ext*}
 * are the stored kevent that is returned (kn_kevent), {@code sfflags}/{@code sdata} the values the user gave
 * (kn_sfflags/kn_sdata). Everything here is guarded by the owning {@link EpollKqueue}'s lock.
 */
final class Knote {
    // kn_status bits.
    static final int ACTIVE = 1;    // the filter said true; queued unless disabled
    static final int QUEUED = 2;    // on the kqueue's user-space active queue
    static final int DISABLED = 4;  // EV_DISABLE / EV_DISPATCH

    long ident;
    int filter;
    Filter fop;
    long token;                     // slot and generation in the knote table: the epoll registration's data

    int flags;                      // stored flags: creation flags minus ADD/DELETE/ENABLE/DISABLE/FORCEONESHOT
    int fflags;                     // output fflags
    long data;                      // output data
    long udata;
    long ext0, ext1, ext2, ext3;
    int sfflags;
    long sdata;
    int status;

    Knote qprev, qnext;             // active queue links
    int deliveredInCall;            // the scan that last returned it, so a level knote is returned once per call

    // Filter state. fd filters:
    int fd = -1;
    FdRecord rec;
    int kmode;                      // how the kernel registration is armed, see FdFilter
    boolean armed;                  // the epoll registration can report
    boolean polled;                 // no epoll (regular file, device): evaluated in user space on every scan
    boolean parked;                 // a never-connected socket: watched edge-triggered until it connects
    boolean stale;                  // its descriptor now names another file: drop it
    int disabledReports;            // scans that saw it reported while disabled, since it was last enabled
    long dev, ino;                  // the file a polled or VNODE knote was registered on
    // EVFILT_TIMER:
    long deadline;                  // monotonic ns, or realtime ns for absolute timers
    long period;                    // ns; 0 for a one-shot timer
    int heapIndex = -1;
    long heapSeq;
    boolean realtime;
    // EVFILT_USER:
    boolean triggered;
    // EVFILT_PROC:
    int pidfd = -1;
    // EVFILT_VNODE (and READ on polled regular files, which watch for growth):
    int wd = -1;
    Knote wdNext;                   // other knotes watching the same inode
    long lastSize;
    long lastNlink;
    boolean directory;

    /** Where a timer queue's {@link DeadlineHeap} keeps an EVFILT_TIMER knote's place. */
    static final DeadlineHeap.Access<Knote> TIMER_HEAP = new DeadlineHeap.Access<>() {
        @Override public long deadline(Knote kn) { return kn.deadline; }
        @Override public int index(Knote kn) { return kn.heapIndex; }
        @Override public void index(Knote kn, int i) { kn.heapIndex = i; }
        @Override public long seq(Knote kn) { return kn.heapSeq; }
        @Override public void seq(Knote kn, long seq) { kn.heapSeq = seq; }
    };

    boolean isDisabled() {
        return (status & DISABLED) != 0;
    }

    boolean isQueued() {
        return (status & QUEUED) != 0;
    }

    void reset() {
        ident = 0; filter = 0; fop = null; token = 0;
        flags = 0; fflags = 0; data = 0; udata = 0; ext0 = ext1 = ext2 = ext3 = 0;
        sfflags = 0; sdata = 0; status = 0;
        qprev = qnext = null; deliveredInCall = 0;
        fd = -1; rec = null; kmode = 0; armed = false; polled = false; parked = false; stale = false; disabledReports = 0; dev = 0; ino = 0;
        deadline = 0; period = 0; heapIndex = -1; heapSeq = 0; realtime = false;
        triggered = false; pidfd = -1; wd = -1; wdNext = null; lastSize = 0; lastNlink = 0; directory = false;
    }
}
