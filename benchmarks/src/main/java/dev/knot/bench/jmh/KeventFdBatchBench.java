// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_ENABLE;

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
 * The hot kevent batch path, workload A ("fd"): 256 AF_UNIX socketpairs with level-triggered EVFILT_READ knotes,
 * 64 of them (every 4th) with one byte pending that is never drained. One operation encodes {@code changes}
 * changes {fd_i, EVFILT_READ, EV_ENABLE} on registered descriptors, makes one
 * {@code kevent(changes, N, events, 64, 0)} call, and decodes every returned event into a Blackhole.
 *
 * <p>The C floor for the same system calls is {@code benchmarks/floor/kevent_floor.c} ("fd" rows);
 * {@code scripts/bench} checks with strace which system calls one operation makes.
 */
@State(Scope.Thread)
public class KeventFdBatchBench extends RunSettings {
    public static final int DESCRIPTORS = 256;
    public static final int READY = 64;
    public static final int EVENTS = 64;

    @Param({"1", "16", "64", "256"})
    public int changes;

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
                pairs[i] = newPair();
                fds[i] = pairs[i][0].fd();
                reg.set(i, fds[i], EVFILT_READ, EV_ADD, 0, 0, i);
                if (i % (DESCRIPTORS / READY) == 0 && pairs[i][1].write(one) != 1) throw new IllegalStateException("write");
            }
            if (kq.kevent(reg, DESCRIPTORS, null, 0, 0) != 0) throw new IllegalStateException("registration errors");
        }
        changeList = KeventArray.allocate(DESCRIPTORS);
        events = KeventArray.allocate(EVENTS);
        awaitDelivered();
        // Sanity: every call returns the 64 ready descriptors with data = 1.
        for (int k = 0; k < 3; k++) {
            int n = op();
            if (n != READY) throw new IllegalStateException("expected " + READY + " events, got " + n);
            for (int i = 0; i < n; i++) {
                if (events.filter(i) != EVFILT_READ || events.data(i) != 1) throw new IllegalStateException("event " + events.toString(i));
            }
        }
    }

    /** One connected pair, {reading end, writing end}: an AF_UNIX socketpair here. */
    StreamSocket[] newPair() throws IOException {
        return StreamSocket.pair();
    }

    /** Waits until every written byte is readable (a socketpair's are at once). */
    void awaitDelivered() throws IOException {
    }

    int op() throws KqueueException {
        KeventArray ch = changeList;
        long[] f = fds;
        int n = changes;
        for (int j = 0; j < n; j++) ch.set(j, f[j], EVFILT_READ, EV_ENABLE, 0, 0, j);
        return kq.kevent(ch, n, events, EVENTS, 0);
    }

    @Benchmark
    public int batch(Blackhole bh) throws KqueueException {
        return Decode.all(events, op(), bh);
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
