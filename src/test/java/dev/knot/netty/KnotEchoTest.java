// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;

import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Knot transport's first proof: a Netty echo server and client, both on Knot loops, over IPv4 and IPv6. */
class KnotEchoTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(2, KnotIoHandler.newFactory());
    }

    @AfterAll
    static void stop() throws InterruptedException {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static byte[] echo(InetAddress host, byte[] data) throws Exception {
        ServerBootstrap sb = new ServerBootstrap().group(group).channel(KnotServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Echo());
                    }
                });
        Channel server = sb.bind(new InetSocketAddress(host, 0)).sync().channel();
        try {
            assertInstanceOf(KnotServerSocketChannel.class, server);
            CompletableFuture<byte[]> received = new CompletableFuture<>();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Bootstrap cb = new Bootstrap().group(group).channel(KnotSocketChannel.class)
                    .handler(new SimpleChannelInboundHandler<ByteBuf>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                            byte[] b = new byte[msg.readableBytes()];
                            msg.readBytes(b);
                            got.writeBytes(b);
                            if (got.size() >= data.length) received.complete(got.toByteArray());
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            received.completeExceptionally(cause);
                        }
                    });
            Channel client = cb.connect(server.localAddress()).sync().channel();
            try {
                assertEquals(server.localAddress(), client.remoteAddress());
                // Many small writes, flushed in batches, so the outbound buffer holds several and writev gathers them.
                int off = 0, i = 0;
                while (off < data.length) {
                    int n = Math.min(data.length - off, 1 + (i++ * 7919) % 20_000);
                    ByteBuf b = i % 2 == 0 ? Unpooled.wrappedBuffer(data, off, n) : client.alloc().directBuffer(n).writeBytes(data, off, n);
                    ChannelFuture f = client.write(b);
                    off += n;
                    if (i % 5 == 0) client.flush();
                    if (i % 50 == 0) f.sync();
                }
                client.flush();
                return received.get(20, TimeUnit.SECONDS);
            } finally {
                client.close().sync();
            }
        } finally {
            server.close().sync();
        }
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }

    @Test
    void echoesOverIPv4() throws Exception {
        byte[] data = random(4 << 20);
        assertArrayEquals(data, echo(InetAddress.getByName("127.0.0.1"), data));
    }

    @Test
    void echoesOverIPv6() throws Exception {
        InetAddress v6;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            v6 = probe.getInetAddress();
        } catch (java.io.IOException noIPv6) {
            org.junit.jupiter.api.Assumptions.abort("no IPv6 loopback on this host: " + noIPv6);
            return;
        }
        byte[] data = random(1 << 20);
        assertArrayEquals(data, echo(v6, data));
    }

    @Test
    void refusedConnectFailsTheFuture() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        ChannelFuture f = new Bootstrap().group(group).channel(KnotSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("127.0.0.1", port));
        assertTrue(f.await(10, TimeUnit.SECONDS));
        assertInstanceOf(ConnectException.class, f.cause(), String.valueOf(f.cause()));
        assertTrue(f.channel().closeFuture().await(5, TimeUnit.SECONDS));
    }
}
