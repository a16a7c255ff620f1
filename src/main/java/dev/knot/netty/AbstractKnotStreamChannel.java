// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.IoVecArray;
import dev.knot.net.SocketBatch;
import dev.knot.net.StreamSocket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A connected (or connecting) stream channel over a Knot {@link StreamSocket}: TCP or Unix-domain. Reads go into the
 * allocator's direct buffers through their memory address, writes gather the flushed buffers of the
 * {@link ChannelOutboundBuffer} into one writev, file regions are copied through the socket.
 */
abstract class AbstractKnotStreamChannel extends AbstractKnotChannel implements DuplexChannel {

    private volatile StreamSocket socket;
    private volatile boolean inputShutdown, outputShutdown;
    private boolean inputClosedSeenErrorOnRead;
    private ChannelPromise connectPromise;
    private Future<?> connectTimeoutFuture;
    private SocketAddress requestedRemote;
    private final StreamWrites writes = new StreamWrites(this);
    private final Runnable flushTask = () -> ((KnotUnsafe) unsafe()).writeReady();
    /** Flushed data waits in the loop's write batch (see {@link KnotIoHandler#queueWrite}). Loop thread only. */
    boolean writeQueued;
    private boolean writeDirect;                         // this flush must write now, not join the batch
    private boolean queuedDirect;                        // the batch could not take this channel's data
    private ByteBuf preRead;                             // the buffer of this round's batched read, until readReady
    private SocketBatch preReadBatch;
    private int preReadOp;

    AbstractKnotStreamChannel(Channel parent, StreamSocket accepted) {
        super(parent);
        this.socket = accepted;
        if (accepted != null) {
            active = true;
            try {
                local = fromNative(accepted.localAddress());
                remote = fromNative(accepted.remoteAddress());
            } catch (IOException e) {
                // The peer may be gone already; the first read or write will say so.
            }
        }
    }

    abstract StreamConfig streamConfig();

    /** The address Knot's sockets take for one of this channel's addresses. */
    abstract SocketAddress toNative(SocketAddress address);

    /** The address this channel reports for one of Knot's. */
    abstract SocketAddress fromNative(SocketAddress address);

    final StreamSocket socket() {
        return socket;
    }

    @Override
    boolean watchesReadEof() {
        // Until the end has been read twice (ChannelInputShutdownEvent, then ChannelInputShutdownReadComplete), or
        // once without half-closure: after that a level EOF watch would only repeat itself.
        return active && open && !(inputShutdown && (inputClosedSeenErrorOnRead || !streamConfig().isAllowHalfClosure()));
    }

    /** The input is shut down (read EOF, or shutdownInput): the FIN watch may end. */
    private void inputShutdown() {
        inputShutdown = true;
        submitOps();
    }

    @Override
    int fdNumber() {
        StreamSocket s = socket;
        return s == null ? -1 : s.fd();
    }

    @Override
    boolean fdOpen() {
        StreamSocket s = socket;
        return s != null && s.isOpen();
    }

