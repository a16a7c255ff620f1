// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import dev.knot.netty.KnotIoHandler;
import dev.knot.netty.KnotServerSocketChannel;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;

import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * The Netty transports the Netty benchmark servers run on: the two lines a Netty user changes (the event loop
 * group's I/O handler factory and the server channel class), by name: {@code knot}, {@code epoll} (native, JNI),
 * {@code io_uring} (native, JNI) and {@code nio}.
 */
final class NettyTransports {
    private NettyTransports() {}

    static EventLoopGroup group(String transport, int threads) {
        IoHandlerFactory f = switch (transport) {
            case "knot" -> KnotIoHandler.newFactory();
            case "epoll" -> {
                Epoll.ensureAvailability();
                yield EpollIoHandler.newFactory();
            }
            case "io_uring" -> {
                IoUring.ensureAvailability();
                yield IoUringIoHandler.newFactory();
            }
            case "nio" -> NioIoHandler.newFactory();
            default -> throw new IllegalArgumentException("unknown transport " + transport + " (knot, epoll, io_uring, nio)");
        };
        return new MultiThreadIoEventLoopGroup(threads, f);
    }

    static Class<? extends ServerChannel> serverChannel(String transport) {
        return switch (transport) {
            case "knot" -> KnotServerSocketChannel.class;
            case "epoll" -> EpollServerSocketChannel.class;
            case "io_uring" -> IoUringServerSocketChannel.class;
            case "nio" -> NioServerSocketChannel.class;
            default -> throw new IllegalArgumentException("unknown transport " + transport + " (knot, epoll, io_uring, nio)");
        };
    }

    /** {@code [TRANSPORT] PORT}: the transport is epoll when only the port is given (the historical baseline). */
    static String transport(String[] args) {
        return args.length > 1 ? args[0] : "epoll";
    }

    static int port(String[] args) {
        return Integer.parseInt(args[args.length - 1]);
    }

    /**
     * Serves on 127.0.0.1:{@code port} until the channel closes, as every Netty benchmark server does: backlog 4096,
     * SO_REUSEADDR, TCP_NODELAY on each connection, whose pipeline {@code handlers} fills.
     */
    static void serve(String transport, EventLoopGroup group, int port, String name, Consumer<ChannelPipeline> handlers)
            throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(serverChannel(transport))
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        handlers.accept(ch.pipeline());
                    }
                });
        Channel ch = b.bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
        System.out.println("netty " + transport + " " + name + " on " + ch.localAddress());
        ch.closeFuture().sync();
    }

    /** A benchmark server's handler: writes as it reads, flushes once per read batch, closes on any error. */
    abstract static class FlushingHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
