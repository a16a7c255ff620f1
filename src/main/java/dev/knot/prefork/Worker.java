// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.loop.Key;
import dev.knot.net.StreamSocket;

/**
 * The master's record of one worker process: its slot, generation, control channel and what its heartbeats last
 * said. Confined to the master's loop thread.
 */
final class Worker {
    /** Why a worker is on its way out (or null while it serves). */
    enum Retiring { NONE, RELOAD, PHASED, RECYCLE, SCALE, STOP, UPGRADE }

    final int slot, generation, pid;
    final StreamSocket channel;
    final long started = System.nanoTime();
    final StringBuilder input = new StringBuilder();
    /** The request count after which this worker asks to be replaced (0: no limit). */
    final long maxRequests;
    /** Restarts of this slot before this worker, and the reason of the last one (for stats). */
    final int restarts;
    final String lastRestartReason;
    Key channelKey, procKey;
    boolean ready, killed;
    long readyAt;
    Retiring retiring = Retiring.NONE;
    /** A replacement for this worker (recycling, phased restart) is starting; this one keeps serving meanwhile. */
    Worker replacement;
    /** This worker replaces {@code replaces} once ready, which then retires for {@code replacing}. */
    Worker replaces;
    Retiring replacing = Retiring.NONE;
    /** Started ahead of {@code replaces}' request limit: that worker serves on until it reports the limit. */
    boolean holdUntilLimit;
    long lastHeartbeat = System.nanoTime();
    long requests, connections, gcCount, gcMillis, loopLagMicros;
    long pssKb = -1;
    /** The worker said it reached its request limit and stopped taking requests. */
    boolean atLimit;

    Worker(int slot, int generation, int pid, StreamSocket channel, long maxRequests, int restarts, String lastRestartReason) {
        this.slot = slot;
        this.generation = generation;
        this.pid = pid;
        this.channel = channel;
        this.maxRequests = maxRequests;
        this.restarts = restarts;
        this.lastRestartReason = lastRestartReason;
    }

    boolean draining() {
        return retiring != Retiring.NONE;
    }

    /** Serving or about to: ready and not retiring. */
    boolean serving() {
        return ready && !draining();
    }

    String state() {
        return killed ? "killed" : draining() ? "draining" : ready ? "ready" : "starting";
    }
}
