// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.ResourceLeakDetector;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * What the event loop allocates per event: a one-byte echo ping-pong against a Knot server whose handler writes with
 * the void promise (so that nothing but the transport runs on the loop), measured with the loop thread's allocation
 * counter (com.sun.management.ThreadMXBean). Each round trip is a READ event, a read into a pooled buffer, a write
 * and a kevent wait on the loop; a second case holds the first of two bytes so that each flush is a gathering write
 * (writev of two iovecs).
 *
 * <p>The assertion is zero: after a warm-up, the loop reaches a steady state in which {@link #BATCH} consecutive
 * round trips, twice in a row, allocate no byte at all. Batches are measured until that happens (for at most
 * {@link #MAX_SECONDS} s), because until C2 has compiled the downcalls' adapter chains their C1 code allocates the
 * JDK's call-state slice (40 B per downcall made with {@code captureCallState}: recv, send and epoll_pwait2 here, so
 * 120 B per round trip), and on a loaded machine C2 can be tens of seconds late; with {@code -XX:-TieredCompilation}
 * the first two batches are already zero. A per-event object of ours would never reach zero. What had to go for zero
 * (see {@code bindings/README.md}): {@code MemorySegment.ofAddress} per read and write (a framework's buffers now go
 * to {@code recv$raw} and {@code send$raw} by address), and the slice escaping in C2 code, which happened whenever
 * the JIT inlined a downcall into the loop's large run method and ran out of inlining budget inside the JDK's adapter
 * chain; the generated bindings now call through a non-final handle, so that chain is a compilation unit of its own
 * and the slice is always scalar-replaced there.
 *
 * <p>Netty's leak detector is off for the test: at its default level it wraps one buffer in 128 and records a stack
 * trace, about 10 B per round trip of Netty's own, not the transport's.
 */
class KnotLoopAllocationTest {
    static final int WARMUP = 30_000, BATCH = 5_000, MAX_SECONDS = 90;

    @Test
    void echoRoundTripsAllocateNothingOnTheLoopThread() throws Exception {
        measure("echo", 1, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg, ctx.voidPromise());
            }
        });
    }

    /** Two buffers in the outbound buffer at the flush: one writev of two iovecs instead of one send. */
    @Test
    void gatheringWritesAllocateNothingOnTheLoopThread() throws Exception {
        measure("gathering-write", 2, new ChannelInboundHandlerAdapter() {
            private ByteBuf held;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                // Each round trip is two bytes; they may come in one read or two. Hold the first byte of a round trip
                // and send both when the second arrives: two buffers, one flush.
                ByteBuf b = (ByteBuf) msg;
                while (b.isReadable()) {
                    if (held == null) {
                        held = b.readRetainedSlice(1);
                    } else {
                        ctx.write(held, ctx.voidPromise());
                        held = null;
                        ctx.write(b.readRetainedSlice(1), ctx.voidPromise());
                        ctx.flush();
                    }
                }
                b.release();
            }
        });
    }

    private static void measure(String what, int bytesPerRound, ChannelInboundHandlerAdapter handler) throws Exception {
        ResourceLeakDetector.Level leakLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, KnotIoHandler.newFactory());
        try {
            EventLoop loop = group.next();
            long tid = loop.submit(() -> Thread.currentThread().threadId()).get(10, TimeUnit.SECONDS);
            Channel server = new ServerBootstrap().group(group).channel(KnotServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(handler)
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(10_000);
                s.connect(server.localAddress());
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] buf = new byte[bytesPerRound];
                pingPong(in, out, buf, WARMUP);
                assertTrue(mx.getThreadAllocatedBytes(tid) > 0, "the allocation counter works on this JVM");
                List<Long> batches = new ArrayList<>();
                int zeros = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(MAX_SECONDS);
                while (zeros < 2 && System.nanoTime() < deadline) {
                    long before = mx.getThreadAllocatedBytes(tid);
                    pingPong(in, out, buf, BATCH);
                    long bytes = mx.getThreadAllocatedBytes(tid) - before;
                    batches.add(bytes);
                    zeros = bytes == 0 ? zeros + 1 : 0;
                }
                System.out.println("Knot event loop (" + what + "): bytes allocated per batch of " + BATCH
                        + " round trips after " + WARMUP + " of warm-up: " + batches);
                assertEquals(2, zeros, what + ": no two consecutive batches of " + BATCH + " round trips without allocation"
                        + " on the loop thread in " + MAX_SECONDS + " s; bytes per batch: " + batches);
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            ResourceLeakDetector.setLevel(leakLevel);
        }
    }

    private static void pingPong(InputStream in, OutputStream out, byte[] buf, int rounds) throws Exception {
        for (int i = 0; i < rounds; i++) {
            for (int k = 0; k < buf.length; k++) buf[k] = (byte) (i + k);
            out.write(buf);
            for (int k = 0; k < buf.length; k++) {
                int b = in.read();
                if (b != ((i + k) & 0xff)) throw new AssertionError("round " + i + ", byte " + k + ": got " + b);
            }
        }
    }
}
