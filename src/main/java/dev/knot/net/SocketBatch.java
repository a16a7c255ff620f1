// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.sys.ErrnoException;
import dev.knot.sys.Platform;
import dev.knot.system.ErrnoValues;
import dev.knot.system.Sockets;
import dev.knot.system.Uring;

import java.io.IOException;

/**
 * Writes and reads of many stream sockets handed to the kernel in one system call, as a kevent changelist is: queue
 * them with {@link #writev} and {@link #recv}, {@link #submit()} the batch, then take each one's result. On Linux the
 * batch goes through io_uring ({@code IORING_OP_WRITEV}, {@code IORING_OP_RECV} with {@code MSG_DONTWAIT}): each
 * operation runs at submission and never waits, so a full send buffer or an empty receive queue comes back as 0
 * bytes, exactly as the direct calls report them. Where io_uring is unavailable, {@link #batched()} is false and
 * callers should make the direct calls instead (a batch still works then, one call per operation).
 *
 * <p><b>Ownership:</b> the batch owns its ring (taken from the process's pool) and its iovec array until
 * {@link #close()}; the memory that queued operations name stays the caller's and must stay valid until
 * {@link #submit()} returns. <b>Threading:</b> one thread at a time (an event loop's). <b>Errors:</b> queueing past
 * {@link #room()} is an {@link IllegalStateException}; a failed operation's error is thrown by its result method as
 * the {@link ErrnoException} the direct call would have thrown.
 */
public final class SocketBatch implements AutoCloseable {
    /** Iovecs one queued writev may use. */
    public static final int IOV_PER_WRITE = 16;

    private static final int MAX_OPS = 64;

    private final Uring ring;
    private final IoVecArray iovecs;
    private final int capacity;
    private final StreamSocket[] sockets;
    private final long[] addresses;                       // recv: the buffer; writev: the first iovec's index
    private final int[] lengths;                          // recv: the buffer's length; writev: the iovec count
    private final boolean[] reads;
    private final long[] done;                            // the direct calls' results where there is no ring
    private int count;
    private boolean closed;

    private SocketBatch(Uring ring) {
        this.ring = ring;
        // At most 64 ops: a ring may have more slots (the kqueues' rings hold 256 changes and a wait), and 64 ops of
        // IOV_PER_WRITE iovecs fill the 1,024 iovecs one array may hold.
        this.capacity = ring != null ? Math.min(ring.capacity(), MAX_OPS) : MAX_OPS;
        this.iovecs = IoVecArray.allocate(capacity * IOV_PER_WRITE);
        this.sockets = new StreamSocket[capacity];
        this.addresses = new long[capacity];
        this.lengths = new int[capacity];
        this.reads = new boolean[capacity];
        this.done = new long[capacity];
    }

    /**
     * Opens a batch: through io_uring where this kernel runs socket writes and reads through it (and
     * {@code -Dknot.uring=false} does not say otherwise), else one that makes the direct calls.
     *
     * @return the batch, owned by the caller
     */
    public static SocketBatch open() {
        Uring r = Platform.CURRENT == Platform.LINUX ? Uring.acquire() : null;
        if (r != null && !r.socketIo()) {
            Uring.release(r);
            r = null;
        }
        try {
            return new SocketBatch(r);
        } catch (RuntimeException | Error e) {
            if (r != null) Uring.release(r);                  // the ring goes back to the pool, not lost with us
            throw e;
        }
    }

    /**
     * Whether the batch saves system calls: true when it goes through io_uring.
     *
     * @return true if {@link #submit()} is one system call for the whole batch
     */
    public boolean batched() {
        return ring != null;
    }

    /**
     * How many more operations this batch takes before it must be submitted.
     *
     * @return room left, 0 when full
     */
    public int room() {
        return capacity - count;
    }

    /**
     * How many operations are queued.
     *
     * @return the number queued since the last {@link #submit()}
     */
    public int size() {
        return count;
    }

    /**
     * The iovecs for the next {@link #writev}: entries {@code iovBase()} to {@code iovBase() + IOV_PER_WRITE - 1}
     * of this array are the next operation's to fill.
     *
     * @return the batch's iovec array (the batch owns it)
     */
    public IoVecArray iovecs() {
        return iovecs;
    }

    /**
     * The first iovec entry of the next {@link #writev}.
     *
     * @return an index into {@link #iovecs()}
     */
    public int iovBase() {
        return count * IOV_PER_WRITE;
    }

