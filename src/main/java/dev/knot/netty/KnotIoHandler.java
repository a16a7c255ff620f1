// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.kqueue.KqueueException;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.IoVecArray;
import dev.knot.net.SocketBatch;
import io.netty.channel.IoEvent;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

/**
 * Netty's I/O on Knot: one {@link Selector} (one kqueue) per event loop. Each {@link KnotIoHandle} registered gets a
 * {@link Key} whose token (slot and generation) travels in the knotes' udata; interest changes submitted through
 * {@link IoRegistration#submit} join the changelist of the next kevent call, which also waits; other threads wake
 * the loop through the selector's EVFILT_USER knote; the wait ends at Netty's next scheduled task
 * ({@link IoHandlerContext#deadlineNanos()}). Nothing is allocated per event or per loop iteration.
 *
 * <p>Use it through {@link #newFactory()}: {@code new MultiThreadIoEventLoopGroup(n, KnotIoHandler.newFactory())},
 * with {@link KnotSocketChannel}, {@link KnotServerSocketChannel}, {@code KnotDomainSocketChannel} and
 * {@code KnotServerDomainSocketChannel}.
 *
 * <p><b>Threading:</b> Netty calls {@link #run}, {@link #register}, {@link #prepareToDestroy} and {@link #destroy}
 * on the event loop's thread; {@link #wakeup()} and a registration's {@code submit} and {@code cancel} may come from
 * any thread (those two then run as tasks on the loop). <b>Ownership:</b> the handler owns its selector and its
 * kqueue; the handles own their descriptors. <b>Errors:</b> a kevent failure is logged and the loop goes on; a
 * registration whose knote cannot be added gets an event with {@link KnotIoEvent#ERROR}.
 */
public final class KnotIoHandler implements IoHandler {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(KnotIoHandler.class);

    /** Rounds of batched writes per loop round: writes that completions start go in the next; then directly. */
    private static final int WRITE_ROUNDS = 4;
    // Opt-in: a batched flush leaves when the round's callbacks are done, not inside flush() as on Netty's epoll and
    // NIO transports (io_uring's semantics), which a handler that flushes and then blocks its loop can tell.
    private static final boolean BATCH = Boolean.getBoolean("knot.netty.batch");

    private final ThreadAwareExecutor executor;
    private volatile Selector selector;
    private IoVecArray iovecs;
    private SocketBatch batch;                            // null where writes are not batched
    private AbstractKnotStreamChannel[] writers = new AbstractKnotStreamChannel[64], spare = new AbstractKnotStreamChannel[64];
    private int nwriters;
    private boolean dispatching;                          // handing out a round's events: flushes join the batch
    private AbstractKnotStreamChannel[] readers = new AbstractKnotStreamChannel[64];
    private int nreaders;
    private final Set<Registration> registrations = new HashSet<>();
    private boolean destroyed;

    private KnotIoHandler(ThreadAwareExecutor executor) {
        this.executor = executor;
    }

    /**
     * A factory of Knot I/O handlers, one per event loop of a {@code MultiThreadIoEventLoopGroup}.
     *
     * @return the factory; thread-safe and reusable
     */
    public static IoHandlerFactory newFactory() {
        return KnotIoHandler::new;
    }

    @Override
    public void initialize() {
        // Opened on the loop's thread, which owns the selector from then on.
        if (selector != null) return;
        try {
            iovecs = IoVecArray.allocate(IoVecArray.IOV_MAX);
            selector = Selector.open();
            if (BATCH) {
                SocketBatch b = SocketBatch.open();
                if (b.batched()) batch = b; else b.close();
            }
        } catch (KqueueException e) {
            iovecs.close();
            throw new IllegalStateException("Knot: cannot open the event loop's kqueue", e);
        }
    }

    private Selector selector() {
        Selector s = selector;
        if (s == null) {
            initialize();
            s = selector;
        }
        return s;
    }

