// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.IoOps;

/**
 * The interest a {@link KnotIoHandle} submits to its {@link io.netty.channel.IoRegistration}: readable, writable,
 * both or neither (the READ and WRITE knotes of its descriptor, enabled or disabled), optionally with
 * {@link #READ_EOF_BIT}, a watch for the peer's end of data while reading is off. The eight values are shared
 * constants, so changing interest allocates nothing.
 *
 * <p>Immutable and thread-safe.
 */
public final class KnotIoOps implements IoOps {
    /** Bit of {@link #value()}: wait for the descriptor to be readable (EVFILT_READ). */
    public static final int READ_BIT = 1;
    /** Bit of {@link #value()}: wait for the descriptor to be writable (EVFILT_WRITE). */
    public static final int WRITE_BIT = 2;
    /**
     * Bit of {@link #value()}: while {@link #READ_BIT} is off, still report the peer's FIN or a reset (an event with
     * {@link KnotIoEvent#READ_EOF}), as epoll's EPOLLRDHUP does; data arriving meanwhile wakes nobody. Ignored while
     * {@code READ_BIT} is on. See {@link dev.knot.loop.Key#watchReadEof}.
     */
    public static final int READ_EOF_BIT = 4;
    private static final int ALL_BITS = READ_BIT | WRITE_BIT | READ_EOF_BIT;

    /** No interest: both knotes disabled. */
    public static final KnotIoOps NONE = new KnotIoOps(0);
    /** Readable. */
    public static final KnotIoOps READ = new KnotIoOps(READ_BIT);
    /** Writable. */
    public static final KnotIoOps WRITE = new KnotIoOps(WRITE_BIT);
    /** Readable and writable. */
    public static final KnotIoOps READ_AND_WRITE = new KnotIoOps(READ_BIT | WRITE_BIT);

    private static final KnotIoOps[] ALL = {NONE, READ, WRITE, READ_AND_WRITE,
            new KnotIoOps(READ_EOF_BIT), new KnotIoOps(READ_EOF_BIT | READ_BIT), new KnotIoOps(READ_EOF_BIT | WRITE_BIT),
            new KnotIoOps(ALL_BITS)};

    private final int value;

    private KnotIoOps(int value) {
        this.value = value;
    }

    /**
     * The shared instance for a combination of {@link #READ_BIT}, {@link #WRITE_BIT} and {@link #READ_EOF_BIT}.
     *
     * @param value the bits
     * @return the instance
     * @throws IllegalArgumentException if other bits are set
     */
    public static KnotIoOps valueOf(int value) {
        if ((value & ~ALL_BITS) != 0) throw new IllegalArgumentException("ops 0x" + Integer.toHexString(value) + " has bits other than READ_BIT, WRITE_BIT and READ_EOF_BIT");
        return ALL[value];
    }

    /**
     * The interest as bits.
     *
     * @return the bits: {@link #READ_BIT}, {@link #WRITE_BIT}, {@link #READ_EOF_BIT}
     */
    public int value() {
        return value;
    }

    /**
     * Whether these ops include {@code bits}.
     *
     * @param bits {@link #READ_BIT}, {@link #WRITE_BIT} and/or {@link #READ_EOF_BIT}
     * @return true if all of {@code bits} are set
     */
    public boolean contains(int bits) {
        return (value & bits) == bits;
    }

    /**
     * These ops and more.
     *
     * @param bits bits to add
     * @return these ops with {@code bits} added
     */
    public KnotIoOps with(int bits) {
        return valueOf(value | bits);
    }

    /**
     * These ops and less.
     *
     * @param bits bits to remove
     * @return these ops with {@code bits} removed
     */
    public KnotIoOps without(int bits) {
        return valueOf(value & ~bits);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("KnotIoOps[");
        if ((value & READ_BIT) != 0) b.append("READ");
        if ((value & WRITE_BIT) != 0) b.append(b.length() > 10 ? "|" : "").append("WRITE");
        if ((value & READ_EOF_BIT) != 0) b.append(b.length() > 10 ? "|" : "").append("READ_EOF");
        return b.append(']').toString();
    }
}
