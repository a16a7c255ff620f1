// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.SocketBatch;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The server's socket I/O of one loop iteration in two system calls instead of two per connection: before the ready
 * connections are handed out, the read each would make goes to the kernel in one {@link SocketBatch}; the answers
 * they queue go out in another once all of them have run. A pipelining client's round (16 requests in, 16 answers
 * out) costs the server a read and a write each time; with 64 such clients ready together that is 128 system calls
 * an iteration, and here 2.
 *
 * <p>Only where the batch goes through io_uring ({@link SocketBatch#batched()}), and not with
 * {@code -Dknot.http.batch=false}; elsewhere every connection makes its direct calls. A lone ready connection reads
 * and writes directly too: one operation is one system call either way, and the direct one answers sooner.
 *
 * <p><b>Threading:</b> the loop thread. <b>Ownership:</b> the server's; its ring goes back to the pool when the
 * loop terminates.
 */
final class BatchedIo implements EventLoop.RoundHook {
    /** {@code -Dknot.http.batch=false} makes every connection read and write directly. */
    static final String PROPERTY = "knot.http.batch";

    private final HttpServer server;
    private final EventLoop loop;
    private final SocketBatch batch;
    private final MemorySegment slots;            // a staging region per batched read
    private final long slotSize;
    private final Connection[] readers, writers;
    private int nwriters;
    private long batchedOps;                     // operations that shared a submission with another
    private boolean dispatching;                 // between the hook's two calls: answers join the write batch

    private BatchedIo(HttpServer server, EventLoop loop, SocketBatch batch, Arena arena, long slotSize) {
        this.server = server;
        this.loop = loop;
        this.batch = batch;
        int n = batch.room();
        this.slotSize = slotSize;
        this.slots = arena.allocate(slotSize * n, 64);
        this.readers = new Connection[n];
        this.writers = new Connection[n];
    }

    /**
     * Opens the batch for {@code server} and hooks it into {@code loop}, or returns null where batching saves nothing
     * (no io_uring for sockets, or the property says no).
     */
    static BatchedIo open(HttpServer server, EventLoop loop, Arena arena, long slotSize) {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) return null;
        SocketBatch b = SocketBatch.open();
        if (!b.batched()) {
            b.close();
            return null;
        }
        BatchedIo io;
        try {
            io = new BatchedIo(server, loop, b, arena, slotSize);
            loop.addRoundHook(io);
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
        return io;
    }

    @Override
    public int beforeDispatch(Selector selector, int from, int to) {
        dispatching = true;
        // A run ends where the batch is full: the ready keys after it make the next run, batched in turn.
        int found = 0, end = to, limit = readers.length;
        for (int i = from; i < to; i++) {
            if (found == limit) {
                end = i;
                break;
            }
            Key k = selector.readyKey(i);
            if (k.isValid() && loop.handler(k) instanceof Connection c && c.server() == server && c.wouldRead(k)) {
                readers[found++] = c;
            }
        }
        if (found < 2) {
            readers[0] = null;                       // alone, it reads directly in its handler
            return end;
        }
        for (int j = 0; j < found; j++) {
            Connection c = readers[j];
            batch.recv(c.socket(), slots.address() + j * slotSize, c.readLength(slotSize));
        }
        batch.submit();
        batchedOps += found;
        for (int j = 0; j < found; j++) {
            Connection c = readers[j];
            readers[j] = null;
            try {
                c.preRead(slots, j * slotSize, batch.readResult(j));
            } catch (IOException e) {
                c.preReadFailed(e);
            }
        }
        batch.clear();
        return end;
    }

    /**
     * Queues {@code c}'s answer bytes for the write that follows this iteration's dispatch.
     *
     * @return false if the answer is not batched (outside a dispatch, or the batch is full): write it directly
     */
    boolean queueWrite(Connection c, long address, long length) {
        if (!dispatching || batch.room() == 0) return false;
        batch.iovecs().set(batch.iovBase(), address, length);
        batch.writev(c.socket(), 1);
        writers[nwriters++] = c;
        return true;
    }

    @Override
    public void afterDispatch() {
        dispatching = false;
        int n = nwriters;
        if (n == 0) return;
        nwriters = 0;
        batch.submit();
        if (n > 1) batchedOps += n;
        for (int j = 0; j < n; j++) {
            Connection c = writers[j];
            writers[j] = null;
            try {
                c.written(batch.writeResult(j));
            } catch (Throwable t) {
                // What the loop does when a handler's direct write throws: report it (a peer's reset only counts)
                // and close the connection.
                loop.report(t);
                c.closeQuietly();
            }
        }
        batch.clear();
    }

    /** Reads and writes so far that went to the kernel in one submission with others. */
    long batchedOps() {
        return batchedOps;
    }

    @Override
    public void loopTerminated() {
        batch.close();
    }
}
