// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.net.StreamSocket;

import java.io.IOException;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A changelist that needs the kernel: 64 idle AF_UNIX socketpairs with READ knotes; one operation re-adds
 * {@code changes} of them ({fd_i, EVFILT_READ, EV_ADD}, which always asks the kernel: one EPOLL_CTL_MOD each) in one
 * {@code kevent(changes, N, events, 64, 0)} that finds nothing ready. On Linux the N epoll_ctl calls go in one
 * io_uring submission, or one system call each with {@code -Dknot.uring=false}: compare the two forks' ns/op.
 * {@link #main} runs the operation outside JMH, for {@code strace -c} and for a timed ratio.
 */
@State(Scope.Thread)
public class KeventChangelistBench extends RunSettings {
    public static final int DESCRIPTORS = 64;

    @Param({"1", "8", "64"})
    public int changes;

    Kqueue kq;
    StreamSocket[][] pairs;
    KeventArray changeList, events;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        kq = Kqueue.open();
        pairs = new StreamSocket[DESCRIPTORS][];
        changeList = KeventArray.allocate(DESCRIPTORS);
        events = KeventArray.allocate(DESCRIPTORS);
        for (int i = 0; i < DESCRIPTORS; i++) {
            pairs[i] = StreamSocket.pair();
            changeList.set(i, pairs[i][0].fd(), EVFILT_READ, EV_ADD, 0, 0, i);
        }
        if (kq.kevent(changeList, DESCRIPTORS, events, DESCRIPTORS, 0) != 0) throw new IllegalStateException("registration");
    }

    @Benchmark
    public int changelist() throws KqueueException {
        return kq.kevent(changeList, changes, events, DESCRIPTORS, 0);
    }

    void close() throws IOException {
        kq.close();
        changeList.close();
        events.close();
        for (StreamSocket[] p : pairs) {
            p[0].close();
            p[1].close();
        }
    }

    /**
     * {@code KeventChangelistBench CHANGES OPS [ROUNDS]}: OPS operations (after OPS/10 of warm-up), ROUNDS times,
     * printing ns/op of each round and the changelist path; for strace, ROUNDS 1.
     */
    public static void main(String[] args) throws Exception {
        KeventChangelistBench b = new KeventChangelistBench();
        b.changes = Integer.parseInt(args[0]);
        long ops = Long.parseLong(args[1]);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        b.setup();
        long sum = 0;
        for (long i = 0; i < ops / 10; i++) sum += b.changelist();
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (long i = 0; i < ops; i++) sum += b.changelist();
            long t = System.nanoTime() - t0;
            System.out.printf("changes %d round %d: %.0f ns/op%n", b.changes, r, (double) t / ops);
        }
        System.out.println("path " + b.kq.changelistPath() + " events " + sum);
        b.close();
    }
}
