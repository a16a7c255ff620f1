// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.fork.Handoff;
import dev.knot.fork.Spawner;
import dev.knot.loop.Selector;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The master's worker starts: the queue of workers wanted (at most {@code --start-concurrency} starting at once),
 * the spawn of each with its handoff, and the restart count of each slot. The master decides which workers it
 * wants and what an exit means; this class only brings them up. Loop thread.
 */
final class Starts {
    private final Master m;
    /** Spawns waiting for a start slot ({@code --start-concurrency}). */
    private final Deque<Pending> pending = new ArrayDeque<>();
    private final Map<Integer, Integer> restarts = new HashMap<>();
    private final Map<Integer, String> restartReasons = new HashMap<>();
    private final SplittableRandom random = new SplittableRandom();
    /** {@code -XX:AOTCache=FILE} once the cache is trained. */
    List<String> aotJvmArgs = List.of();

    /** A worker to start: for {@code slot}, replacing {@code replaces} once ready (or null), and why. */
    record Pending(int slot, Worker replaces, Worker.Retiring why, String reason, boolean hold) {
        Pending(int slot, Worker replaces, Worker.Retiring why, String reason) {
            this(slot, replaces, why, reason, false);
        }
    }

    Starts(Master m) {
        this.m = m;
    }

    /** Queues a worker; it starts as soon as {@code --start-concurrency} allows. */
    void want(int slot, Worker replaces, Worker.Retiring why, String reason) {
        want(new Pending(slot, replaces, why, reason));
    }

    void want(Pending p) {
        pending.addLast(p);
        pump();
    }

    /** Queues {@code p} after {@code delayNanos}, unless its slot is gone or taken by then. */
    void later(Pending p, long delayNanos) {
        if (p.replaces == null && (p.slot > m.target || m.slotTaken(p.slot))) return;
        Master.log("respawning worker " + p.slot + " in " + delayNanos / 1_000_000 + " ms");
        m.loop.schedule(() -> want(p), delayNanos, TimeUnit.NANOSECONDS);
    }

    /** Starts queued workers while fewer than {@code --start-concurrency} are starting. */
    void pump() {
        int limit = m.config.startConcurrency() == 0 ? Integer.MAX_VALUE : m.config.startConcurrency();
        while (!pending.isEmpty() && starting() < limit) {
            Pending p = pending.removeFirst();
            if (!stale(p)) spawn(p);
        }
    }

    /** Forgets every queued start (the master stops or halts). */
    void clear() {
        pending.clear();
    }

    /** A replacement for {@code w} is queued. */
    boolean queuedFor(Worker w) {
        return pending.stream().anyMatch(p -> p.replaces == w);
    }

    /** Why {@code slot} was last restarted, or null. */
    String lastReason(int slot) {
        return restartReasons.get(slot);
    }

    /** Workers spawned and not yet ready (those being killed or retired do not hold a start slot). */
    long starting() {
        return m.workers.values().stream().filter(w -> !w.ready && !w.killed && !w.draining()).count();
    }

    private boolean stale(Pending p) {
        if (m.state == Master.State.STOPPING || m.state == Master.State.HALTED) return true;
        if (p.replaces != null) {
            return !m.workers.containsKey(p.replaces.pid) || p.replaces.draining() || p.replaces.replacement != null;
        }
        return p.slot > m.target || m.slotTaken(p.slot);
    }

    private void spawn(Pending p) {
        int slot = p.slot;
        int generation = m.generation;
        StreamSocket[] pair = null;
        try {
            pair = StreamSocket.pair();
            Handoff h = new Handoff(m.config.forkPolicy()).fd(Master.CONTROL_FD, pair[1].fd());
            for (int i = 0; i < m.listeners.size(); i++) h.fd(Master.LISTEN_FD + i, m.listeners.forSlot(i, slot).fd());
            // With per-slot sockets the template cannot hold them: a COPY worker re-registers its own.
            h.prepare(m.template);
            try (h) {
                long limit = m.config.maxRequests() == 0 ? 0 : m.config.maxRequests() + random.nextLong(m.config.maxRequestsJitter() + 1);
                Map<String, String> env = Worker.environment(m.config);
                env.putAll(h.environment());
                List<String> cmd = Worker.command(m.config, m.app(), slot, generation, limit);
                cmd.addAll(2, aotJvmArgs);
                int pid = Spawner.spawn(new Spawner.Spec(cmd, env, h.fds(), null, null));
                pair[1].close();
                if (p.reason != null) {
                    restarts.merge(slot, 1, Integer::sum);
                    restartReasons.put(slot, p.reason);
                }
                Worker w = new Worker(slot, generation, pid, pair[0], limit, restarts.getOrDefault(slot, 0), restartReasons.get(slot));
                if (p.replaces != null) {
                    w.replaces = p.replaces;
                    w.replacing = p.why;
                    w.holdUntilLimit = p.hold;
                    p.replaces.replacement = w;
                }
                m.workers.put(pid, w);
                w.channelKey = m.loop.register(pair[0], Selector.OP_READ, k -> m.fromWorker(w));
                w.procKey = m.loop.watch(pid, EVFILT_PROC, 0, NOTE_EXIT, 0, k -> m.exited(w, (int) k.eventData()));
                Master.log("spawned worker " + slot + " (generation " + generation + ", pid " + pid + ", " + h.entries() + " registrations copied"
                        + (limit > 0 ? ", max " + limit + " requests" : "") + (p.replaces != null ? ", replacing pid " + p.replaces.pid : "") + ")");
            }
        } catch (IOException | RuntimeException e) {
            if (pair != null) {
                Listeners.closeQuietly(pair[0]);
                Listeners.closeQuietly(pair[1]);
            }
            if (Supervisor.isResourceShortage(e)) {
                long d = m.supervisor.resourceShortage(slot);
                Master.log("cannot spawn worker " + slot + ": " + e.getMessage() + "; retrying in " + d / 1_000_000
                        + " ms (a shortage of resources, not counted as a crash)");
                m.loop.schedule(() -> want(p), d, TimeUnit.NANOSECONDS);
            } else {
                Master.log("cannot spawn worker " + slot + ": " + e.getMessage());
                m.failedToBoot(slot, p, "spawn failed: " + e.getMessage());
            }
        }
    }
}