    private StreamSocket createSocket(SocketAddress nativeAddress) throws IOException {
        StreamSocket s = StreamSocket.open(nativeAddress);
        try {
            streamConfig().applyTo(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        socket = s;
        return s;
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (socket != null) throw new IllegalStateException("already bound or connected");
        SocketAddress n = toNative(localAddress);
        StreamSocket s = createSocket(n);
        try {
            s.bind(n);
        } catch (IOException e) {
            throw Exceptions.bind(e);
        }
        local = fromNative(s.localAddress());
        submitOps();
    }

    /** Starts connecting; true if connected at once. */
    private boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress) throws Exception {
        if (remote != null) throw new AlreadyConnectedException();
        SocketAddress n = toNative(remoteAddress);
        boolean fresh = socket == null;
        StreamSocket s = fresh ? createSocket(n) : socket;
        try {
            if (localAddress != null) {
                try {
                    s.bind(toNative(localAddress));
                } catch (IOException e) {
                    throw Exceptions.bind(e);
                }
            }
            boolean connected;
            try {
                connected = s.beginConnect(n);
            } catch (IOException e) {
                throw (IOException) Exceptions.connect(e);
            }
            local = fromNative(s.localAddress());
            if (connected) {
                remote = fromNative(n);
                submitOps();
            } else {
                setFlag(KnotIoOps.WRITE_BIT);
                if (fresh) submitOps();
            }
            return connected;
        } catch (IOException | RuntimeException e) {
            doClose();
            throw e;
        }
    }

    private boolean doFinishConnect() throws IOException {
        boolean done;
        try {
            done = socket.finishConnect();
        } catch (IOException e) {
            throw (IOException) Exceptions.connect(e);
        }
        if (done) {
            clearFlag(KnotIoOps.WRITE_BIT);
            remote = fromNative(toNative(requestedRemote));
            requestedRemote = null;
            return true;
        }
        setFlag(KnotIoOps.WRITE_BIT);
        return false;
    }

    @Override
    protected void doDisconnect() throws Exception {
        doClose();
    }

    @Override
    protected void doClose() throws Exception {
        active = false;
        open = false;
        inputClosedSeenErrorOnRead = true;
        ChannelPromise p = connectPromise;
        if (p != null) {
            p.tryFailure(new ClosedChannelException());
            connectPromise = null;
        }
        Future<?> f = connectTimeoutFuture;
        if (f != null) {
            f.cancel(false);
            connectTimeoutFuture = null;
        }
        StreamSocket s = socket;
        if (s != null) s.close();
    }

    @Override
    protected void doShutdownOutput() throws Exception {
        StreamSocket s = socket;
        if (!open) throw new ClosedChannelException();
        if (s == null || !active) throw new NotYetConnectedException();
        s.shutdownOutput();
        outputShutdown = true;
    }

    @Override
    public boolean isInputShutdown() {
        return inputShutdown || !open;                        // a closed socket is shut down both ways
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown || !open;
    }

    @Override
    public boolean isShutdown() {
        return (inputShutdown && outputShutdown) || !isActive();
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            shutdownOutput0(promise);
        } else {
            loop.execute(() -> shutdownOutput0(promise));
        }
        return promise;
    }

