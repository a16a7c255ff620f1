// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.sys.ErrnoException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The master's restart policy, as Unicorn and Puma practise it and with the backoff they lack:
 *
 * <ul>
 *   <li>A worker that fails before it reports ready (it exits, or misses the boot timeout) is a boot failure:
 *       {@code crashLoopCount} of them within {@code crashLoopWindow} halt the master, since the application
 *       cannot start and respawning it forever only burns the host.</li>
 *   <li>A worker that became ready and then died (a SIGKILL by an operator or the OOM killer, a crash on some
 *       request, a heartbeat kill) never counts towards a halt: it is respawned.</li>
 *   <li>Every respawn waits a backoff kept per slot: {@code base}, doubling with each consecutive failure of that
 *       slot up to {@code max}, and back to {@code base} once a worker of the slot has been ready for
 *       {@code stableAfter}. One slot's failures never delay another slot's respawn.</li>
 *   <li>A spawn that fails for lack of resources (EMFILE, ENFILE, EAGAIN, ENOMEM, ENOBUFS from socketpair,
 *       posix_spawn...) is retried with the same per-slot backoff and never counts as a boot failure: the
 *       application is not at fault.</li>
 * </ul>
 *
 * <p>Pure bookkeeping on the master's loop thread; times are {@link System#nanoTime()} values.
 */
final class Supervisor {
    private final long base, max, window, stableAfter;
    private final int crashLoopCount;
    private final Map<Integer, Integer> streak = new HashMap<>();
    private final Deque<Long> bootFailures = new ArrayDeque<>();

    Supervisor(Duration base, Duration max, int crashLoopCount, Duration crashLoopWindow, Duration stableAfter) {
        this.base = Math.max(0, base.toNanos());
        this.max = Math.max(this.base, max.toNanos());
        this.crashLoopCount = crashLoopCount;
        this.window = crashLoopWindow.toNanos();
        this.stableAfter = stableAfter.toNanos();
    }

    /** What to do after a failure: respawn after {@code delayNanos}, or halt. */
    record Decision(boolean halt, long delayNanos, int recentBootFailures) {}

    /** A worker of {@code slot} failed before it became ready. */
    Decision bootFailure(int slot, long now) {
        bootFailures.addLast(now);
        while (!bootFailures.isEmpty() && now - bootFailures.peekFirst() > window) bootFailures.removeFirst();
        if (bootFailures.size() >= crashLoopCount) return new Decision(true, 0, bootFailures.size());
        return new Decision(false, nextDelay(slot), bootFailures.size());
    }

    /** A worker of {@code slot} that had been ready for {@code readyNanos} died unexpectedly. */
    Decision crashAfterReady(int slot, long readyNanos) {
        if (readyNanos >= stableAfter) streak.remove(slot);
        return new Decision(false, nextDelay(slot), bootFailures.size());
    }

    /** Spawning a worker for {@code slot} failed for lack of resources: retry later, count nothing. */
    long resourceShortage(int slot) {
        return nextDelay(slot);
    }

    /** A worker of {@code slot} has been ready long enough: its next failure starts the backoff over. */
    void stable(int slot) {
        streak.remove(slot);
    }

    long stableAfterNanos() {
        return stableAfter;
    }

    private long nextDelay(int slot) {
        int n = streak.merge(slot, 1, Integer::sum);
        long d = base << Math.min(30, n - 1);
        return d < 0 || d > max ? max : d;
    }

    /**
     * True if {@code e} (or a cause) is a shortage of descriptors, processes or memory: the spawn may succeed
     * later, and the application is not to blame.
     */
    static boolean isResourceShortage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ErrnoException x) {
                String n = x.errnoName();
                return n.equals("EMFILE") || n.equals("ENFILE") || n.equals("EAGAIN") || n.equals("EWOULDBLOCK")
                        || n.equals("ENOMEM") || n.equals("ENOBUFS");
            }
            if (t instanceof OutOfMemoryError) return true;
        }
        return false;
    }
}
