// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import dev.knot.system.DeadlineHeap;

/**
 * A task scheduled on an {@link EventLoop}: once at a deadline, or repeatedly at a fixed rate. Deadlines are
 * {@link System#nanoTime()} values; timers with equal deadlines run in the order they were scheduled.
 * {@link #cancel()} may be called from any thread.
 */
public final class Timer {
    final Runnable task;
    long deadline;
    final long period;
    long seq;
    int index = -1;
    volatile boolean cancelled;
    EventLoop loop;

    /** Where the loop's {@link DeadlineHeap} keeps a timer's place. */
    static final DeadlineHeap.Access<Timer> HEAP_ACCESS = new DeadlineHeap.Access<>() {
        @Override public long deadline(Timer t) { return t.deadline; }
        @Override public int index(Timer t) { return t.index; }
        @Override public void index(Timer t, int i) { t.index = i; }
        @Override public long seq(Timer t) { return t.seq; }
        @Override public void seq(Timer t, long seq) { t.seq = seq; }
    };

    Timer(Runnable task, long deadline, long period) {
        this.task = java.util.Objects.requireNonNull(task, "task");
        this.deadline = deadline;
        this.period = period;
    }

    /** Stops the timer: it does not run again (a run in progress finishes). */
    public void cancel() {
        cancelled = true;
        if (loop != null) loop.cancel(this);
    }

    /** {@return true once {@link #cancel()} was called} */
    public boolean isCancelled() {
        return cancelled;
    }

    /** {@return the next deadline, in {@link System#nanoTime()} terms} */
    public long deadlineNanos() {
        return deadline;
    }

    /** {@return the period in nanoseconds, 0 for a one-shot timer} */
    public long periodNanos() {
        return period;
    }
}
