// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import java.lang.management.ManagementFactory;
import java.util.Locale;

import org.openjdk.jmh.infra.Blackhole;

/**
 * Bytes allocated per operation by the benchmark thread alone, for the JMH benchmarks' own operations.
 *
 * <p>JMH's {@code -prof gc} divides the allocation of every thread of the JVM (JMH's own threads included) by the
 * operations of an iteration, so a µs-scale benchmark shows JMH's per-iteration bookkeeping as a fraction of a byte
 * per op. This check runs the very same operation methods in a plain loop and reads
 * {@code ThreadMXBean.getCurrentThreadAllocatedBytes()} around a timed window after a warm-up: what Knot's path itself
 * allocates, exactly. Prints one JSON object per case.
 *
 * <p>Usage: {@code AllocCheck WARMUP_SECONDS MEASURE_SECONDS}
 */
public final class AllocCheck {
    private AllocCheck() {}

    @FunctionalInterface
    interface Op {
        int run() throws Exception;
    }

    private static final com.sun.management.ThreadMXBean MX =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        double warmup = Double.parseDouble(args[0]);
        double measure = Double.parseDouble(args[1]);
        Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        for (int n : new int[] {1, 16, 64, 256}) {
            KeventFdBatchBench b = new KeventFdBatchBench();
            b.changes = n;
            b.setup();
            report("KeventFdBatchBench.batch", n, run(() -> b.batch(bh), warmup, measure));
        }
        for (int n : new int[] {1, 16, 64, 256}) {
            KeventUserBatchBench b = new KeventUserBatchBench();
            b.changes = n;
            b.setup();
            report("KeventUserBatchBench.batch", n, run(() -> b.batch(bh), warmup, measure));
        }
        SelectorBench.KnotState knot = new SelectorBench.KnotState();
        knot.setup();
        report("SelectorBench.knot", 0, run(() -> knot.op(bh), warmup, measure));
        SelectorBench.NioState nio = new SelectorBench.NioState();
        nio.setup();
        report("SelectorBench.nioSelectedKeys", 0, run(() -> nio.opSelectedKeys(bh), warmup, measure));
        SelectorBench.NioState nio2 = new SelectorBench.NioState();
        nio2.setup();
        report("SelectorBench.nioConsumer", 0, run(() -> nio2.opConsumer(bh), warmup, measure));
        Deferred.closeAll();
        bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
    }

    /** Returns {ops, bytes} of the measured window. */
    private static long[] run(Op op, double warmup, double measure) throws Exception {
        long sink = 0;
        long end = System.nanoTime() + (long) (warmup * 1e9);
        while (System.nanoTime() < end) {
            for (int i = 0; i < 100; i++) sink += op.run();
        }
        long ops = 0;
        long before = MX.getCurrentThreadAllocatedBytes();
        end = System.nanoTime() + (long) (measure * 1e9);
        while (System.nanoTime() < end) {
            for (int i = 0; i < 100; i++) sink += op.run();
            ops += 100;
        }
        long bytes = MX.getCurrentThreadAllocatedBytes() - before;
        if (sink == 42) System.out.print("");
        return new long[] {ops, bytes};
    }

    private static void report(String bench, int changes, long[] r) {
        System.out.println(String.format(Locale.ROOT,
                "{\"benchmark\":\"%s\",\"changes\":%d,\"ops\":%d,\"bytes\":%d,\"bytes_per_op\":%.4f}",
                bench, changes, r[0], r[1], (double) r[1] / r[0]));
        System.out.flush();
    }
}