    @Override
    public int run(IoHandlerContext context) {
        Selector sel = selector();
        long timeout;
        if (!context.canBlock()) {
            timeout = 0;
        } else if (context.deadlineNanos() == -1) {
            timeout = -1;                                     // nothing scheduled: until an event or a wakeup
        } else {
            timeout = Math.max(0, context.delayNanos(System.nanoTime()));
        }
        int n;
        try {
            n = sel.select(timeout);
        } catch (KqueueException e) {
            // A signal (a debugger or strace attaching, say) cut the wait short: nothing failed, the loop goes on.
            if (!destroyed && !"EINTR".equals(e.errnoName())) logger.warn("Knot: kevent failed on the event loop", e);
            return 0;
        } catch (IllegalStateException e) {
            if (!destroyed) logger.warn("Knot: kevent failed on the event loop", e);
            return 0;
        }
        boolean report = context.shouldReportActiveIoTime();
        long start = report ? System.nanoTime() : 0;
        int handled = 0;
        SocketBatch b = batch;
        dispatching = b != null;
        try {
            for (int from = 0; from < n; ) {
                int to = n;
                if (b != null) to = queueReads(sel, from, n, b);
                for (int i = from; i < to; i++) handled += dispatch(sel.readyKey(i));
                if (b != null && b.size() > 0) {
                    for (int i = 0; i < nreaders; i++) {
                        AbstractKnotStreamChannel ch = readers[i];
                        readers[i] = null;
                        ch.batchedReadDone();
                    }
                    nreaders = 0;
                    b.clear();
                }
                from = to;
            }
            if (nwriters > 0) submitWrites();
        } finally {
            dispatching = false;
            writeHeldDirectly();                              // only if something above threw
        }
        if (report) context.reportActiveIoTime(System.nanoTime() - start);
        return handled;
    }

    /** The loop's shared gathering-write array (loop thread only). */
    IoVecArray iovecs() {
        return iovecs;
    }

    /**
     * Queues a channel's flushed data for the batch of writes that goes to the kernel in one system call when this
     * round's events have all been handed out. Only flushes made while the loop hands out events are held: a flush
     * from a task (a write from another thread, a listener of a registration) writes at once, as every Netty
     * transport does, so a handler that blocks its loop after a flush (Netty's SocketHalfClosedTest does) still sees
     * its data sent. Loop thread only.
     *
     * @return false if this write is not batched: then the channel writes directly
     */
    boolean queueWrite(AbstractKnotStreamChannel ch) {
        if (!dispatching || destroyed) return false;
        if (ch.writeQueued) return true;
        ch.writeQueued = true;
        if (nwriters == writers.length) writers = java.util.Arrays.copyOf(writers, nwriters * 2);
        writers[nwriters++] = ch;
        return true;
    }

    private void submitWrites() {
        SocketBatch b = batch;
        for (int round = 0; nwriters > 0 && round < WRITE_ROUNDS; round++) {
            AbstractKnotStreamChannel[] list = writers;
            int n = nwriters;
            // What completions queue (a listener that writes again) goes to the other array, for the next round.
            writers = spare.length >= list.length ? spare : new AbstractKnotStreamChannel[list.length];
            spare = list;
            nwriters = 0;
            int i = 0;
            try {
                while (i < n) {
                    int first = i;
                    while (i < n && b.room() > 0) list[i++].queueBatchedWrite(b);
                    b.submit();
                    for (int j = first; j < i; j++) {
                        AbstractKnotStreamChannel ch = list[j];
                        list[j] = null;
                        ch.batchedWriteDone(b);
                    }
                    b.clear();
                }
            } finally {
                if (b.size() > 0) b.clear();
                // Something threw: the channels not yet finished write directly (writeHeldDirectly), none is lost.
                for (int j = 0; j < n; j++) {
                    AbstractKnotStreamChannel ch = list[j];
                    if (ch == null) continue;
                    list[j] = null;
                    if (nwriters == writers.length) writers = java.util.Arrays.copyOf(writers, nwriters * 2);
                    writers[nwriters++] = ch;
                }
            }
        }
        // What the last round's completions flushed goes out now: nothing is held past this round.
        dispatching = false;
        writeHeldDirectly();
    }

    private void writeHeldDirectly() {
        while (nwriters > 0) {
            AbstractKnotStreamChannel ch = writers[--nwriters];
            writers[nwriters] = null;
            ch.writeNow();
        }
    }

    /**
     * Puts the first read of each readable stream channel among ready keys {@code from..n-1} into the batch, until it
     * is full, and submits them in one system call. Returns the end of the keys it covered.
     */
    private int queueReads(Selector sel, int from, int n, SocketBatch b) {
        int i = from;
        for (; i < n && b.room() > 0; i++) {
            Key k = sel.readyKey(i);
            if ((k.readyOps() & Selector.OP_READ) == 0 || (k.readyOps() & Key.ERROR) != 0 || !k.isValid()) continue;
            if (!(k.attachment() instanceof Registration r) || r.cancelled || r.stream == null) continue;
            if (r.stream.queueBatchedRead(b)) {
                if (nreaders == readers.length) readers = java.util.Arrays.copyOf(readers, nreaders * 2);
                readers[nreaders++] = r.stream;
            }
        }
        b.submit();
        return i;
    }

    private int dispatch(Key k) {
        int ready = k.readyOps();
        if (ready == 0 || !k.isValid()) return 0;         // cancelled by an earlier handle in this round
        Object attachment = k.attachment();
        k.clearReady();
        if (!(attachment instanceof Registration r) || r.cancelled) return 0;
        try {
            r.handle.handle(r, KnotIoEvent.of(translate(ready)));
        } catch (Throwable t) {
            logger.warn("Knot: an IoHandle threw while handling its event: " + r.handle, t);
        }
        return 1;
    }

