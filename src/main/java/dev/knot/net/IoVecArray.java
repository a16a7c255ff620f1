// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.system.Sockets;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A reusable native {@code struct iovec[]} for {@link StreamSocket#write(IoVecArray, int)}: pieces of native memory
 * given by address and length, so that a gathering write of many buffers costs one writev and no allocation.
 *
 * <p><b>Ownership:</b> the array owns its native memory until {@link #close()}; the memory the entries point to stays
 * the caller's and must stay valid until the write returns. <b>Threading:</b> confined to one thread at a time (an
 * event loop's). <b>Errors:</b> out-of-range indices and negative lengths are {@link IndexOutOfBoundsException}s and
 * {@link IllegalArgumentException}s; use after close is an {@link IllegalStateException}.
 */
public final class IoVecArray implements AutoCloseable {
    /** The most entries one writev takes (IOV_MAX). */
    public static final int IOV_MAX = Sockets.IOV_MAX;

    private final Arena arena;
    private final MemorySegment segment;
    private final int capacity;

    private IoVecArray(int capacity) {
        this.arena = Arena.ofShared();
        this.capacity = capacity;
        this.segment = arena.allocate(Sockets.IOVEC_SIZE * capacity, 8);
    }

    /**
     * Allocates an array of {@code capacity} entries.
     *
     * @param capacity 1 to {@link #IOV_MAX}
     * @return the array, owned by the caller
     * @throws IllegalArgumentException if {@code capacity} is out of range
     */
    public static IoVecArray allocate(int capacity) {
        if (capacity < 1 || capacity > IOV_MAX) throw new IllegalArgumentException("capacity " + capacity + " is not in 1.." + IOV_MAX);
        return new IoVecArray(capacity);
    }

    /**
     * The size of the array.
     *
     * @return the number of entries
     */
    public int capacity() {
        return capacity;
    }

    /**
     * Sets entry {@code i}.
     *
     * @param i the index, {@code 0 <= i < capacity()}
     * @param address the first byte of the piece
     * @param length its length in bytes, not negative
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     * @throws IllegalArgumentException if {@code length} is negative
     */
    public void set(int i, long address, long length) {
        Objects.checkIndex(i, capacity);
        if (length < 0) throw new IllegalArgumentException("length " + length + " is negative");
        long base = i * Sockets.IOVEC_SIZE;
        segment.set(ValueLayout.JAVA_LONG, base + Sockets.IOVEC_BASE, address);
        segment.set(ValueLayout.JAVA_LONG, base + Sockets.IOVEC_LEN, length);
    }

    MemorySegment segment() {
        return segment;
    }

    /** Frees the native memory. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
