// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * A buffered connection on an {@link EventLoop}: a {@link StreamSocket} with a write queue, water marks, read
 * pausing and a graceful close, so that a handler only says what to do with the bytes that arrive.
 *
 * <p><b>Writing:</b> {@link #write(MemorySegment)} (and its {@code byte[]} and {@code ByteBuffer} forms, heap or
 * native) never blocks and never refuses bytes: what the kernel does not take at once is copied into the write
 * queue, WRITE interest is turned on until the queue is empty, and the queue is flushed as the socket drains.
 * When the queue grows above the high water mark the connection becomes unwritable ({@link #isWritable()} false,
 * {@link Handler#onWritabilityChanged} with {@code false}); when it drains to the low water mark it becomes writable
 * again. A producer that stops writing while unwritable holds at most the high mark plus its last write.
 *
 * <p><b>Batched I/O:</b> where io_uring runs socket I/O (Linux; not with {@code -Dknot.net.batch=false}), the
 * connections of a loop that are ready together are read in one system call before their handlers run, and what
 * those handlers write is queued and sent in one more once they have all returned. A write in {@code onData} then
 * leaves when the run's handlers are done, not inside the call: a handler must not block its loop waiting for the
 * peer's answer to it. Writes from tasks, timers and a lone ready connection are direct calls, as everywhere else.
 *
 * <p><b>Reading:</b> each READ readiness makes one read into a buffer borrowed from the loop's
 * {@link BufferPool}, handed to {@link Handler#onData} and given back right after, so an idle connection holds no
 * buffer (neither does an empty write queue). {@link #pauseReading()} drops READ interest, {@link #resumeReading()}
 * restores it: the kernel's receive buffer and TCP flow control then hold the peer back.
 *
 * <p><b>Closing:</b> {@link #close()} stops reading, flushes the queue, then closes; {@link #closeNow()} drops the
 * queue and closes at once. {@link Handler#onClose} is called exactly once, with a {@link CloseReason} that tells a
 * local close from the peer's end of stream, a reset or EPIPE ({@link CloseReason#PEER_RESET}: routine on a server,
 * not printed anywhere) and real errors. The loop's shutdown closes its connections at once.
 *
 * <p><b>Threading:</b> a connection belongs to its loop's thread: create it there (in an accept handler, or before
 * the loop runs) and call its methods there; other threads hand work over with {@link EventLoop#execute}.
 * <b>Ownership:</b> the connection owns its socket; the bytes passed to {@code write} stay the caller's (they are
 * copied or written before the call returns).
 */
public final class Connection {
    /** Why a connection closed. */
    public enum CloseReason {
        /** {@link #close()} or {@link #closeNow()} was called (or the loop shut down) while input was still open. */
        LOCAL,
        /** The peer ended its stream first (end of input), then the connection was closed. */
        PEER_CLOSED,
        /** The peer or the network dropped the connection: ECONNRESET, EPIPE or ECONNABORTED. */
        PEER_RESET,
        /** Any other failure: another errno, or an exception thrown by the handler. */
        ERROR
    }

    /** What a connection calls, on its loop's thread. Only {@link #onData} must be implemented. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Bytes arrived.
         *
         * @param connection the connection they arrived on
         * @param data the bytes, valid only during this call (copy what must outlive it; {@code data.asByteBuffer()}
         *             and {@code data.toArray(ValueLayout.JAVA_BYTE)} give heap-friendly views and copies)
         * @throws Exception anything: the connection is then closed with {@link CloseReason#ERROR} and the
         *         exception goes to the loop's error handler
         */
        void onData(Connection connection, MemorySegment data) throws Exception;

        /**
         * The peer ended its stream (it closed or shut down its output). The default closes the connection
         * gracefully: what is queued is sent first.
         *
         * @param connection the connection whose input ended
         * @throws Exception as for {@link #onData}
         */
        default void onEndOfInput(Connection connection) throws Exception {
            connection.close();
        }

        /**
         * The connection crossed a water mark: unwritable above the high mark, writable again at the low mark.
         *
         * @param connection the connection
         * @param writable its new state
         * @throws Exception as for {@link #onData}
         */
        default void onWritabilityChanged(Connection connection, boolean writable) throws Exception {}

        /**
         * The connection is closed (called once). Exceptions thrown here go to the loop's error handler.
         *
         * @param connection the closed connection
         * @param reason why it closed
         * @param cause the failure for {@link CloseReason#PEER_RESET} and {@link CloseReason#ERROR}, else null
         */
        default void onClose(Connection connection, CloseReason reason, Throwable cause) {}
    }

    /**
     * Water marks of the write queue, in bytes.
     *
     * @param highWaterMark above this many queued bytes the connection becomes unwritable; positive
     * @param lowWaterMark at or below this many it becomes writable again; in {@code [0, highWaterMark]}
     */
    public record Options(int highWaterMark, int lowWaterMark) {
        /**
         * Checks the marks.
         *
         * @throws IllegalArgumentException unless {@code 0 <= lowWaterMark <= highWaterMark} and the high mark is
         *         positive
         */
        public Options {
            if (highWaterMark <= 0 || lowWaterMark < 0 || lowWaterMark > highWaterMark) {
                throw new IllegalArgumentException("water marks must satisfy 0 <= low <= high, 0 < high; got low "
                        + lowWaterMark + ", high " + highWaterMark);
            }
        }

        /** {@return the defaults: high 64 KiB, low 32 KiB} */
        public static Options defaults() {
            return new Options(64 * 1024, 32 * 1024);
        }
    }

    private static final int OPEN = 0, CLOSING = 1, CLOSED = 2;

    private final EventLoop loop;
    private final StreamSocket socket;
    private final Handler handler;
    private final BufferPool pool;
    private final int bufferSize, high, low;
    private final Key key;
    // The write queue: pooled buffers; bytes [headStart, ...) of the first to [..., tailEnd) of the last. Made on
    // the first write the kernel does not take at once (most connections never queue), then kept.
    private ArrayDeque<MemorySegment> queue;
    private int headStart, tailEnd;
    private long pending;
    private boolean writable = true, readingPaused, inputEnded;
    private int state = OPEN;
    private Object attachment;
    // Batched I/O (IoRound, where the loop has it): a read made for this connection before the dispatch, and whether
    // the queue waits for the iteration's batched write.
    private final IoRound round;
    private MemorySegment preRead;
    private int preReadBytes;
    private IOException preReadError;
    private boolean writeHeld;

    private Connection(EventLoop loop, StreamSocket socket, Handler handler, Options options, BufferPool pool) {
        this.loop = loop;
        this.socket = socket;
        this.handler = handler;
        this.pool = pool;
        this.bufferSize = pool.bufferSize();
        this.high = options.highWaterMark();
        this.low = options.lowWaterMark();
        this.round = IoRound.of(loop);
        Owned owned = new Owned();
        this.key = loop.register(owned, Selector.OP_READ, owned);
    }

    /**
     * Opens a connection over {@code socket} on {@code loop} with {@link Options#defaults()} and the loop's
     * {@link BufferPool}.
     *
     * @param loop the loop whose thread runs the connection; call on that thread (or before it runs)
     * @param socket a connected socket, owned by the connection from now on
     * @param handler what to do with the bytes and events
     * @return the connection, reading
     * @throws IllegalStateException off the loop thread (once it runs) or after its shutdown
     */
    public static Connection open(EventLoop loop, StreamSocket socket, Handler handler) {
        return open(loop, socket, handler, Options.defaults(), BufferPool.of(loop));
    }

    /**
     * Opens a connection over {@code socket} on {@code loop}.
     *
     * @param loop the loop whose thread runs the connection; call on that thread (or before it runs)
     * @param socket a connected socket, owned by the connection from now on
     * @param handler what to do with the bytes and events
     * @param options the write queue's water marks
     * @param pool where read buffers and write-queue buffers are borrowed from; one per loop
     * @return the connection, reading
     * @throws IllegalStateException off the loop thread (once it runs) or after its shutdown
     */
    public static Connection open(EventLoop loop, StreamSocket socket, Handler handler, Options options, BufferPool pool) {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(handler, "handler");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(pool, "pool");
        return new Connection(loop, socket, handler, options, pool);
    }

    /**
     * Writes {@code src}: what the kernel does not take now is queued and sent as the socket drains.
     *
     * @param src the bytes (native or heap), which stay the caller's
     * @return {@link #isWritable()} after the write; false also when the connection is closing or closed, whose
     *         writes are discarded
     */
    public boolean write(MemorySegment src) {
        if (state != OPEN) return false;
        long len = src.byteSize();
        if (len == 0) return writable;
        boolean wasEmpty = queueEmpty();
        if (writeHeld || (wasEmpty && round != null && round.holdWrite(this))) {
            // Written with the other connections' answers once the dispatch is over: one system call for them all.
            writeHeld = true;
            enqueue(src);
            if (writable && pending > high) setWritable(false);
            return writable;
        }
        if (wasEmpty && src.isNative()) {
            int n;
            try {
                n = socket.write(src);
            } catch (IOException e) {
                fail(e);
                return false;
            }
            if (n == len) return writable;
            src = src.asSlice(n);
        }
        enqueue(src);
        if (wasEmpty && !src.isNative()) {
            flush();                                   // heap bytes: send what the kernel takes right away
            if (state == CLOSED) return false;
        }
        updateInterest();
        if (writable && pending > high) setWritable(false);
        return writable;
    }

    /**
     * Writes {@code length} bytes of {@code src} from {@code offset}; as {@link #write(MemorySegment)}.
     *
     * @param src the bytes, which stay the caller's
     * @param offset the index of the first byte
     * @param length how many bytes
     * @return {@link #isWritable()} after the write (false when closing or closed)
     * @throws IndexOutOfBoundsException if the range is outside {@code src}
     */
    public boolean write(byte[] src, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, src.length);
        return write(MemorySegment.ofArray(src).asSlice(offset, length));
    }

    /**
     * Writes all of {@code src}; as {@link #write(MemorySegment)}.
     *
     * @param src the bytes, which stay the caller's
     * @return {@link #isWritable()} after the write (false when closing or closed)
     */
    public boolean write(byte[] src) {
        return write(MemorySegment.ofArray(src));
    }

    /**
     * Writes {@code src}'s remaining bytes (heap or direct) and advances its position to its limit; as
     * {@link #write(MemorySegment)}.
     *
     * @param src the bytes, which stay the caller's
     * @return {@link #isWritable()} after the write (false when closing or closed)
     */
    public boolean write(ByteBuffer src) {
        boolean w = write(MemorySegment.ofBuffer(src));
        src.position(src.limit());
        return w;
    }

    private boolean queueEmpty() {
        return queue == null || queue.isEmpty();
    }

    private void enqueue(MemorySegment src) {
        if (queue == null) queue = new ArrayDeque<>(4);
        long off = 0, len = src.byteSize();
        while (off < len) {
            if (queueEmpty() || tailEnd == bufferSize) {
                if (queueEmpty()) headStart = 0;
                queue.addLast(pool.borrow());
                tailEnd = 0;
            }
            int n = (int) Math.min(len - off, bufferSize - tailEnd);
            MemorySegment.copy(src, off, queue.peekLast(), tailEnd, n);
            tailEnd += n;
            off += n;
            pending += n;
        }
    }

    /** Sends queued bytes until the queue is empty or the kernel takes no more. */
    private void flush() {
        try {
            while (!queueEmpty()) {
                long n;
                if (queue.size() == 1) {
                    n = socket.write(queue.peekFirst(), headStart, tailEnd - headStart);
                } else {
                    MemorySegment[] gather = pool.gather();   // the loop's: filled and emptied within this call
                    int count = 0;
                    for (MemorySegment b : queue) {
                        int start = count == 0 ? headStart : 0;
                        int end = count == queue.size() - 1 ? tailEnd : bufferSize;
                        gather[count++] = b.asSlice(start, end - start);
                        if (count == gather.length) break;
                    }
                    n = socket.write(gather, 0, count);
                    java.util.Arrays.fill(gather, 0, count, null);
                }
                if (n == 0) break;
                consume(n);
            }
        } catch (IOException e) {
            fail(e);
            return;
        }
        if (queueEmpty() && state == CLOSING) {
            closeNow(inputEnded ? CloseReason.PEER_CLOSED : CloseReason.LOCAL, null);
            return;
        }
        if (!writable && pending <= low && state == OPEN) setWritable(true);
    }

    private void consume(long n) {
        pending -= n;
        while (n > 0) {
            int end = queue.size() == 1 ? tailEnd : bufferSize;
            int avail = end - headStart;
            if (n < avail) {
                headStart += (int) n;
                return;
            }
            n -= avail;
            pool.release(queue.pollFirst());             // an empty queue holds no buffer
            headStart = 0;
            if (queueEmpty()) tailEnd = 0;
        }
    }

    private void ready() {
        if (state == CLOSED) return;
        if (preRead != null || preReadError != null) {
            takePreRead();                               // made in this iteration's batch, under the same conditions
        } else {
            if (key.isWritable() || (key.readyOps() & Key.WRITE_EOF) != 0) {
                flush();
                if (state == CLOSED) return;
            }
            if (key.isReadable() && !readingPaused && !inputEnded && state == OPEN) read();
        }
        if (state != CLOSED) updateInterest();
    }

    private void read() {
        MemorySegment buf = pool.borrow();
        int n;
        try {
            n = socket.read(buf);
        } catch (IOException e) {
            pool.release(buf);
            fail(e);
            return;
        }
        deliver(buf, n);
    }

    /** Hands {@code n} bytes read into {@code buf} (or the end of input, or nothing) to the handler; gives {@code buf} back. */
    private void deliver(MemorySegment buf, int n) {
        try {
            if (n > 0) {
                handler.onData(this, buf.asSlice(0, n));
            } else if (n < 0) {
                inputEnded = true;
                handler.onEndOfInput(this);
            }
        } catch (IOException e) {
            fail(e);
        } catch (Exception | Error e) {
            loop.report(e);
            closeNow(CloseReason.ERROR, e);
        } finally {
            pool.release(buf);
        }
    }

    /**
     * Whether {@link #ready} would make just a read with these ready ops: then that read may go into the iteration's
     * batch ({@link IoRound}).
     */
    boolean wouldRead(Key k) {
        if (state != OPEN || readingPaused || inputEnded || preRead != null || preReadError != null) return false;
        return k.isReadable() && !k.isWritable() && (k.readyOps() & (Key.WRITE_EOF | Key.ERROR)) == 0;
    }

    /** The buffer the batched read fills: borrowed now, given back once the handler had its bytes. */
    MemorySegment borrowPreRead() {
        return preRead = pool.borrow();
    }

    /** The batched read's outcome, as {@link StreamSocket#read} counts it. */
    void preRead(int n) {
        preReadBytes = n;
    }

    /** The batched read failed: {@link #ready} fails the connection as the direct read would have. */
    void preReadFailed(IOException e) {
        pool.release(preRead);
        preRead = null;
        preReadError = e;
    }

    private void takePreRead() {
        MemorySegment buf = preRead;
        IOException e = preReadError;
        preRead = null;
        preReadError = null;
        if (e != null) {
            fail(e);
        } else {
            deliver(buf, preReadBytes);
        }
    }

    /**
     * Puts the held queue's first buffers into {@code batch} as one gathering write.
     *
     * @return the operation's index, or -1 if there is nothing to write (closed, or the queue went out meanwhile)
     */
    int queueHeldWrite(SocketBatch batch) {
        if (state == CLOSED || queueEmpty()) {
            writeHeld = false;
            return -1;
        }
        IoVecArray iov = batch.iovecs();
        int base = batch.iovBase(), count = 0, last = queue.size() - 1;
        for (MemorySegment b : queue) {
            int start = count == 0 ? headStart : 0;
            int end = count == last ? tailEnd : bufferSize;
            iov.set(base + count, b.address() + start, end - start);
            if (++count == SocketBatch.IOV_PER_WRITE) break;
        }
        return batch.writev(socket, count);
    }

    /** The batched write took {@code n} bytes: the rest waits for WRITE readiness, as after a short direct write. */
    void heldWriteDone(long n) {
        writeHeld = false;
        if (state == CLOSED) return;
        if (n > 0) consume(n);
        if (queueEmpty() && state == CLOSING) {
            closeNow(inputEnded ? CloseReason.PEER_CLOSED : CloseReason.LOCAL, null);
            return;
        }
        if (!writable && pending <= low && state == OPEN) setWritable(true);
        updateInterest();
    }

    /** The batched write failed: as a failed direct write. */
    void heldWriteFailed(IOException e) {
        writeHeld = false;
        fail(e);
    }

    private void setWritable(boolean on) {
        writable = on;
        try {
            handler.onWritabilityChanged(this, on);
        } catch (Exception | Error e) {
            loop.report(e);
            closeNow(CloseReason.ERROR, e);
        }
    }

    private void updateInterest() {
        if (state == CLOSED || !key.isValid()) return;
        int want = (state == OPEN && !readingPaused && !inputEnded ? Selector.OP_READ : 0)
                | (queueEmpty() || writeHeld ? 0 : Selector.OP_WRITE);
        if (key.interest() != want) key.interest(want);
    }

    private void fail(IOException e) {
        boolean loss = e instanceof ErrnoException ee && ee.isConnectionLoss();
        closeNow(loss ? CloseReason.PEER_RESET : CloseReason.ERROR, e);
    }

    /** {@return true while the write queue has not grown past the high water mark since it last drained to the low one} */
    public boolean isWritable() {
        return writable && state == OPEN;
    }

    /** {@return the bytes queued and not yet taken by the kernel} */
    public long pendingBytes() {
        return pending;
    }

    /** {@return the bytes of pooled buffers the write queue holds now (0 when it is empty)} */
    public long heldBytes() {
        return queue == null ? 0 : (long) queue.size() * bufferSize;
    }

    /** Stops reading: READ interest is dropped until {@link #resumeReading()}. Idempotent. */
    public void pauseReading() {
        readingPaused = true;
        updateInterest();
    }

    /** Reads again after {@link #pauseReading()}. Idempotent. */
    public void resumeReading() {
        readingPaused = false;
        updateInterest();
    }

    /** {@return true between {@link #pauseReading()} and {@link #resumeReading()}} */
    public boolean isReadingPaused() {
        return readingPaused;
    }

    /** {@return true once the peer has ended its stream} */
    public boolean isInputEnded() {
        return inputEnded;
    }

    /** {@return true until the connection is closed (it is open while a graceful close is flushing)} */
    public boolean isOpen() {
        return state != CLOSED;
    }

    /**
     * Closes gracefully: stops reading, sends what is queued, then closes the socket and calls
     * {@link Handler#onClose}. Writes after this are discarded. Idempotent.
     */
    public void close() {
        if (state != OPEN) return;
        state = CLOSING;
        if (queueEmpty()) {
            closeNow(inputEnded ? CloseReason.PEER_CLOSED : CloseReason.LOCAL, null);
        } else {
            updateInterest();
        }
    }

    /** Closes at once: drops what is queued, closes the socket, calls {@link Handler#onClose}. Idempotent. */
    public void closeNow() {
        closeNow(inputEnded ? CloseReason.PEER_CLOSED : CloseReason.LOCAL, null);
    }

    private void closeNow(CloseReason reason, Throwable cause) {
        if (state == CLOSED) return;
        state = CLOSED;
        while (!queueEmpty()) pool.release(queue.pollFirst());
        if (preRead != null) {
            pool.release(preRead);
            preRead = null;
        }
        pending = 0;
        if (key.isValid()) key.cancelForClose();
        try {
            socket.close();
        } catch (IOException e) {
            if (cause == null) cause = e;
        }
        try {
            handler.onClose(this, reason, cause);
        } catch (RuntimeException | Error e) {
            loop.report(e);
        }
    }

    /** {@return the socket underneath, for its addresses and options; reading or writing it directly bypasses the queue} */
    public StreamSocket socket() {
        return socket;
    }

    /** {@return the loop the connection runs on} */
    public EventLoop loop() {
        return loop;
    }

    /**
     * Attaches any object, for the handler's per-connection state.
     *
     * @param attachment the object, or null
     */
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    /** {@return what {@link #attach} attached, or null} */
    public Object attachment() {
        return attachment;
    }

    @Override
    public String toString() {
        return "Connection[fd " + socket.fd() + ", pending " + pending + (writable ? "" : ", unwritable")
                + (state == OPEN ? "" : state == CLOSING ? ", closing" : ", closed") + "]";
    }

    /** What the loop owns (on its shutdown it closes the connection at once) and its handler. */
    final class Owned implements Pollable, AutoCloseable, EventLoop.Handler {
        /** {@return the connection this is the loop's handle of} */
        Connection connection() {
            return Connection.this;
        }

        @Override
        public void ready(Key k) {
            Connection.this.ready();
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        @Override
        public void close() {
            closeNow();
        }
    }
}
