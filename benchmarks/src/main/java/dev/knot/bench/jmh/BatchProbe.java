// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

/**
 * Runs the operation of {@link KeventFdBatchBench} (or {@link KeventTcpBatchBench}), {@link KeventWaitBatchBench}, {@link KeventUserBatchBench} or
 * {@link SelectorBench} a given
 * number of times outside JMH, so that {@code strace -c} can count the system calls one operation makes.
 * scripts/bench runs it twice (0 and M operations after the same warm-up) and divides the difference by M.
 *
 * <p>Usage: {@code BatchProbe fd|fd-tcp|fd-wait|fd-timed|user|selector-knot|selector-nio CHANGES WARMUP_OPS OPS} (CHANGES is ignored by the
 * selector workloads)
 */
public final class BatchProbe {
    private BatchProbe() {}

    public static void main(String[] args) throws Exception {
        String workload = args[0];
        int changes = Integer.parseInt(args[1]);
        long warmup = Long.parseLong(args[2]);
        long ops = Long.parseLong(args[3]);
        long sum = 0;
        if (workload.equals("fd") || workload.equals("fd-tcp")) {
            KeventFdBatchBench b = workload.equals("fd") ? new KeventFdBatchBench() : new KeventTcpBatchBench();
            b.changes = changes;
            b.setup();
            for (long i = 0; i < warmup + ops; i++) sum += b.op();
            if (workload.equals("fd-tcp")) System.out.println("path " + b.kq.dataQueryPath());
            Deferred.closeAll();
        } else if (workload.equals("fd-wait") || workload.equals("fd-timed")) {
            KeventWaitBatchBench b = new KeventWaitBatchBench();
            b.changes = changes;
            b.waitNanos = workload.equals("fd-wait") ? -1 : 1_000_000_000L;
            b.setup();
            for (long i = 0; i < warmup + ops; i++) sum += b.op();
            System.out.println("path " + b.path());
            Deferred.closeAll();
        } else if (workload.equals("user")) {
            KeventUserBatchBench b = new KeventUserBatchBench();
            b.changes = changes;
            b.setup();
            for (long i = 0; i < warmup + ops; i++) sum += b.op();
            Deferred.closeAll();
        } else if (workload.equals("selector-knot")) {
            SelectorBench.KnotState st = new SelectorBench.KnotState();
            st.setup();
            for (long i = 0; i < warmup + ops; i++) sum += st.op(null);
            Deferred.closeAll();
        } else if (workload.equals("selector-nio")) {
            SelectorBench.NioState st = new SelectorBench.NioState();
            st.setup();
            for (long i = 0; i < warmup + ops; i++) sum += st.opSelectedKeys(null);
            Deferred.closeAll();
        } else {
            throw new IllegalArgumentException("workload fd, fd-tcp, fd-wait, fd-timed, user, selector-knot or selector-nio, not " + workload);
        }
        System.out.println("events " + sum);
    }
}
