// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;

/**
 * The Netty baseline for the echo ping-pong: Netty's native epoll transport (JNI), one event loop thread serving
 * both the listener and the connections; the handler writes every buffer back and flushes at read-complete.
 *
 * <p>Usage: {@code NettyEchoServer [knot|epoll|io_uring|nio] PORT} (epoll when only the port is given)
 */
public final class NettyEchoServer {
    private NettyEchoServer() {}

    @ChannelHandler.Sharable
    static final class Echo extends NettyTransports.FlushingHandler {
        static final Echo INSTANCE = new Echo();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }
    }

    public static void main(String[] args) throws Exception {
        String transport = NettyTransports.transport(args);
        int port = NettyTransports.port(args);
        EventLoopGroup group = NettyTransports.group(transport, 1);
        NettyTransports.serve(transport, group, port, "echo server", p -> p.addLast(Echo.INSTANCE));
    }
}
