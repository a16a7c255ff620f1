// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.system.KeventAbi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A flyweight over a native array of {@code struct kevent}, used as a changelist and as an eventlist.
 *
 * <p>The layout is the platform's own: FreeBSD's 64-byte {@code struct kevent} (with {@code ext[4]}) on FreeBSD
 * and on Linux, whose emulation reads and writes exactly that layout, and the 32-byte one on macOS. Offsets come
 * from the generated bindings.
 *
 * <p><b>Ownership:</b> {@link #allocate(int)} gives the array its own arena, freed by {@link #close()};
 * {@link #allocate(Arena, int)} places it in the caller's arena, which frees it, and {@link #close()} then only
 * marks the array unusable. <b>Threading:</b> an array is not synchronised; use it from one thread at a time
 * (the memory itself may be touched by any thread, so handing an array between threads is fine). Closing is
 * idempotent. <b>Errors:</b> an index outside {@code [0, capacity)} throws {@link IndexOutOfBoundsException}, a
 * field value that does not fit {@code struct kevent} throws {@link IllegalArgumentException}, and any use after
 * {@link #close()} throws {@link IllegalStateException}.
 */
public final class KeventArray implements AutoCloseable {
    private static final KeventAbi ABI = KeventAbi.CURRENT;

    /** {@code sizeof(struct kevent)} on this platform. */
    public static final long SIZEOF = ABI.sizeof();
    /** Byte offset of {@code ident}; the offsets are for code that walks {@link #segment()} itself. */
    public static final long IDENT = ABI.ident();
    /** Byte offset of {@code filter}. */
    public static final long FILTER = ABI.filter();
    /** Byte offset of {@code flags}. */
    public static final long FLAGS = ABI.flags();
    /** Byte offset of {@code fflags}. */
    public static final long FFLAGS = ABI.fflags();
    /** Byte offset of {@code data}. */
    public static final long DATA = ABI.data();
    /** Byte offset of {@code udata}. */
    public static final long UDATA = ABI.udata();
    /** Byte offset of FreeBSD's {@code ext[4]} ({@link #SIZEOF} on macOS, which has none). */
    public static final long EXT = ABI.ext();
    /** Size in bytes of FreeBSD's {@code ext[4]}; 0 on macOS. */
    public static final long EXT_SIZE = ABI.extSize();
    /** The largest capacity an array may have. */
    public static final int MAX_CAPACITY = (int) Math.min(Integer.MAX_VALUE, (1L << 31) / SIZEOF);

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    private final MemorySegment segment;
    private final int capacity;
    private final Arena ownArena;   // null when the caller's arena owns the memory
    private volatile boolean closed;

    private KeventArray(MemorySegment segment, int capacity, Arena ownArena) {
        this.segment = segment;
        this.capacity = capacity;
        this.ownArena = ownArena;
    }

    /**
     * Allocates a zeroed array of {@code capacity} kevents in its own arena, freed by {@link #close()}.
     *
     * @param capacity the number of kevents, in {@code [0, MAX_CAPACITY]}
     * @return the new array, owned by the caller
     * @throws IllegalArgumentException if {@code capacity} is negative or above {@link #MAX_CAPACITY}
     */
    public static KeventArray allocate(int capacity) {
        checkCapacity(capacity);
        Arena arena = Arena.ofShared();
        try {
            return new KeventArray(arena.allocate(SIZEOF * Math.max(capacity, 1), 8), capacity, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Allocates a zeroed array of {@code capacity} kevents in {@code arena}, which owns and frees the memory.
     *
     * @param arena the arena that allocates and frees the memory
     * @param capacity the number of kevents, in {@code [0, MAX_CAPACITY]}
     * @return the new array, owned by the caller
     * @throws IllegalArgumentException if {@code capacity} is negative or above {@link #MAX_CAPACITY}
     * @throws NullPointerException if {@code arena} is null
     */
    public static KeventArray allocate(Arena arena, int capacity) {
        Objects.requireNonNull(arena, "arena");
        checkCapacity(capacity);
        return new KeventArray(arena.allocate(SIZEOF * Math.max(capacity, 1), 8), capacity, null);
    }

    private static void checkCapacity(int capacity) {
        if (capacity < 0 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("KeventArray capacity " + capacity + " is outside [0, " + MAX_CAPACITY + "]");
        }
    }

    /** {@return the number of kevents the array holds} */
    public int capacity() {
        return capacity;
    }

    /** {@return the native memory: {@code capacity() * SIZEOF} bytes (at least one entry's worth) in the platform layout} */
    public MemorySegment segment() {
        ensureOpen();
        return segment;
    }

    /** {@return true until {@link #close()}} */
    public boolean isOpen() {
        return !closed;
    }

    /**
     * Sets entry {@code i} like {@code EV_SET}: all six fields, and FreeBSD's {@code ext[]} zeroed.
     *
     * @param i the entry's index, in {@code [0, capacity())}
     * @param ident the identifier: a descriptor, pid, signal number or timer/user id
     * @param filter a filter number; must fit a C {@code short}
     * @param flags the {@code EV_*} flags; must fit an {@code unsigned short}
     * @param fflags the filter flags, all 32 bits
     * @param data filter-specific data (a timer period, a NOTE_LOWAT mark, ...)
     * @param udata opaque user data, returned with each event
     * @return this array, for chaining
     * @throws IndexOutOfBoundsException if {@code i} is outside {@code [0, capacity())}
     * @throws IllegalArgumentException if {@code filter} or {@code flags} do not fit their C types
     * @throws IllegalStateException if the array is closed
     */
    public KeventArray set(int i, long ident, int filter, int flags, int fflags, long data, long udata) {
        long base = offset(i);
        if (filter < Short.MIN_VALUE || filter > Short.MAX_VALUE) {
            throw new IllegalArgumentException("filter " + filter + " does not fit struct kevent's short filter");
        }
        if ((flags & ~0xFFFF) != 0) {
            throw new IllegalArgumentException("flags 0x" + Integer.toHexString(flags) + " do not fit struct kevent's unsigned short flags");
        }
        segment.set(LONG, base + IDENT, ident);
        segment.set(SHORT, base + FILTER, (short) filter);
        segment.set(SHORT, base + FLAGS, (short) flags);
        segment.set(INT, base + FFLAGS, fflags);
        segment.set(LONG, base + DATA, data);
        segment.set(LONG, base + UDATA, udata);
        for (long k = 0; k < EXT_SIZE; k += 8) segment.set(LONG, base + EXT + k, 0L);   // EV_SET zeroes ext[]
        return this;
    }

    /**
     * {@return the ident of entry {@code i}, as an unsigned {@code uintptr_t} in a long}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public long ident(int i) {
        return segment.get(LONG, offset(i) + IDENT);
    }

    /**
     * {@return the filter of entry {@code i}, sign-extended}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public int filter(int i) {
        return segment.get(SHORT, offset(i) + FILTER);
    }

    /**
     * {@return the flags of entry {@code i}, unsigned 16-bit}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public int flags(int i) {
        return Short.toUnsignedInt(segment.get(SHORT, offset(i) + FLAGS));
    }

    /**
     * {@return the filter flags of entry {@code i}}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public int fflags(int i) {
        return segment.get(INT, offset(i) + FFLAGS);
    }

    /**
     * {@return the data of entry {@code i}}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public long data(int i) {
        return segment.get(LONG, offset(i) + DATA);
    }

    /**
     * {@return the udata of entry {@code i}, as the pointer's bits}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public long udata(int i) {
        return segment.get(LONG, offset(i) + UDATA);
    }

    /**
     * {@return FreeBSD's {@code ext[k]} of entry {@code i} ({@code k} in 0..3); always 0 on macOS}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     * @param k which of the four {@code ext} words, 0 to 3
     */
    public long ext(int i, int k) {
        long base = offset(i);
        if (EXT_SIZE == 0) return 0;
        Objects.checkIndex(k, (int) (EXT_SIZE / 8));
        return segment.get(LONG, base + EXT + 8L * k);
    }

    /**
     * {@return entry {@code i} in a readable form, e.g.
     * {@code {ident=5, EVFILT_READ, EV_ADD|EV_CLEAR, fflags=0x0, data=3, udata=0x0}}}
     *
     * @param i the entry's index, in {@code [0, capacity())}
     */
    public String toString(int i) {
        return "{ident=" + ident(i) + ", " + Kevent.filterName(filter(i)) + ", " + Kevent.flagsToString(flags(i))
                + ", fflags=0x" + Integer.toHexString(fflags(i)) + ", data=" + data(i) + ", udata=0x" + Long.toHexString(udata(i)) + "}";
    }

    @Override
    public String toString() {
        return "KeventArray[capacity=" + capacity + (closed ? ", closed" : "") + "]";
    }

    private long offset(int i) {
        ensureOpen();
        return Objects.checkIndex(i, capacity) * SIZEOF;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("KeventArray is closed");
    }

    /** Frees the memory if this array owns it and makes the array unusable. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        if (ownArena != null) ownArena.close();
    }
}
