// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Many coarse timeouts on one {@link EventLoop}: a hashed timing wheel (Varghese and Lauck) for idle and read
 * timeouts of connections, where almost every timeout is pushed back before it expires.
 *
 * <p>Cost: a tick visits one bucket, never every timeout, so a loop holding many idle connections pays per tick
 * only for the timeouts that fall due in it. {@link Timeout#schedule} is O(1) and usually a single field write:
 * pushing a deadline later leaves the timeout in its bucket, and the tick that reaches it moves it on (the
 * "touched only on expiry and reset" rule). Nothing is allocated per schedule or per tick; the wheel runs one
 * loop timer, and only while it holds timeouts.
 *
 * <p>Resolution: a timeout fires at the first tick at or after its deadline, so up to one tick late (and later if the
 * loop is busy). Deadlines further away than a revolution ({@code tick x buckets}) are revisited once per revolution.
 *
 * <p><b>Threading:</b> loop thread only, like the loop's keys. <b>Errors:</b> an exception thrown by an expiry action
 * goes to the loop's error handler ({@link EventLoop#report}) and the other timeouts still fire.
 */
public final class TimeoutWheel {
    private final EventLoop loop;
    private final long tickNanos;
    private final Timeout[] buckets;                  // sentinels of circular doubly-linked lists
    private final int mask;
    private final Timeout expiring = new Timeout(null, null);
    private long cursor;                              // the last tick processed
    private int size;
    private Timer ticker;

    /**
     * Creates a wheel on {@code loop}.
     *
     * @param loop the loop whose thread schedules, cancels and runs the timeouts
     * @param tick the resolution, at least a millisecond
     * @param unit the unit of {@code tick}
     * @param buckets the number of buckets, rounded up to a power of two
     * @throws IllegalArgumentException if the tick is under a millisecond or buckets is not positive
     */
    public TimeoutWheel(EventLoop loop, long tick, TimeUnit unit, int buckets) {
        this.loop = Objects.requireNonNull(loop, "loop");
        this.tickNanos = unit.toNanos(tick);
        if (tickNanos < 1_000_000) throw new IllegalArgumentException("tick " + tick + " " + unit + " is under a millisecond");
        if (buckets <= 0 || buckets > (1 << 24)) throw new IllegalArgumentException("buckets " + buckets + " is not in [1, 2^24]");
        int n = Integer.highestOneBit(buckets);
        if (n < buckets) n <<= 1;
        this.buckets = new Timeout[n];
        for (int i = 0; i < n; i++) this.buckets[i] = new Timeout(null, null);
        this.mask = n - 1;
        this.cursor = Math.floorDiv(System.nanoTime(), tickNanos);
    }

    /**
     * A new timeout, not scheduled yet: one per connection, reused for every deadline it will ever have.
     *
     * @param onExpiry what runs on the loop thread when the deadline passes
     * @return the timeout
     */
    public Timeout newTimeout(Runnable onExpiry) {
        return new Timeout(this, Objects.requireNonNull(onExpiry, "onExpiry"));
    }

    /**
     * Timeouts scheduled now.
     *
     * @return their number
     */
    public int size() {
        return size;
    }

    /** A deadline and the action it triggers; see {@link TimeoutWheel}. Loop thread only. */
    public static final class Timeout {
        private final TimeoutWheel wheel;
        private final Runnable action;
        private Timeout prev = this, next = this;
        private long deadline;
        private long bucketTick;                      // the tick whose bucket holds this timeout
        private boolean scheduled;

        private Timeout(TimeoutWheel wheel, Runnable action) {
            this.wheel = wheel;
            this.action = action;
        }

        /**
         * Sets the deadline (replacing any earlier one); the action runs once, at the first tick after it.
         *
         * @param deadlineNanos a {@link System#nanoTime()} value
         */
        public void schedule(long deadlineNanos) {
            TimeoutWheel w = wheel;
            deadline = deadlineNanos;
            if (scheduled) {
                // Later than its bucket: stay, the bucket's tick moves it on. Earlier: move now.
                if (w.tickOf(deadlineNanos) >= bucketTick) return;
                unlink();
            } else {
                scheduled = true;
                w.added();
            }
            w.insert(this);
        }

        /**
         * Sets the deadline {@code delay} from now.
         *
         * @param delay how long from now
         * @param unit its unit
         */
        public void scheduleIn(long delay, TimeUnit unit) {
            schedule(System.nanoTime() + unit.toNanos(delay));
        }

        /** Cancels the deadline, if any; the timeout may be scheduled again. */
        public void cancel() {
            if (!scheduled) return;
            scheduled = false;
            unlink();
            wheel.size--;
        }

        /**
         * Whether a deadline is set.
         *
         * @return true between {@link #schedule} and expiry or {@link #cancel()}
         */
        public boolean isScheduled() {
            return scheduled;
        }

        /**
         * The deadline last set.
         *
         * @return a {@link System#nanoTime()} value
         */
        public long deadlineNanos() {
            return deadline;
        }

        private void unlink() {
            prev.next = next;
            next.prev = prev;
            prev = next = this;
        }

        private void linkBefore(Timeout sentinel) {
            prev = sentinel.prev;
            next = sentinel;
            sentinel.prev.next = this;
            sentinel.prev = this;
        }
    }

    /** The first tick at or after t (ceiling), but never one already processed. */
    private long tickOf(long t) {
        return Math.max(-Math.floorDiv(-t, tickNanos), cursor + 1);
    }

    private void insert(Timeout t) {
        long tick = tickOf(t.deadline);
        t.bucketTick = tick;
        t.linkBefore(buckets[(int) (tick & mask)]);
    }

    private void added() {
        if (size++ == 0 && ticker == null) {
            long ms = TimeUnit.NANOSECONDS.toMillis(tickNanos);
            ticker = loop.scheduleAtFixedRate(this::tick, ms, ms, TimeUnit.MILLISECONDS);
        }
    }

    private void tick() {
        long now = System.nanoTime();
        long target = Math.floorDiv(now, tickNanos);
        long from = cursor + 1;
        // After a long stall, one visit of every bucket checks every timeout.
        long last = Math.min(target, from + buckets.length - 1);
        for (long t = from; t <= last; t++) {
            Timeout b = buckets[(int) (t & mask)];
            if (b.next == b) continue;
            // Move the bucket aside first: actions may schedule, cancel and re-arm timeouts, this one's included.
            Timeout e = expiring;
            e.next = b.next;
            e.prev = b.prev;
            b.next.prev = e;
            b.prev.next = e;
            b.next = b.prev = b;
            cursor = target;                          // re-inserted timeouts go beyond this tick
            Timeout x;
            while ((x = e.next) != e) {
                x.unlink();
                if (x.deadline - now <= 0) {
                    x.scheduled = false;
                    size--;
                    try {
                        x.action.run();
                    } catch (Throwable err) {
                        loop.report(err);
                    }
                } else {
                    insert(x);
                }
            }
        }
        cursor = target;
        if (size == 0 && ticker != null) {
            ticker.cancel();
            ticker = null;
        }
    }
}
