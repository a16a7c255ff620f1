// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.EventLoop;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * Native buffers of one size, shared by the {@link Connection}s of one event loop: a connection borrows a buffer
 * while it reads or while it has bytes queued, and gives it back as soon as it is idle, so an idle connection holds
 * no buffer at all and a loop's memory follows the connections that are busy, not those that are open.
 *
 * <p><b>Threading:</b> a pool belongs to its loop's thread; it is not synchronised. <b>Ownership:</b> buffers are
 * allocated in automatic arenas, so a buffer that is never given back (its connection closed abruptly by the
 * loop's shutdown) is freed by the garbage collector, and at most {@link #maxIdle()} idle buffers are kept.
 */
public final class BufferPool {
    /** The buffer size of {@link #of(EventLoop)}'s pools: 16 KiB. */
    public static final int DEFAULT_BUFFER_SIZE = 16 * 1024;
    /** How many idle buffers {@link #of(EventLoop)}'s pools keep: 256 (4 MiB). */
    public static final int DEFAULT_MAX_IDLE = 256;

    private static final Map<EventLoop, BufferPool> POOLS = new WeakHashMap<>();

    private final int bufferSize;
    private final int maxIdle;
    private final ArrayDeque<MemorySegment> idle = new ArrayDeque<>();
    private long borrowed;
    // Scratch for gathering writes of the pool's connections: they run on the pool's loop thread, one at a time.
    private final MemorySegment[] gather = new MemorySegment[16];

    /**
     * Creates a pool.
     *
     * @param bufferSize the size of every buffer, in bytes (at least 64)
     * @param maxIdle how many idle buffers to keep; more are left to the garbage collector
     * @throws IllegalArgumentException if {@code bufferSize < 64} or {@code maxIdle < 0}
     */
    public BufferPool(int bufferSize, int maxIdle) {
        if (bufferSize < 64) throw new IllegalArgumentException("buffer size " + bufferSize + " is below 64 bytes");
        if (maxIdle < 0) throw new IllegalArgumentException("maxIdle " + maxIdle + " is negative");
        this.bufferSize = bufferSize;
        this.maxIdle = maxIdle;
    }

    /**
     * {@return the pool of {@code loop}, created on first use with {@link #DEFAULT_BUFFER_SIZE} and
     * {@link #DEFAULT_MAX_IDLE}}
     *
     * @param loop the event loop whose connections share the pool
     */
    public static BufferPool of(EventLoop loop) {
        Objects.requireNonNull(loop, "loop");
        synchronized (POOLS) {
            return POOLS.computeIfAbsent(loop, l -> new BufferPool(DEFAULT_BUFFER_SIZE, DEFAULT_MAX_IDLE));
        }
    }

    /** {@return the size of every buffer, in bytes} */
    public int bufferSize() {
        return bufferSize;
    }

    /** {@return how many idle buffers the pool keeps at most} */
    public int maxIdle() {
        return maxIdle;
    }

    /** {@return a buffer of {@link #bufferSize()} bytes, with undefined contents; give it back with {@link #release}} */
    public MemorySegment borrow() {
        borrowed++;
        MemorySegment b = idle.pollFirst();
        return b != null ? b : Arena.ofAuto().allocate(bufferSize, 8);
    }

    /**
     * Gives back a buffer that {@link #borrow()} handed out; the caller must not touch it afterwards.
     *
     * @param buffer the buffer
     * @throws IllegalArgumentException if it is not one of this pool's size
     */
    public void release(MemorySegment buffer) {
        if (buffer.byteSize() != bufferSize) {
            throw new IllegalArgumentException("a buffer of " + buffer.byteSize() + " bytes is not from this pool");
        }
        borrowed--;
        if (idle.size() < maxIdle) idle.addFirst(buffer);     // most recently used first: still in cache
    }

    /** {@return how many buffers are borrowed now} */
    public long borrowed() {
        return borrowed;
    }

    /** The gathering-write scratch array of this pool's loop; entries are cleared after each use. */
    MemorySegment[] gather() {
        return gather;
    }

    /** {@return how many idle buffers the pool holds now} */
    public int idle() {
        return idle.size();
    }
}
