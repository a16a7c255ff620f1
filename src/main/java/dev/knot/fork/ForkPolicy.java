// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

/**
 * What a spawned child gets of its parent's loop knotes. COPY is FreeBSD's KQUEUE_CPONFORK: knotes with their
 * state (pending events, timer schedules, disabled knotes), descriptor knotes only for descriptors the child is
 * handed. COPY_FD and COPY_NONFD are the split that FreeBSD's design discussion considered
 * (KQUEUE_CPONFORKFD / KQUEUE_CPONFORKNONFD) and did not ship. A key can opt out of every copying policy with
 * {@link dev.knot.loop.Key#copyOnFork(boolean)}.
 */
public enum ForkPolicy {
    /** Nothing: the child's kqueue starts empty (what BSD's fork does to a kqueue by default). */
    DROP,
    /** Every knote the child can have, with its state (KQUEUE_CPONFORK's promise). */
    COPY,
    /** Descriptor knotes only (READ, WRITE, VNODE on handed descriptors): listeners, not timers or signals. */
    COPY_FD,
    /** All but descriptor knotes: timers, user events, signals, processes. */
    COPY_NONFD;

    /** {@return true if this policy copies descriptor knotes (READ, WRITE, VNODE)} */
    public boolean copiesFdKnotes() {
        return this == COPY || this == COPY_FD;
    }

    /** {@return true if this policy copies the other knotes (TIMER, USER, SIGNAL, PROC)} */
    public boolean copiesNonFdKnotes() {
        return this == COPY || this == COPY_NONFD;
    }
}
