// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import dev.knot.sys.Errno;
import dev.knot.sys.ErrnoException;

import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An event loop's peer resets and broken pipes: counted for its metrics and summarised in its log at most once per
 * interval, so that a client resetting connections in a loop cannot flood the log. Guarded by its own lock, since
 * {@link EventLoop#report} may come from any thread.
 */
final class PeerErrors {
    private final EventLoop loop;
    private final Object lock = new Object();
    private long resets, brokenPipes, unloggedResets, unloggedPipes, lastLog;
    private long flushDelay;
    private boolean logged, flushPending;
    private String last;
    private final Runnable flushTask = this::flush;      // linked here, at start-up, not at the first flush
    private static final AtomicBoolean WARMED = new AtomicBoolean();
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
        String line;
        long delay;
        synchronized (lock) {
            line = record(e, System.nanoTime());
            delay = flushDelay;
            flushDelay = 0;
        }
        if (line != null) loop.log(line);
        if (delay > 0) {
            try {
                loop.schedule(flushTask, delay, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException shutDown) {
                // the loop is going away: the counts stay in the metrics
            }
        }
    }

    /**
     * Counts {@code e}. Returns the line to log now, or null; when a flush at the end of the interval is due, leaves
     * its delay in {@link #flushDelay}. Holds {@link #lock}; touches nothing outside this object, so {@link #warm} can
     * run it on a throwaway instance.
     */
    private String record(ErrnoException e, long now) {
        if (e.errnoName().equals("ECONNRESET")) {
            resets++;
            unloggedResets++;
        } else {
            brokenPipes++;
            unloggedPipes++;
        }
        last = e.getMessage();
        long since = now - lastLog;
        if (!logged || since >= intervalNanos) return summary(now);
        if (!flushPending) {
            flushPending = true;                         // what comes in this interval is logged at its end
            flushDelay = intervalNanos - since;
        }
        return null;
    }

    /**
     * Starts, once per JVM, a daemon thread that runs the peer-error path on throwaway objects.
     *
     * <p>Why: otherwise the first reset or broken pipe of the process pays, on the loop thread and while it serves,
     * for linking that path: the errno name table, a strerror downcall stub, the string concatenations of the
     * exception and of the summary, and the timestamp of the default log line (about 20 hidden classes). On the HTTP
     * example that was a stall of 20-45 ms for every connection the loop held when a client first reset one
     * (benchmarks/RESULTS.md, "Tail latency"). Nothing is logged and no loop state is touched. {@link EventLoop}
     * calls this the first time it is about to wait with nothing to do, so that the thread's CPU takes nothing from
     * start-up work.
     */
    static void warmOnce() {
        if (!WARMED.compareAndSet(false, true)) return;
        try {
            Thread.ofPlatform().daemon().name("knot-warm-errors").start(PeerErrors::warm);
        } catch (Throwable noThread) {
            // out of threads or memory: the loop must not fail for an optimisation; the path links on first use
        }
    }

    /** {@return whether {@link #warmOnce} has started the warm-up in this JVM} (for tests) */
    static boolean warmStarted() {
        return WARMED.get();
    }

    private static void warm() {
        try {
            for (int errno : new int[] {Errno.ECONNRESET, Errno.EPIPE}) {
                ErrnoException e = new ErrnoException("recv(" + errno + ")", errno);
                PeerErrors p = new PeerErrors(null);
                synchronized (p.lock) {
                    long now = System.nanoTime();
                    p.record(e, now);                    // the first summary of a loop
                    p.record(e, now + p.intervalNanos);  // and a later one, with its interval (flush's shape too)
                }
            }
            String.valueOf(Instant.now());
        } catch (Throwable ignored) {
            // a warm-up that fails leaves the path to link on first use, as before
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
