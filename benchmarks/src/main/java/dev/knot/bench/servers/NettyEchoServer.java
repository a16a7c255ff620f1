// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;

import java.net.InetSocketAddress;

/**
 * The Netty baseline for the echo ping-pong: Netty's native epoll transport (JNI), one event loop thread serving
 * both the listener and the connections; the handler writes every buffer back and flushes at read-complete.
 *
 * <p>Usage: {@code NettyEchoServer [knot|epoll|io_uring|nio] PORT} (epoll when only the port is given)
 */
public final class NettyEchoServer {
    private NettyEchoServer() {}

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        static final Echo INSTANCE = new Echo();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
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

    public static void main(String[] args) throws Exception {
        String transport = NettyTransports.transport(args);
        int port = NettyTransports.port(args);
        EventLoopGroup group = NettyTransports.group(transport, 1);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NettyTransports.serverChannel(transport))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Echo.INSTANCE);
                    }
                });
        Channel ch = b.bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
        System.out.println("netty " + transport + " echo server on " + ch.localAddress());
        ch.closeFuture().sync();
    }
}
