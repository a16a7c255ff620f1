package dev.knot.bench.jmh;

/**
 * Runs the batch-path operation of {@link KeventFdBatchBench} or {@link KeventUserBatchBench} a given number of
 * times outside JMH, so that {@code strace -c} can count the system calls one operation makes. scripts/bench runs it
 * twice (0 and M operations after the same warm-up) and divides the difference by M.
 *
 * <p>Usage: {@code BatchProbe fd|user CHANGES WARMUP_OPS OPS}
 */
public final class BatchProbe {
    private BatchProbe() {}

    public static void main(String[] args) throws Exception {
        String workload = args[0];
        int changes = Integer.parseInt(args[1]);
        long warmup = Long.parseLong(args[2]);
        long ops = Long.parseLong(args[3]);
        long sum = 0;
        if (workload.equals("fd")) {
            KeventFdBatchBench b = new KeventFdBatchBench();
            b.changes = changes;
            b.setup();
            for (long i = 0; i < warmup + ops; i++) sum += b.op();
            Deferred.closeAll();
        } else if (workload.equals("user")) {
            KeventUserBatchBench b = new KeventUserBatchBench();
            b.changes = changes;
            b.setup();
            for (long i = 0; i < warmup + ops; i++) sum += b.op();
            Deferred.closeAll();
        } else {
            throw new IllegalArgumentException("workload fd or user, not " + workload);
        }
        System.out.println("events " + sum);
    }
}
