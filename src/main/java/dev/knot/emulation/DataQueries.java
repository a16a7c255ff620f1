// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.errno_h.ENOTTY;
import static dev.knot.bindings.linux.errno_h.EOPNOTSUPP;
import static dev.knot.emulation.EpollKqueue.T_PROCCN;

import dev.knot.bindings.freebsd.event_h;
import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Uring;

import java.lang.foreign.MemorySegment;

/**
 * EVFILT_READ's exact {@code data} for many ready sockets in one system call. FreeBSD computes it in the kernel while
 * it scans; the emulation asks with one FIONREAD per returned event. When a scan's epoll reports hold at least
 * {@link #MIN_BATCH} READ knotes that need the count and whose descriptor answers FIONREAD, the questions go to the
 * kernel first, together, as one io_uring submission of {@code SOCKET_URING_OP_SIOCINQ} commands (Linux 6.7), and
 * {@link FdFilter} then takes each knote's answer instead of calling.
 *
 * <p>Only TCP and UDP sockets answer: the command needs the protocol's own ioctl, which AF_UNIX and pipes lack. A
 * descriptor that refuses is remembered in its {@link FdRecord} and asked with FIONREAD from then on. Whether the
 * kernel has the commands at all (URING_CMD came in 5.19, the socket commands in 6.7) is probed once per process, on
 * the first batch, with a UDP socket that must answer 0. {@code -Dknot.uring.dataQueries=false} (or
 * {@code KNOT_URING_DATA_QUERIES=false}) turns the batching off.
 * Guarded by the kqueue's lock, like the scan that calls it.
 */
final class DataQueries {
    /**
     * The fewest queries that go through io_uring. Per query, a submission of N SIOCINQ commands against N ioctls
     * (benchmarks/floor/siocinq_probe.c on loopback TCP; benchmarks/RESULTS.md, "Batched data queries"): on a host
     * where a system call costs about 300 ns, 1.10x at N = 2, 0.99x at 3, 0.89x at 4, 0.73x at 16; on one where it
     * costs 1.1 us, 0.38x at 4 and 0.12x at 64. In the kernel each command still takes the socket lock, which is why
     * the gain is smaller where system calls are cheap. {@code -Dknot.uring.dataQueries.minBatch=N} overrides it.
     */
    static final int MIN_BATCH = Math.max(2, Integer.getInteger("knot.uring.dataQueries.minBatch", 4));
    /** No answer for this event (the slot value between scans). */
    static final long NONE = -1;

    private static final String DISABLED = Uring.turnedOff("knot.uring.dataQueries", "KNOT_URING_DATA_QUERIES");
    private static final Object PROBE_LOCK = new Object();
    private static volatile String kernelRefuses;         // null: not probed; "" the kernel answers; else why not

    // A kqueue whose reports hold too few sockets to ask (AF_UNIX, pipes, idle TCP) skips the pass over them for a
    // while, doubling up to MAX_SKIP scans, so that it costs those workloads next to nothing; new TCP traffic is
    // noticed within that many scans.
    private static final int MAX_SKIP = 64;
    private int skip, backoff;
    private Knote[] knotes = new Knote[64];
    private int[] positions = new int[64];
    long batches, queries;                 // for EpollKqueue.dataQueryPath

    /** Why the queries are not batched ("" if they may be). */
    static String unavailableReason() {
        if (DISABLED != null) return DISABLED;
        String u = Uring.unavailableReason();
        if (!u.isEmpty()) return u;
        String k = kernelRefuses;
        return k == null ? "" : k;
    }

