// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.loop.Key;
import dev.knot.loop.Selector;

import java.util.function.Consumer;

/**
 * The worker's half of recycling ({@code --max-requests}) and draining. Heartbeats lag, so the worker counts
 * itself: once the requests it finished plus the connections it holds reach its limit, it stops accepting (the
 * listeners' READ interest off: queued connections stay in the shared queue for other workers, or in its slot's
 * SO_REUSEPORT queue for its replacement) and tells the master {@code limit N}; once the finished requests reach the
 * limit it drains the app (keep-alive connections close after their answer). A worker whose connections closed
 * without a request below the limit accepts again. The process exits only when the app has drained <em>and</em>
 * the master said {@code drain}, which it says once the replacement is ready; a final heartbeat gives the master
 * the exact count. Loop thread.
 */
final class Recycler {
    private final long limit;
    private final LoopWorkerContext ctx;
    private final WorkerApp app;
    private final Consumer<String> send;
    private final Runnable heartbeat;
    private final Runnable exit;
    private boolean paused, appDrainStarted, appDrained, masterSaidDrain;

    /**
     * @param limit requests after which this worker is replaced (0: none)
     * @param send writes a line to the master
     * @param heartbeat sends a heartbeat now
     * @param exit ends the worker (its loop)
     */
    Recycler(long limit, LoopWorkerContext ctx, WorkerApp app, Consumer<String> send, Runnable heartbeat, Runnable exit) {
        this.limit = limit;
        this.ctx = ctx;
        this.app = app;
        this.send = send;
        this.heartbeat = heartbeat;
        this.exit = exit;
    }

    /** The app finished a request or its connection count changed. */
    void changed() {
        if (limit == 0 || appDrainStarted) return;
        long done = ctx.requests();
        int open = ctx.openConnections();
        if (done >= limit) {
            pause();
            drainApp();
        } else if (!paused && done + open >= limit) {
            pause();
        } else if (paused && done + open < limit) {
            resume();                   // connections closed without a request: room for more
        }
    }

    private void pause() {
        if (paused) return;
        paused = true;
        if (!setListenInterest(0)) {
            // The app registered its listeners itself (fork policy DROP): stopping them means draining it.
            drainApp();
        }
        send.accept("limit " + ctx.requests());
    }

    private void resume() {
        paused = false;
        setListenInterest(Selector.OP_READ);
    }

    private boolean setListenInterest(int ops) {
        boolean all = true;
        for (int i = 0; i < ctx.listeners().size(); i++) {
            Key k = ctx.listenKey(i);
            if (k != null && k.isValid()) k.interest(ops);
            else all = false;
        }
        return all;
    }

    /** The master's {@code drain}: the replacement is ready, or the master reloads, scales down or stops. */
    void masterDrain() {
        masterSaidDrain = true;
        drainApp();
        maybeExit();
    }

    private void drainApp() {
        if (appDrainStarted) return;
        appDrainStarted = true;
        WorkerMain.log("draining" + (masterSaidDrain ? "" : " at the request limit (" + ctx.requests() + " of " + limit + ")"));
        try {
            app.drain(() -> {
                appDrained = true;
                maybeExit();
            });
        } catch (RuntimeException e) {
            WorkerMain.log("app drain failed: " + WorkerMain.describe(e));
            appDrained = true;
            maybeExit();
        }
    }

    private void maybeExit() {
        if (appDrained && masterSaidDrain) {
            heartbeat.run();            // the exact final count, before the exit
            exit.run();
        }
    }
}
