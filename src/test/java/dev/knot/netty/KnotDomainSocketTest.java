// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.unix.DomainSocketAddress;

import java.net.ConnectException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Unix-domain channels with Netty's DomainSocketAddress (and the JDK's), as Netty's epoll users write them. */
class KnotDomainSocketTest {
    private EventLoopGroup group;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, KnotIoHandler.newFactory());
        dir = Files.createTempDirectory("knot-netty-uds");
    }

    @AfterEach
    void tearDown() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        try (var s = Files.list(dir)) {
            s.forEach(p -> p.toFile().delete());
        }
        Files.delete(dir);
    }

    @Test
    void echoOverDomainSocketAndTheFileGoesAwayAtClose() throws Exception {
        Path path = dir.resolve("echo.sock");
        Channel server = new ServerBootstrap().group(group).channel(KnotServerDomainSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ctx.writeAndFlush(msg);
                    }
                })
                .bind(new DomainSocketAddress(path.toString())).sync().channel();
        assertTrue(Files.exists(path), "bind creates the socket file");
        assertEquals(new DomainSocketAddress(path.toString()), server.localAddress());

        CompletableFuture<String> got = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        Channel client = new Bootstrap().group(group).channel(KnotDomainSocketChannel.class)
                .handler(new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                        sb.append(msg.toString(StandardCharsets.UTF_8));
                        if (sb.length() >= 5) got.complete(sb.toString());
                    }
                })
                .connect(UnixDomainSocketAddress.of(path)).sync().channel();   // the JDK's address works too
        assertInstanceOf(DomainSocketAddress.class, client.remoteAddress());
        assertEquals(path.toString(), ((DomainSocketAddress) client.remoteAddress()).path());
        client.writeAndFlush(Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8));
        assertEquals("hello", got.get(10, TimeUnit.SECONDS));

        client.close().sync();
        server.close().sync();
        assertFalse(Files.exists(path), "closing the server removes its socket file");
    }

    @Test
    void connectingToAPathNobodyListensOnFails() throws Exception {
        ChannelFuture f = new Bootstrap().group(group).channel(KnotDomainSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new DomainSocketAddress(dir.resolve("nobody.sock").toString()));
        assertTrue(f.await(10, TimeUnit.SECONDS));
        assertInstanceOf(ConnectException.class, f.cause(), String.valueOf(f.cause()));
        assertFalse(f.channel().isOpen());
    }
}
