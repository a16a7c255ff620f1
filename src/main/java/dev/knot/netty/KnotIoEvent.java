// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.IoEvent;

/**
 * What one select found for a {@link KnotIoHandle}: readable, writable, end of file on either side, or a failed
 * registration. Instances are shared constants (one per combination of bits), so dispatching allocates nothing;
 * compare with {@link #ops()}, never by identity.
 *
 * <p>Immutable and thread-safe.
 */
public final class KnotIoEvent implements IoEvent {
    /** The descriptor is readable (or at end of file: a read will say). */
    public static final int READABLE = 1;
    /** The descriptor is writable (or a non-blocking connect completed, in success or failure). */
    public static final int WRITABLE = 2;
    /** EV_EOF on the READ knote: the peer sends no more; drain, then close or half-close. */
    public static final int READ_EOF = 4;
    /** EV_EOF on the WRITE knote: the peer takes no more. */
    public static final int WRITE_EOF = 8;
    /** Adding a knote for the descriptor failed (for example it was closed); the next read or write says why. */
    public static final int ERROR = 16;

    private static final KnotIoEvent[] ALL = new KnotIoEvent[32];

    static {
        for (int i = 0; i < ALL.length; i++) ALL[i] = new KnotIoEvent(i);
    }

    private final int ops;

    private KnotIoEvent(int ops) {
        this.ops = ops;
    }

    static KnotIoEvent of(int ops) {
        return ALL[ops & 31];
    }

    /**
     * What was found.
     *
     * @return the bits: {@link #READABLE}, {@link #WRITABLE}, {@link #READ_EOF}, {@link #WRITE_EOF}, {@link #ERROR}
     */
    public int ops() {
        return ops;
    }

    @Override
    public String toString() {
        return "KnotIoEvent[0x" + Integer.toHexString(ops) + "]";
    }
}
