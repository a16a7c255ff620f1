package dev.knot.loop;

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