    private static int translate(int ready) {
        return ((ready & Selector.OP_READ) != 0 ? KnotIoEvent.READABLE : 0)
                | ((ready & Selector.OP_WRITE) != 0 ? KnotIoEvent.WRITABLE : 0)
                | ((ready & Key.READ_EOF) != 0 ? KnotIoEvent.READ_EOF : 0)
                | ((ready & Key.WRITE_EOF) != 0 ? KnotIoEvent.WRITE_EOF : 0)
                | ((ready & Key.ERROR) != 0 ? KnotIoEvent.ERROR : 0);
    }

    private static int interestOf(int knotOps) {
        return ((knotOps & KnotIoOps.READ_BIT) != 0 ? Selector.OP_READ : 0) | ((knotOps & KnotIoOps.WRITE_BIT) != 0 ? Selector.OP_WRITE : 0);
    }

    @Override
    public void prepareToDestroy() {
        for (Registration r : new ArrayList<>(registrations)) {
            r.cancel();
            try {
                r.handle.close();
            } catch (Exception e) {
                logger.debug("Knot: closing " + r.handle + " at shutdown failed", e);
            }
        }
    }

    @Override
    public void destroy() {
        destroyed = true;
        Selector s = selector;
        if (s != null) s.close();
        if (batch != null) batch.close();
        if (iovecs != null) iovecs.close();
    }

    @Override
    public IoRegistration register(IoHandle handle) {
        if (!(handle instanceof KnotIoHandle h)) {
            throw new IllegalArgumentException("a Knot event loop takes KnotIoHandles, not " + (handle == null ? "null" : handle.getClass().getName()));
        }
        selector();
        Registration r = new Registration(h);
        registrations.add(r);
        h.registered();
        return r;
    }

    @Override
    public void wakeup() {
        if (executor.isExecutorThread(Thread.currentThread())) return;   // the loop is awake: it is running this
        Selector s = selector;
        if (s != null) s.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return KnotIoHandle.class.isAssignableFrom(handleType);
    }

    /** The registration of one handle: its key once the handle has a descriptor, and its current interest. */
    private final class Registration implements IoRegistration {
        final KnotIoHandle handle;
        final AbstractKnotStreamChannel stream;           // the channel behind the handle, if a Knot stream channel's
        private Key key;
        volatile boolean cancelled;

        Registration(KnotIoHandle handle) {
            this.handle = handle;
            this.stream = handle instanceof AbstractKnotChannel.KnotUnsafe u && u.owner() instanceof AbstractKnotStreamChannel s ? s : null;
        }

        /** The loop's handler, whose gathering-write array and write batch the handles of this loop share. */
        @SuppressWarnings("unchecked")
        @Override
        public <T> T attachment() {
            return (T) KnotIoHandler.this;
        }

        @Override
        public long submit(IoOps ops) {
            if (!(ops instanceof KnotIoOps o)) {
                throw new IllegalArgumentException("a Knot registration takes KnotIoOps, not " + (ops == null ? "null" : ops.getClass().getName()));
            }
            if (cancelled) return -1;
            if (executor.isExecutorThread(Thread.currentThread())) {
                submit0(o);
            } else {
                executor.execute(() -> submit0(o));
            }
            return o.value();
        }

        private void submit0(KnotIoOps ops) {
            if (cancelled || destroyed) return;
            int interest = interestOf(ops.value());
            if (key == null) {
                int fd = handle.fd();
                if (fd < 0) return;                           // no descriptor yet: submitted again when it has one
                key = selector.register(fd, interest, this);
            } else {
                key.interest(interest);
            }
            key.watchReadEof((ops.value() & KnotIoOps.READ_EOF_BIT) != 0);
        }

        @Override
        public boolean isValid() {
            return !cancelled;
        }

        @Override
        public boolean cancel() {
            if (cancelled) return false;
            cancelled = true;
            if (executor.isExecutorThread(Thread.currentThread())) {
                cancel0();
            } else {
                executor.execute(this::cancel0);
            }
            return true;
        }

        private void cancel0() {
            Key k = key;
            key = null;
            if (k != null && k.isValid() && k.attachment() == this && !destroyed) {
                // A closed descriptor lost its knotes with the close, and its number may already be reused.
                if (handle.isFdOpen()) k.cancel(); else k.cancelForClose();
            }
            if (registrations.remove(this)) handle.unregistered();
        }

        @Override
        public String toString() {
            return "KnotIoHandler.Registration[" + handle + (cancelled ? ", cancelled" : "") + "]";
        }
    }
}
