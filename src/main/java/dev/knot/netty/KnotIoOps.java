// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.IoOps;

/**
 * The interest a {@link KnotIoHandle} submits to its {@link io.netty.channel.IoRegistration}: readable, writable,
 * both or neither (the READ and WRITE knotes of its descriptor, enabled or disabled). The four values are shared
 * constants, so changing interest allocates nothing.
 *
 * <p>Immutable and thread-safe.
 */
public final class KnotIoOps implements IoOps {
    /** Bit of {@link #value()}: wait for the descriptor to be readable (EVFILT_READ). */
    public static final int READ_BIT = 1;
    /** Bit of {@link #value()}: wait for the descriptor to be writable (EVFILT_WRITE). */
    public static final int WRITE_BIT = 2;

    /** No interest: both knotes disabled. */
    public static final KnotIoOps NONE = new KnotIoOps(0);
    /** Readable. */
    public static final KnotIoOps READ = new KnotIoOps(READ_BIT);
    /** Writable. */
    public static final KnotIoOps WRITE = new KnotIoOps(WRITE_BIT);
    /** Readable and writable. */
    public static final KnotIoOps READ_AND_WRITE = new KnotIoOps(READ_BIT | WRITE_BIT);

    private static final KnotIoOps[] ALL = {NONE, READ, WRITE, READ_AND_WRITE};

    private final int value;

    private KnotIoOps(int value) {
        this.value = value;
    }

    /**
     * The shared instance for a combination of {@link #READ_BIT} and {@link #WRITE_BIT}.
     *
     * @param value the bits
     * @return the instance
     * @throws IllegalArgumentException if other bits are set
     */
    public static KnotIoOps valueOf(int value) {
        if ((value & ~(READ_BIT | WRITE_BIT)) != 0) throw new IllegalArgumentException("ops 0x" + Integer.toHexString(value) + " has bits other than READ_BIT and WRITE_BIT");
        return ALL[value];
    }

    /**
     * The interest as bits.
     *
     * @return the bits: {@link #READ_BIT}, {@link #WRITE_BIT}
     */
    public int value() {
        return value;
    }

    /**
     * Whether these ops include {@code bits}.
     *
     * @param bits {@link #READ_BIT} and/or {@link #WRITE_BIT}
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
        return "KnotIoOps[" + ((value & READ_BIT) != 0 ? "READ" : "") + (value == READ_AND_WRITE.value ? "|" : "")
                + ((value & WRITE_BIT) != 0 ? "WRITE" : "") + "]";
    }
}
