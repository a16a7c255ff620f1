// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * What the event loop allocates per event: a one-byte echo ping-pong against a Knot server whose handler writes with
 * the void promise (so that nothing but the transport runs on the loop), measured with the loop thread's allocation
 * counter (com.sun.management.ThreadMXBean) over many round trips after a warm-up. Each round trip is a READ event, a
 * read into a pooled buffer, a write and a kevent wait on the loop.
 *
 * <p>The transport's own code allocates nothing there (JFR's allocation samples on the loop thread show none of its
 * frames). What remains, tens of bytes per round trip and varying between runs, is the JDK's slice of the errno
 * capture segment ({@code SharedUtils.checkCaptureSegment}) in downcalls made with {@code captureCallState}, which C2
 * scalar-replaces only when it inlines the whole downcall; deep in Netty's flush path it often does not. So this test
 * guards against regressions (a promise, an event object or a boxed value per event would exceed the bound) rather
 * than asserting zero.
 */
class KnotLoopAllocationTest {
    static final int WARMUP = 30_000, ROUNDS = 20_000;
    /** The bound: above the JDK's capture-state slices seen (up to ~60 B), below any per-event object of ours on top. */
    static final long MAX_BYTES_PER_ROUND_TRIP = 128;

    @Test
    void echoRoundTripsAllocateNothingOnTheLoopThread() throws Exception {
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, KnotIoHandler.newFactory());
        try {
            EventLoop loop = group.next();
            long tid = loop.submit(() -> Thread.currentThread().threadId()).get(10, TimeUnit.SECONDS);
            Channel server = new ServerBootstrap().group(group).channel(KnotServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg, ctx.voidPromise());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(10_000);
                s.connect(server.localAddress());
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                pingPong(in, out, WARMUP);
                long before = mx.getThreadAllocatedBytes(tid);
                pingPong(in, out, ROUNDS);
                long after = mx.getThreadAllocatedBytes(tid);
                long perRound = (after - before) / ROUNDS;
                System.out.println("Knot event loop: " + (after - before) + " bytes allocated in " + ROUNDS
                        + " echo round trips (" + (double) (after - before) / ROUNDS + " bytes per round trip)");
                assertTrue(before > 0, "the allocation counter works on this JVM");
                assertTrue(perRound <= MAX_BYTES_PER_ROUND_TRIP, perRound + " bytes allocated per round trip on the loop thread");
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    private static void pingPong(InputStream in, OutputStream out, int rounds) throws Exception {
        for (int i = 0; i < rounds; i++) {
            out.write(i);
            int b = in.read();
            if (b != (i & 0xff)) throw new AssertionError("round " + i + ": got " + b);
        }
    }
}
