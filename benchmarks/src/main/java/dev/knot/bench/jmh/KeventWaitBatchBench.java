// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Changes that need the kernel, then a wait (issue 11, Deliver 1): 256 AF_UNIX socketpairs with level-triggered
 * EVFILT_READ knotes, one of them (the first) with one byte pending that is never drained. One operation sends
 * {@code changes} changes {fd_i, EVFILT_READ, EV_ADD} on registered knotes (EV_ADD on a knote asks the kernel again:
 * one EPOLL_CTL_MOD each) with {@code kevent(changes, N, events, 256, waitNanos)}, which returns the ready descriptor
 * at once; the event is decoded into a Blackhole. One event, so that the changes and the wait dominate the cost. {@code waitNanos} -1 blocks, 1 s is a timed wait.
 *
 * <p>With {@code IORING_OP_EPOLL_WAIT} (Linux 6.15+) the changes and the wait go to the kernel in one
 * {@code io_uring_enter}; {@code -Dknot.uring.epollWait=false} gives the earlier path (the changes in one
 * io_uring_enter, then epoll_pwait2), {@code -Dknot.uring=false} one epoll_ctl per change. BatchProbe's "fd-wait"
 * workload runs the same operation for {@code benchmarks/report/syscalls.py}.
 */
@State(Scope.Thread)
public class KeventWaitBatchBench extends RunSettings {
    public static final int DESCRIPTORS = 256;
    public static final int READY = 1;

    @Param({"1", "64", "256"})
    public int changes;

    @Param({"-1"})
    public long waitNanos;

    Kqueue kq;
    StreamSocket[][] pairs;
    long[] fds;
    KeventArray changeList;
    KeventArray events;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        Deferred.closeAll();
        Deferred.add(this::close);
        kq = Kqueue.open();
        pairs = new StreamSocket[DESCRIPTORS][];
        fds = new long[DESCRIPTORS];
        try (KeventArray reg = KeventArray.allocate(DESCRIPTORS); Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(1);
            for (int i = 0; i < DESCRIPTORS; i++) {
                pairs[i] = StreamSocket.pair();
                fds[i] = pairs[i][0].fd();
                reg.set(i, fds[i], EVFILT_READ, EV_ADD, 0, 0, i);
                if (i % (DESCRIPTORS / READY) == 0 && pairs[i][1].write(one) != 1) throw new IllegalStateException("write");
            }
            if (kq.kevent(reg, DESCRIPTORS, null, 0, 0) != 0) throw new IllegalStateException("registration errors");
        }
        changeList = KeventArray.allocate(DESCRIPTORS);
        events = KeventArray.allocate(DESCRIPTORS);
        // Sanity: every call returns the ready descriptor with data = 1.
        for (int k = 0; k < 3; k++) {
            int n = op();
            if (n != READY) throw new IllegalStateException("expected " + READY + " events, got " + n);
            for (int i = 0; i < n; i++) {
                if (events.filter(i) != EVFILT_READ || events.data(i) != 1) throw new IllegalStateException("event " + events.toString(i));
            }
        }
    }

    int op() throws KqueueException {
        KeventArray ch = changeList;
        long[] f = fds;
        int n = changes;
        for (int j = 0; j < n; j++) ch.set(j, f[j], EVFILT_READ, EV_ADD, 0, 0, j);
        return kq.kevent(ch, n, events, DESCRIPTORS, waitNanos);
    }

    @Benchmark
    public int batch(Blackhole bh) throws KqueueException {
        return Decode.all(events, op(), bh);
    }

    /** The path the changes and the wait took, for the run's log. */
    String path() {
        return kq.changelistPath();
    }

    /** Releases everything; deferred past the measurement (see {@link Deferred}). */
    void close() throws IOException {
        if (kq != null) kq.close();
        if (changeList != null) changeList.close();
        if (events != null) events.close();
        if (pairs == null) return;
        for (StreamSocket[] p : pairs) {
            if (p == null) continue;
            p[0].close();
            p[1].close();
        }
    }
}
