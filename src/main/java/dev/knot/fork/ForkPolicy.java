package dev.knot.fork;

/** What a spawned child gets of its parent's loop registrations. */
public enum ForkPolicy {
    /** Nothing: the child's kqueue starts empty (what BSD's fork does to a kqueue by default). */
    DROP,
    /** Everything: the child starts with the parent's registrations (KQUEUE_CPONFORK's promise). */
    COPY
}