    private void shutdownOutput0(ChannelPromise promise) {
        if (writeQueued && isOpen()) writeNow();              // flushed data goes out before the FIN
        ((AbstractUnsafe) unsafe()).shutdownOutput(promise);
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            shutdownInput0(promise);
        } else {
            loop.execute(() -> shutdownInput0(promise));
        }
        return promise;
    }

    private void shutdownInput0(ChannelPromise promise) {
        try {
            StreamSocket s = socket;
            if (!open) throw new ClosedChannelException();
            if (s == null || !active) throw new NotYetConnectedException();
            s.shutdownInput();
            inputShutdown();
            promise.setSuccess();
        } catch (Throwable t) {
            promise.setFailure(t);
        }
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        ChannelFuture out = shutdownOutput();
        if (out.isDone()) {
            afterOutputShutdown(out, promise);
        } else {
            out.addListener((ChannelFutureListener) f -> afterOutputShutdown(f, promise));
        }
        return promise;
    }

    private void afterOutputShutdown(ChannelFuture out, ChannelPromise promise) {
        ChannelFuture in = shutdownInput();
        if (in.isDone()) {
            bothShutdown(out, in, promise);
        } else {
            in.addListener((ChannelFutureListener) f -> bothShutdown(out, f, promise));
        }
    }

    private static void bothShutdown(ChannelFuture out, ChannelFuture in, ChannelPromise promise) {
        Throwable a = out.cause(), b = in.cause();
        if (a != null) {
            if (b != null && b != a) a.addSuppressed(b);
            promise.setFailure(a);
        } else if (b != null) {
            promise.setFailure(b);
        } else {
            promise.setSuccess();
        }
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf buf) {
            if (buf.hasMemoryAddress() || (buf.isDirect() && buf.nioBufferCount() <= IoVecArray.IOV_MAX)) return buf;
            return newDirectBuffer(buf);
        }
        if (msg instanceof FileRegion) return msg;
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
                + " (expected: ByteBuf or FileRegion)");
    }

    private ByteBuf newDirectBuffer(ByteBuf buf) {
        int n = buf.readableBytes();
        if (n == 0) {
            ReferenceCountUtil.release(buf);
            return Unpooled.EMPTY_BUFFER;
        }
        ByteBufAllocator alloc = alloc();
        ByteBuf direct = alloc.isDirectBufferPooled() ? null : ByteBufUtil.threadLocalDirectBuffer();
        if (direct == null) direct = alloc.directBuffer(n);
        direct.writeBytes(buf, buf.readerIndex(), n);
        ReferenceCountUtil.safeRelease(buf);
        return direct;
    }

    /**
     * Called by the loop after a wait reported this channel readable: puts the first read of its next
     * {@code readReady} into the loop's batch (into a buffer of its allocator), so that the reads of every ready
     * channel go to the kernel in one system call. Returns false if the channel reads directly this time.
     */
    final boolean queueBatchedRead(SocketBatch batch) {
        if (preRead != null || socket == null || !isFlagSet(KnotIoOps.READ_BIT) || inputShutdown || !isOpen()) return false;
        ChannelConfig config = config();
        RecvByteBufAllocator.Handle handle = unsafe().recvBufAllocHandle();
        handle.reset(config);
        ByteBuf buf = handle.allocate(config.getAllocator());
        int writable = buf.writableBytes();
        if (!buf.hasMemoryAddress() || writable == 0) {
            buf.release();
            return false;
        }
        handle.attemptedBytesRead(writable);
        preReadOp = batch.recv(socket, buf.memoryAddress() + buf.writerIndex(), writable);
        preReadBatch = batch;
        preRead = buf;
        return true;
    }

    /** After the loop handed out its events: a batched read nobody took (the channel closed meanwhile) is dropped. */
    final void batchedReadDone() {
        ByteBuf pre = preRead;
        if (pre == null) return;
        if (isOpen() && isRegistered()) {
            ((KnotUnsafe) unsafe()).readReady();             // still wanted: deliver it
        } else {
            preRead = null;
            preReadBatch = null;
            pre.release();
        }
    }

    /** Called by the loop's batch: puts this channel's flushed data into it (if still wanted). */
    final void queueBatchedWrite(SocketBatch batch) {
        writeQueued = false;
        queuedDirect = false;
        ChannelOutboundBuffer in = unsafe().outboundBuffer();
        if (in == null || in.isEmpty() || !isActive() || isFlagSet(KnotIoOps.WRITE_BIT)) return;
        try {
            if (!writes.queue(in, batch)) queuedDirect = true;
        } catch (Exception e) {
            queuedDirect = true;                              // the direct write meets the same failure and reports it
        }
    }

    /** Called by the loop's batch after its submission: takes this channel's result, as {@link #doWrite} would. */
    final void batchedWriteDone(SocketBatch batch) {
        if (queuedDirect) {
            queuedDirect = false;
            writeNow();
            return;
        }
        ChannelOutboundBuffer in = unsafe().outboundBuffer();
        if (in == null) {
            writes.discardBatched();                          // closed by a listener of an earlier channel's write
            return;
        }
        try {
            if (writes.batchedDone(in, batch) == StreamWrites.SNDBUF_FULL) {
                setFlag(KnotIoOps.WRITE_BIT);                 // the kernel's buffer is full: wait for WRITE
            } else if (!in.isEmpty()) {
                writeNow();                                   // more than one batched write holds, or flushed since
            }
        } catch (IOException e) {
            ((StreamUnsafe) unsafe()).writeFailed(e);
        }
    }

    /** Writes what is flushed now, past the batch: before a close or shutdown, or what the batch could not take. */
    final void writeNow() {
        writeQueued = false;
        if (writeDirect) return;
        writeDirect = true;
        try {
            ((KnotUnsafe) unsafe()).flushNow();
        } finally {
            writeDirect = false;
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        if (!writeDirect && !isFlagSet(KnotIoOps.WRITE_BIT) && in.current() instanceof ByteBuf) {
            KnotIoHandler h = loopHandler();
            if (h != null && h.queueWrite(this)) return;     // goes out with the loop's batch, before its next wait
        }
        int spins = config().getWriteSpinCount();
        do {
            int size = in.size();
            if (size == 0) {
                clearFlag(KnotIoOps.WRITE_BIT);
                return;
            }
            spins -= size > 1 && in.current() instanceof ByteBuf ? writes.gathering(in) : writes.single(in);
        } while (spins > 0);
        if (spins == 0) {
            // Out of spins but not blocked: let other channels run, then go on.
            clearFlag(KnotIoOps.WRITE_BIT);
            eventLoop().execute(flushTask);
        } else {
            setFlag(KnotIoOps.WRITE_BIT);                     // the kernel's buffer is full: wait for WRITE
        }
    }

    @Override
    protected abstract StreamUnsafe newUnsafe();

    class StreamUnsafe extends KnotUnsafe {
        @Override
        public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
            if (promise.isDone() || !ensureOpen(promise)) return;
            try {
                if (connectPromise != null) throw new ConnectionPendingException();
                boolean wasActive = isActive();
                if (doConnect(remoteAddress, localAddress)) {
                    connected(promise, wasActive);
                    return;
                }
                connectPromise = promise;
                requestedRemote = remoteAddress;
                int timeout = config().getConnectTimeoutMillis();
                if (timeout > 0) {
                    connectTimeoutFuture = eventLoop().schedule(() -> {
                        ChannelPromise p = connectPromise;
                        if (p != null && !p.isDone() && p.tryFailure(new ConnectTimeoutException(
                                "connection timed out after " + timeout + " ms: " + remoteAddress))) {
                            close(voidPromise());
                        }
                    }, timeout, TimeUnit.MILLISECONDS);
                }
                promise.addListener((ChannelFutureListener) f -> {
                    if (f.isCancelled()) {
                        if (connectTimeoutFuture != null) connectTimeoutFuture.cancel(false);
                        connectPromise = null;
                        close(voidPromise());
                    }
                });
            } catch (Throwable t) {
                closeIfClosed();
                promise.tryFailure(annotateConnectException(t, remoteAddress));
            }
        }

        private void connected(ChannelPromise promise, boolean wasActive) {
            active = true;
            submitOps();                                      // now watch for the peer's FIN
            boolean nowActive = isActive();
            boolean set = promise.trySuccess();
            if (!wasActive && nowActive) pipeline().fireChannelActive();
            if (!set) close(voidPromise());                   // cancelled meanwhile
        }

        private void finishConnect() {
            boolean stillInProgress = false;
            try {
                boolean wasActive = isActive();
                if (!doFinishConnect()) {
                    stillInProgress = true;
                    return;
                }
                connected(connectPromise, wasActive);
            } catch (Throwable t) {
                ChannelPromise p = connectPromise;
                if (p != null) {
                    p.tryFailure(annotateConnectException(t, requestedRemote));
                    closeIfClosed();
                }
            } finally {
                if (!stillInProgress) {
                    if (connectTimeoutFuture != null) connectTimeoutFuture.cancel(false);
                    connectPromise = null;
                }
            }
        }

        @Override
        void writeReady() {
            if (connectPromise != null) {
                finishConnect();
            } else if (!outputShutdown) {
                writeDirect = true;                           // the kernel has room again: write now
                try {
                    super.writeReady();
                } finally {
                    writeDirect = false;
                }
            } else {
                clearFlag(KnotIoOps.WRITE_BIT);
            }
        }

        void writeFailed(Throwable t) {
            handleWriteError(t);
        }

        @Override
        protected void close(ChannelPromise promise, Throwable cause, ClosedChannelException closeCause) {
            // Data flushed before the close goes out first, as it would have without the batch.
            if (writeQueued && isOpen()) writeNow();
            super.close(promise, cause, closeCause);
        }

        @Override
        protected Executor prepareToClose() {
            try {
                // close(2) lingers with SO_LINGER > 0: do it off the loop, after taking the socket off the kqueue.
                if (isOpen() && streamConfig().getSoLinger() > 0) {
                    doDeregister();
                    return GlobalEventExecutor.INSTANCE;
                }
            } catch (Throwable ignored) {
                // Close on the loop then.
            }
            return null;
        }

        private boolean shouldBreakReadReady(ChannelConfig config) {
            return inputShutdown && (inputClosedSeenErrorOnRead || !streamConfig().isAllowHalfClosure());
        }

        @Override
        void readReady() {
            ChannelConfig config = config();
            ByteBuf pre = preRead;
            preRead = null;
            if (pre == null && (socket == null || shouldBreakReadReady(config))) {
                clearReadFlag();
                submitOps();                                  // and end the FIN watch
                return;
            }
            ChannelPipeline pipeline = pipeline();
            ByteBufAllocator allocator = config.getAllocator();
            RecvByteBufAllocator.Handle handle = recvBufAllocHandle();
            if (pre == null) handle.reset(config);            // else the batch's read began this round
            ByteBuf buf = null;
            boolean close = false;
            try {
                do {
                    if (pre != null) {
                        buf = pre;
                        pre = null;
                        handle.lastBytesRead(preReadResult(buf));
                    } else {
                        buf = handle.allocate(allocator);
                        handle.lastBytesRead(readInto(buf, handle));
                    }
                    if (handle.lastBytesRead() <= 0) {
                        buf.release();
                        buf = null;
                        close = handle.lastBytesRead() < 0;
                        if (close) readPending = false;
                        break;
                    }
                    handle.incMessagesRead(1);
                    readPending = false;
                    pipeline.fireChannelRead(buf);
                    buf = null;
                } while (handle.continueReading());
                handle.readComplete();
                pipeline.fireChannelReadComplete();
                if (close) closeOnRead(pipeline);
            } catch (Throwable t) {
                readFailed(pipeline, buf, t, close, handle);
            } finally {
                if (!readPending && !config.isAutoRead()) clearReadFlag();
            }
        }

        private int preReadResult(ByteBuf buf) throws IOException {
            SocketBatch b = preReadBatch;
            preReadBatch = null;
            int n = b.readResult(preReadOp);
            if (n > 0) buf.writerIndex(buf.writerIndex() + n);
            return n;
        }

        private int readInto(ByteBuf buf, RecvByteBufAllocator.Handle handle) throws IOException {
            int writable = buf.writableBytes();
            handle.attemptedBytesRead(writable);
            int index = buf.writerIndex();
            int n;
            if (buf.hasMemoryAddress()) {
                n = socket.readAddress(buf.memoryAddress() + index, writable);
            } else if (buf.isDirect() && buf.nioBufferCount() == 1) {
                n = socket.read(buf.internalNioBuffer(index, writable));
            } else {
                // A heap buffer: the kernel writes native memory, so read into a direct buffer and copy.
                ByteBuf staging = alloc().directBuffer(writable);
                try {
                    n = staging.hasMemoryAddress() ? socket.readAddress(staging.memoryAddress(), writable)
                            : socket.read(staging.internalNioBuffer(0, writable));
                    if (n > 0) buf.setBytes(index, staging, 0, n);
                } finally {
                    staging.release();
                }
            }
            if (n > 0) buf.writerIndex(index + n);
            return n;
        }

        private void readFailed(ChannelPipeline pipeline, ByteBuf buf, Throwable cause, boolean close,
                                RecvByteBufAllocator.Handle handle) {
            if (buf != null) {
                if (buf.isReadable()) {
                    readPending = false;
                    pipeline.fireChannelRead(buf);
                } else {
                    buf.release();
                }
            }
            handle.readComplete();
            pipeline.fireChannelReadComplete();
            pipeline.fireExceptionCaught(cause);
            if (close || cause instanceof OutOfMemoryError || cause instanceof IOException) closeOnRead(pipeline);
        }

        private void closeOnRead(ChannelPipeline pipeline) {
            if (!inputShutdown) {
                if (streamConfig().isAllowHalfClosure()) {
                    try {
                        socket.shutdownInput();
                    } catch (IOException ignored) {
                        // Already reset or gone: end of input all the same.
                    }
                    inputShutdown();
                    pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
                } else {
                    close(voidPromise());
                }
            } else if (!inputClosedSeenErrorOnRead) {
                inputClosedSeenErrorOnRead = true;
                submitOps();                                  // all read: end the FIN watch
                pipeline.fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
            }
        }
    }
}