    /** Learns, once per process, whether this kernel answers the socket commands; returns whether it does. */
    private static boolean probe(Uring ring, Scratch s) {
        synchronized (PROBE_LOCK) {
            if (kernelRefuses == null) {
                String why;
                if (!ring.socketQueries()) {
                    why = "IORING_OP_URING_CMD not supported by this kernel";
                } else {
                    int fd = socket_h.socket(s.callState, socket_h.AF_INET, socket_h.SOCK_DGRAM | socket_h.SOCK_CLOEXEC, 0);
                    if (fd < 0) {
                        why = "no UDP socket to probe SOCKET_URING_OP_SIOCINQ: " + new ErrnoException("socket", s.errno()).errnoName();
                    } else {
                        ring.siocinq(fd);
                        ring.submit();
                        int res = ring.bytes(0);
                        unistd_h.close(s.callState, fd);
                        why = res == 0 ? "" : "SOCKET_URING_OP_SIOCINQ not supported by this kernel (Linux 6.7+): "
                                + (res == Integer.MIN_VALUE ? "not submitted" : new ErrnoException("URING_CMD", -res).errnoName());
                    }
                }
                kernelRefuses = why;
            }
            return kernelRefuses.isEmpty();
        }
    }

    /**
     * Before the scan evaluates epoll's {@code r} reports in {@code buf}: asks the kernel, in one submission, for the
     * data of every READ knote among them that needs it, and leaves each answer in {@code s.inq} at the report's
     * position ({@link #NONE} where there is none). Returns whether any slot was set; if not, nothing was touched.
     */
    boolean prefetch(EpollKqueue kq, MemorySegment buf, int r, int callId, Scratch s) {
        String k = kernelRefuses;
        if (r < MIN_BATCH || DISABLED != null || (k != null && !k.isEmpty())) return false;
        if (skip > 0) {
            skip--;
            return false;
        }
        boolean exact = kq.readDataExact;
        int c = 0, learning = 0;
        for (int i = 0; i < r; i++) {
            long token = buf.get(epoll_event.data$LAYOUT, i * epoll_event.SIZEOF + epoll_event.data$OFFSET);
            if ((int) token <= T_PROCCN) continue;
            Knote kn = kq.table.knoteFor(token);
            // Exactly the knotes whose evaluation would call FIONREAD (FdFilter.evaluateRead), and that will be
            // evaluated in this scan: a stale answer must never wait for a later one.
            if (kn == null || kn.fop != kq.readFilter || kn.isDisabled() || kn.polled || kn.deliveredInCall == callId) continue;
            FdRecord rec = kn.rec;
            if (!exact && (kn.sfflags & event_h.NOTE_LOWAT) == 0) continue;
            if (!FdFilter.queriesInq(rec)) {
                if (FdFilter.kindUnknown(rec)) learning++;      // its first evaluation learns whether it may be asked
                continue;
            }
            if (c == knotes.length) {
                knotes = java.util.Arrays.copyOf(knotes, c * 2);
                positions = java.util.Arrays.copyOf(positions, c * 2);
            }
            knotes[c] = kn;
            positions[c++] = i;
        }
        try {
            if (c < MIN_BATCH) {
                if (c + learning < MIN_BATCH) {
                    backoff = Math.min(MAX_SKIP, Math.max(1, backoff * 2));
                    skip = backoff;
                }
                return false;
            }
            backoff = 0;
            Uring ring = Uring.acquire();
            if (ring == null) return false;
            try {
                if (k == null && !probe(ring, s)) return false;
                return ask(ring, c, s.inq(r));
            } finally {
                Uring.release(ring);
            }
        } finally {
            java.util.Arrays.fill(knotes, 0, c, null);      // the knotes are the table's: hold none between scans
        }
    }

    /** The {@code c} collected knotes' SIOCINQ, in submissions of the ring's capacity; whether any was answered. */
    private boolean ask(Uring ring, int c, long[] inq) {
        boolean any = false;
        for (int from = 0; from < c; from += ring.capacity()) {
            int to = Math.min(c, from + ring.capacity());
            for (int j = from; j < to; j++) ring.siocinq(knotes[j].fd);
            ring.submit();
            batches++;
            queries += to - from;
            for (int j = from; j < to; j++) {
                int res = ring.bytes(j - from);
                if (res >= 0) {
                    inq[positions[j]] = res;
                    any = true;
                } else if (res == -EOPNOTSUPP || res == -ENOTTY || res == -EINVAL) {
                    FdFilter.refuseInq(knotes[j].rec);
                }
                // Anything else (EBADF: the number was closed) is left to FIONREAD, which learns what it means.
            }
        }
        return any;
    }
}
