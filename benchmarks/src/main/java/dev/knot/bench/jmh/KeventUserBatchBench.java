// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The hot kevent batch path, workload B ("user"): 256 EVFILT_USER knotes with EV_CLEAR. One operation encodes
 * {@code changes} triggers (NOTE_TRIGGER on idents 1..N), makes one kevent call collecting them, and decodes the N
 * events into a Blackhole. In the Linux emulation user events live in user space: the only system call is one
 * {@code epoll_pwait2} with a zero timeout (the C floor's "user" rows make that call).
 */
@State(Scope.Thread)
public class KeventUserBatchBench extends RunSettings {
    public static final int KNOTES = 256;

    @Param({"1", "16", "64", "256"})
    public int changes;

    Kqueue kq;
    KeventArray changeList;
    KeventArray events;

    @Setup(Level.Trial)
    public void setup() throws KqueueException {
        Deferred.closeAll();
        Deferred.add(this::close);
        kq = Kqueue.open();
        try (KeventArray reg = KeventArray.allocate(KNOTES)) {
            for (int i = 0; i < KNOTES; i++) reg.set(i, i + 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, i);
            if (kq.kevent(reg, KNOTES, null, 0, 0) != 0) throw new IllegalStateException("registration errors");
        }
        changeList = KeventArray.allocate(KNOTES);
        events = KeventArray.allocate(KNOTES);
        for (int k = 0; k < 3; k++) {
            int n = op();
            if (n != changes) throw new IllegalStateException("expected " + changes + " events, got " + n);
        }
        // EV_CLEAR: nothing is left triggered.
        if (kq.kevent(null, 0, events, KNOTES, 0) != 0) throw new IllegalStateException("knotes stayed triggered");
    }

    int op() throws KqueueException {
        KeventArray ch = changeList;
        int n = changes;
        for (int j = 0; j < n; j++) ch.set(j, j + 1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0);
        return kq.kevent(ch, n, events, KNOTES, 0);
    }

    @Benchmark
    public int batch(Blackhole bh) throws KqueueException {
        return Decode.all(events, op(), bh);
    }

    /** Releases everything; deferred past the measurement (see {@link Deferred}). */
    void close() {
        if (kq != null) kq.close();
        if (changeList != null) changeList.close();
        if (events != null) events.close();
    }
}
