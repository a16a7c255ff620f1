// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.IoVecArray;
import dev.knot.net.SocketBatch;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.FileRegion;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A stream channel's writes from its {@link ChannelOutboundBuffer}: one buffer by its address, several gathered into
 * one writev without allocating for plain buffers, a {@link FileRegion} through a channel view of the socket. Each
 * returns the spins it used, or {@link #SNDBUF_FULL} when the kernel took less than offered. Loop thread only.
 */
final class StreamWrites {
    /** Spent all spins: the kernel's buffer is full, wait for WRITE. */
    static final int SNDBUF_FULL = Integer.MAX_VALUE;
    /** Bytes one writev may gather at most, so a huge outbound buffer is not gathered in full. */
    private static final long MAX_GATHER = Integer.MAX_VALUE - 1L;

    private final AbstractKnotStreamChannel ch;
    private final Gather gather = new Gather();
    private int batchOp = -1;                             // this channel's write in the loop's batch, if any
    private long batchAttempted;
    private WritableByteChannel byteChannel;

    StreamWrites(AbstractKnotStreamChannel ch) {
        this.ch = ch;
    }

    int single(ChannelOutboundBuffer in) throws Exception {
        Object msg = in.current();
        if (msg instanceof ByteBuf buf) {
            int n = buf.readableBytes();
            if (n == 0) {
                in.remove();
                return 0;
            }
            long written;
            if (buf.hasMemoryAddress()) {
                written = ch.socket().writeAddress(buf.memoryAddress() + buf.readerIndex(), n);
            } else {
                IoVecArray iov = iovecs();
                gather.reset(iov, 0, iov.capacity(), Long.MAX_VALUE);
                if (!gather.add(buf) || gather.count == 0) throw new IOException("cannot gather " + buf);
                written = ch.socket().write(iov, gather.count);
            }
            if (written <= 0) return SNDBUF_FULL;
            in.removeBytes(written);
            return 1;
        }
        if (msg instanceof FileRegion region) return writeFileRegion(in, region);
        throw new IllegalStateException("unexpected message type " + msg.getClass().getName());
    }

    /**
     * Queues this channel's flushed buffers as one writev of the loop's batch, or returns false if they do not fit
     * one batched write (a file region first, or more pieces than {@link SocketBatch#IOV_PER_WRITE}): then the caller
     * writes directly. On true, {@link #batchedDone} takes the result after the batch's submission.
     */
    boolean queue(ChannelOutboundBuffer in, SocketBatch batch) throws Exception {
        if (!(in.current() instanceof ByteBuf)) return false;
        int base = batch.iovBase();
        gather.reset(batch.iovecs(), base, SocketBatch.IOV_PER_WRITE, MAX_GATHER);
        in.forEachFlushedMessage(gather);
        if (gather.count == 0) {
            in.removeBytes(0);                                // only empty buffers: drop them
            batchOp = -1;
            return true;
        }
        batchOp = batch.writev(ch.socket(), gather.count);
        batchAttempted = gather.bytes;
        return true;
    }

    /**
     * Applies the result of the write {@link #queue} put in the batch: {@link #SNDBUF_FULL} if the kernel took less
     * than offered, 1 if it took everything, 0 if nothing was queued.
     */
    int batchedDone(ChannelOutboundBuffer in, SocketBatch batch) throws IOException {
        int op = batchOp;
        batchOp = -1;
        if (op < 0) return 0;
        long written = batch.writeResult(op);
        if (written <= 0) return SNDBUF_FULL;
        in.removeBytes(written);
        return written < batchAttempted ? SNDBUF_FULL : 1;
    }

    /** Forgets the write queued in the batch (the channel closed before its result was taken). */
    void discardBatched() {
        batchOp = -1;
    }

    int gathering(ChannelOutboundBuffer in) throws Exception {
        IoVecArray iov = iovecs();
        gather.reset(iov, 0, iov.capacity(), MAX_GATHER);
        in.forEachFlushedMessage(gather);
        if (gather.count == 0) {
            in.removeBytes(0);                                // only empty buffers: drop them
            return 0;
        }
        long attempted = gather.bytes;
        long written = ch.socket().write(iov, gather.count);
        if (written <= 0) return SNDBUF_FULL;
        in.removeBytes(written);
        return written < attempted ? SNDBUF_FULL : 1;
    }

    private IoVecArray iovecs() {
        IoVecArray iov = ch.loopArray();
        if (iov == null) throw new IllegalStateException("writing on a channel that is not registered");
        return iov;
    }

    private int writeFileRegion(ChannelOutboundBuffer in, FileRegion region) throws Exception {
        long count = region.count();
        if (region.transferred() >= count) {
            in.remove();
            return 0;
        }
        if (byteChannel == null) byteChannel = new SocketByteChannel();
        long written = region.transferTo(byteChannel, region.transferred());
        if (written > 0) {
            in.progress(written);
            if (region.transferred() >= count) in.remove();
            return 1;
        }
        return SNDBUF_FULL;
    }

    /** Lets a FileRegion write into the socket (the JDK's transferTo copies through direct buffers). */
    private final class SocketByteChannel implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) throws IOException {
            if (src.isDirect()) return ch.socket().write(src);
            ByteBuf tmp = ch.alloc().directBuffer(src.remaining());
            try {
                int pos = src.position();
                tmp.writeBytes(src.duplicate());
                int n = ch.socket().writeAddress(tmp.memoryAddress(), tmp.readableBytes());
                if (n > 0) src.position(pos + n);
                return n;
            } finally {
                tmp.release();
            }
        }

        @Override
        public boolean isOpen() {
            return ch.fdOpen();
        }

        @Override
        public void close() {
            // The channel owns the socket.
        }
    }

    /**
     * Fills {@code limit} entries of an iovec array from {@code base} with the flushed buffers of the outbound buffer,
     * without allocating for plain ones.
     */
    private static final class Gather implements ChannelOutboundBuffer.MessageProcessor {
        IoVecArray iov;
        int count;
        long bytes;
        private int base, limit;
        private long maxBytes;

        void reset(IoVecArray iov, int base, int limit, long maxBytes) {
            this.iov = iov;
            this.base = base;
            this.limit = limit;
            this.count = 0;
            this.bytes = 0;
            this.maxBytes = maxBytes;
        }

        @Override
        public boolean processMessage(Object msg) {
            return msg instanceof ByteBuf buf && add(buf);
        }

        boolean add(ByteBuf buf) {
            int n = buf.readableBytes();
            if (n == 0) return true;
            if (count > 0 && bytes + n > maxBytes) return false;
            if (buf.hasMemoryAddress()) {
                if (count == limit) return false;
                iov.set(base + count++, buf.memoryAddress() + buf.readerIndex(), n);
                bytes += n;
                return true;
            }
            int pieces = buf.nioBufferCount();
            if (count + pieces > limit) return false;
            for (ByteBuffer b : buf.nioBuffers(buf.readerIndex(), n)) {
                int len = b.remaining();
                if (len == 0) continue;
                iov.set(base + count++, MemorySegment.ofBuffer(b).address(), len);
                bytes += len;
            }
            return true;
        }
    }
}
