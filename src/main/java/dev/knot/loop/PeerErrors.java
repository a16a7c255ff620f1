// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import dev.knot.sys.ErrnoException;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * An event loop's peer resets and broken pipes: counted for its metrics and summarised in its log at most once per
 * interval, so that a client resetting connections in a loop cannot flood the log. Guarded by its own lock, since
 * {@link EventLoop#report} may come from any thread.
 */
final class PeerErrors {
    private final EventLoop loop;
    private final Object lock = new Object();
    private long resets, brokenPipes, unloggedResets, unloggedPipes, lastLog;
    private boolean logged, flushPending;
    private String last;
    volatile long intervalNanos = TimeUnit.SECONDS.toNanos(10);

    PeerErrors(EventLoop loop) {
        this.loop = loop;
    }

    /** ECONNRESET or EPIPE, by name: the error path alone pays the comparison, and no errno table is needed here. */
    static boolean isPeerGone(ErrnoException e) {
        String n = e.errnoName();
        return n.equals("ECONNRESET") || n.equals("EPIPE");
    }

    long resets() {
        synchronized (lock) {
            return resets;
        }
    }

    long brokenPipes() {
        synchronized (lock) {
            return brokenPipes;
        }
    }

    void count(ErrnoException e) {
        String line = null;
        long delay = 0;
        synchronized (lock) {
            if (e.errnoName().equals("ECONNRESET")) {
                resets++;
                unloggedResets++;
            } else {
                brokenPipes++;
                unloggedPipes++;
            }
            last = e.getMessage();
            long now = System.nanoTime();
            long since = now - lastLog;
            if (!logged || since >= intervalNanos) {
                line = summary(now);
            } else if (!flushPending) {
                flushPending = true;                     // what comes in this interval is logged at its end
                delay = intervalNanos - since;
            }
        }
        if (line != null) loop.log(line);
        if (delay > 0) {
            try {
                loop.schedule(this::flush, delay, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException shutDown) {
                // the loop is going away: the counts stay in the metrics
            }
        }
    }

    private void flush() {
        String line;
        synchronized (lock) {
            flushPending = false;
            line = unloggedResets + unloggedPipes == 0 ? null : summary(System.nanoTime());
        }
        if (line != null) loop.log(line);
    }

    private String summary(long now) {
        String s = "peer errors: " + unloggedResets + " connection resets, " + unloggedPipes + " broken pipes"
                + (logged ? " in the last " + TimeUnit.NANOSECONDS.toSeconds(now - lastLog) + " s" : "")
                + " (total " + resets + " resets, " + brokenPipes + " broken pipes; last: " + last + ")";
        logged = true;
        lastLog = now;
        unloggedResets = unloggedPipes = 0;
        return s;
    }
}
