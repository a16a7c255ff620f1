// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

/**
 * The bookkeeping behind a typical {@link WorkerApp#drain(Runnable)}: counts the app's open connections and, once
 * draining has started and the last one is closed, runs the drain's {@code done} callback exactly once.
 *
 * <p>The app calls {@link #opened()} and {@link #closed()} as connections come and go, and in its
 * {@code drain(done)} passes {@code done} to {@link #whenDone(Runnable)}, stops accepting (the first time
 * {@link #start()} returns true), closes its idle connections, then calls {@link #check()}; it calls
 * {@link #check()} again after each close, once the connection's own bookkeeping is done.
 *
 * <p>Threading: confined to the worker's loop thread, as {@link WorkerApp}'s methods are; not thread-safe.
 */
public final class Drain {
    private int open;
    private boolean draining;
    private Runnable done;

    /** A count of zero open connections, not draining. */
    public Drain() {}

    /** A connection was opened. */
    public void opened() {
        open++;
    }

    /**
     * A connection was closed; call {@link #check()} once the app has accounted for it.
     *
     * @throws IllegalStateException if no connection is open
     */
    public void closed() {
        if (open == 0) throw new IllegalStateException("closed() without a matching opened()");
        open--;
    }

    /** {@return the connections open now} */
    public int open() {
        return open;
    }

    /** {@return whether {@link #start()} was called} */
    public boolean draining() {
        return draining;
    }

    /**
     * Sets what {@link #check()} runs once nothing is open, replacing an earlier callback.
     *
     * @param done the drain's end, or null for none (drain without being told)
     */
    public void whenDone(Runnable done) {
        this.done = done;
    }

    /**
     * Starts draining.
     *
     * @return true the first time, when the app should stop accepting; false if it was draining already
     */
    public boolean start() {
        boolean first = !draining;
        draining = true;
        return first;
    }

    /** Runs the {@code done} callback, once, if draining and no connection is open; otherwise does nothing. */
    public void check() {
        if (draining && open == 0 && done != null) {
            Runnable r = done;
            done = null;
            r.run();
        }
    }
}