    /**
     * Queues a gathering write of {@code iovCount} entries from {@link #iovBase()}, which the caller filled.
     *
     * @param socket the socket to write to
     * @param iovCount 1 to {@link #IOV_PER_WRITE}
     * @return the operation's index, for {@link #writeResult}
     * @throws IllegalStateException if the batch is full or closed
     * @throws IllegalArgumentException if {@code iovCount} is out of range
     */
    public int writev(StreamSocket socket, int iovCount) {
        if (iovCount < 1 || iovCount > IOV_PER_WRITE) throw new IllegalArgumentException("iovCount " + iovCount + " is not in 1.." + IOV_PER_WRITE);
        return queue(socket, iovBase(), iovCount, false);
    }

    /**
     * Queues a read of at most {@code length} bytes into native memory at {@code address}, which the caller owns.
     *
     * @param socket the socket to read from
     * @param address the first byte to fill
     * @param length at most this many bytes, at least 1
     * @return the operation's index, for {@link #readResult}
     * @throws IllegalStateException if the batch is full or closed
     * @throws IllegalArgumentException if {@code length} is not positive
     */
    public int recv(StreamSocket socket, long address, int length) {
        if (length <= 0) throw new IllegalArgumentException("length " + length + " is not positive");
        return queue(socket, address, length, true);
    }

    private int queue(StreamSocket socket, long address, int length, boolean read) {
        if (closed) throw new IllegalStateException("socket batch closed");
        if (count == capacity) throw new IllegalStateException("socket batch full (" + capacity + ")");
        int i = count++;
        sockets[i] = socket;
        addresses[i] = address;
        lengths[i] = length;
        reads[i] = read;
        return i;
    }

    /**
     * Hands every queued operation to the kernel: one io_uring_enter for the batch when {@link #batched()}, else one
     * direct call each. Afterwards the result methods give each outcome until the next operation is queued.
     */
    public void submit() {
        int n = count;
        if (n == 0) return;
        if (ring == null || n == 1) {
            // One operation alone is one system call either way, and the direct call is the cheaper one.
            for (int i = 0; i < n; i++) done[i] = direct(i);
            return;
        }
        for (int i = 0; i < n; i++) {
            int fd = sockets[i].isOpen() ? sockets[i].fd : -1;
            if (reads[i]) {
                ring.recv(fd, addresses[i], lengths[i]);
            } else {
                ring.writev(fd, iovecs.segment().address() + addresses[i] * Sockets.IOVEC_SIZE, lengths[i]);
            }
        }
        ring.submit();
        for (int i = 0; i < n; i++) {
            int r = ring.bytes(i);
            done[i] = r == Integer.MIN_VALUE ? direct(i) : r;
        }
    }

    /** The direct call for operation {@code i}: as the ring reports it, bytes or minus an errno. */
    private long direct(int i) {
        StreamSocket s = sockets[i];
        if (!s.isOpen()) return -ErrnoValues.EBADF;
        try {
            long r = reads[i] ? Sockets.recvAddress(s.fd, addresses[i], lengths[i])
                    : Sockets.writevAddress(s.fd, iovecs.segment().address() + addresses[i] * Sockets.IOVEC_SIZE, lengths[i]);
            return r == Sockets.WOULD_BLOCK ? -ErrnoValues.EAGAIN : r;
        } catch (ErrnoException e) {
            return -e.errno();
        }
    }

    /**
     * The outcome of the write queued as operation {@code i} of the last submitted batch.
     *
     * @param i the index {@link #writev} returned
     * @return bytes the kernel took; 0 if its send buffer was full
     * @throws IOException EPIPE, ECONNRESET... as the direct writev reports them
     */
    public long writeResult(int i) throws IOException {
        java.util.Objects.checkIndex(i, count);
        long r = done[i];
        if (r >= 0) return r;
        if (r == -ErrnoValues.EAGAIN) return 0;
        throw new ErrnoException("writev(" + sockets[i].fd + ")", (int) -r);
    }

    /**
     * The outcome of the read queued as operation {@code i} of the last submitted batch.
     *
     * @param i the index {@link #recv} returned
     * @return bytes read; 0 if none were available; -1 at end of stream
     * @throws IOException ECONNRESET and the like, as the direct read reports them
     */
    public int readResult(int i) throws IOException {
        java.util.Objects.checkIndex(i, count);
        long r = done[i];
        StreamSocket s = sockets[i];
        if (r > 0) return (int) r;
        if (r == -ErrnoValues.EAGAIN) return 0;
        if (r < 0) throw new ErrnoException("recv(" + s.fd + ")", (int) -r);
        return s.endOfStream();
    }

    /** Empties the batch for the next round of operations (the results of the last one are gone). */
    public void clear() {
        java.util.Arrays.fill(sockets, 0, count, null);
        count = 0;
    }

    /** Gives the ring back to the pool and frees the iovecs. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        clear();
        if (ring != null) Uring.release(ring);
        iovecs.close();
    }
}
