// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The {@link Connection}s of one loop, read and written in two system calls per iteration instead of two per
 * connection: before the dispatch, the read each ready connection would make goes to the kernel in one
 * {@link SocketBatch}; the writes their handlers make while the dispatch runs are held, and go out together once it
 * is over. Where io_uring does not run socket I/O, or with {@code -Dknot.net.batch=false}, a loop has none and every
 * connection makes its direct calls; an iteration with a single ready connection makes them too (one operation is one
 * system call either way, and the direct write needs no copy into the queue).
 *
 * <p><b>Threading:</b> the loop thread. <b>Ownership:</b> one per loop, made by its first connection; its ring goes
 * back to the pool when the loop terminates.
 */
final class IoRound implements EventLoop.RoundHook {
    /** {@code -Dknot.net.batch=false}: connections read and write directly. */
    static final String PROPERTY = "knot.net.batch";

    private static final Object NONE = new Object();
    private static final Map<EventLoop, Object> ROUNDS = new WeakHashMap<>();

    private final EventLoop loop;
    private final SocketBatch batch;
    private final Connection[] readers, writers;
    private final int[] ops;
    private int nwriters;
    private long batchedOps;                     // reads and writes that shared a submission with another
    private boolean holding;                     // this iteration batched its reads: writes are held for the batch

    private IoRound(EventLoop loop, SocketBatch batch) {
        this.loop = loop;
        this.batch = batch;
        int n = batch.room();
        this.readers = new Connection[n];
        this.writers = new Connection[n];
        this.ops = new int[n];
    }

    /** {@return the loop's round, made on first use, or null where connections make direct calls} */
    static IoRound of(EventLoop loop) {
        synchronized (ROUNDS) {
            Object r = ROUNDS.get(loop);
            if (r == null) {
                r = open(loop);
                ROUNDS.put(loop, r == null ? NONE : r);
            }
            return r instanceof IoRound io ? io : null;
        }
    }

    private static IoRound open(EventLoop loop) {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) return null;
        SocketBatch b = SocketBatch.open();
        if (!b.batched()) {
            b.close();
            return null;
        }
        try {
            IoRound io = new IoRound(loop, b);
            loop.addRoundHook(io);
            return io;
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
    }

    @Override
    public int beforeDispatch(Selector selector, int from, int to) {
        // A run ends where the batch is full: the ready keys after it make the next run, batched in turn.
        int found = 0, end = to, limit = readers.length;
        for (int i = from; i < to; i++) {
            if (found == limit) {
                end = i;
                break;
            }
            Key k = selector.readyKey(i);
            if (k.isValid() && loop.handler(k) instanceof Connection.Owned o && o.connection().wouldRead(k)) {
                readers[found++] = o.connection();
            }
        }
        holding = found >= 2;
        if (!holding) {
            if (found == 1) readers[0] = null;       // alone, it reads directly in its handler
            return end;
        }
        for (int j = 0; j < found; j++) {
            Connection c = readers[j];
            MemorySegment buf = c.borrowPreRead();
            batch.recv(c.socket(), buf.address(), (int) buf.byteSize());
        }
        batch.submit();
        batchedOps += found;
        for (int j = 0; j < found; j++) {
            Connection c = readers[j];
            readers[j] = null;
            try {
                c.preRead(batch.readResult(j));
            } catch (IOException e) {
                c.preReadFailed(e);
            }
        }
        batch.clear();
        return end;
    }

    /**
     * Whether {@code c}'s write, made now, waits for the iteration's batched write.
     *
     * @return true if held (the caller queues the bytes), false to write directly
     */
    boolean holdWrite(Connection c) {
        if (!holding || nwriters == writers.length) return false;
        writers[nwriters++] = c;
        return true;
    }

    @Override
    public void afterDispatch() {
        holding = false;
        int n = nwriters;
        if (n == 0) return;
        nwriters = 0;
        for (int j = 0; j < n; j++) ops[j] = writers[j].queueHeldWrite(batch);
        if (batch.size() > 1) batchedOps += batch.size();
        batch.submit();
        for (int j = 0; j < n; j++) {
            Connection c = writers[j];
            writers[j] = null;
            try {
                if (ops[j] < 0) continue;
                long r;
                try {
                    r = batch.writeResult(ops[j]);
                } catch (IOException e) {
                    c.heldWriteFailed(e);
                    continue;
                }
                c.heldWriteDone(r);
            } catch (RuntimeException | Error e) {
                loop.report(e);                      // a handler's callback failed: the connection goes, not the round
                c.closeNow();
            }
        }
        batch.clear();
    }

    /** {@return the reads and writes so far that went to the kernel in one submission with others} */
    long batchedOps() {
        return batchedOps;
    }

    @Override
    public void loopTerminated() {
        batch.close();
        synchronized (ROUNDS) {
            ROUNDS.remove(loop);
        }
    }
}
