// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import dev.knot.netty.KnotIoHandler;
import dev.knot.netty.KnotServerSocketChannel;
import dev.knot.netty.KnotSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketTestPermutation;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Netty's socket testsuite against the Knot transport, as Netty runs it against epoll: Knot server with Knot client,
 * Knot server with NIO client, NIO server with Knot client (NIO with NIO is Netty's own business and left out).
 */
public final class KnotSocketTestPermutation extends SocketTestPermutation {
    public static final KnotSocketTestPermutation INSTANCE = new KnotSocketTestPermutation();

    static final EventLoopGroup KNOT_BOSS = new MultiThreadIoEventLoopGroup(1,
            new DefaultThreadFactory("testsuite-knot-boss", true), KnotIoHandler.newFactory());
    static final EventLoopGroup KNOT_WORKER = new MultiThreadIoEventLoopGroup(2,
            new DefaultThreadFactory("testsuite-knot-worker", true), KnotIoHandler.newFactory());

    private KnotSocketTestPermutation() {
    }

    /**
     * The allocators: Netty's testsuite runs pooled and adaptive; with {@code -Dknot.netty.allAllocators=false}
     * (the default, to keep CI short) only the pooled one, which is Netty's default for its native transports.
     */
    public static List<ByteBufAllocator> allocators() {
        if (Boolean.getBoolean("knot.netty.allAllocators")) return TestsuitePermutation.allocator();
        List<ByteBufAllocator> l = new ArrayList<>();
        l.add(PooledByteBufAllocator.DEFAULT);
        return l;
    }

    @Override
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socket() {
        List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> list = combo(serverSocket(), clientSocket());
        list.remove(list.size() - 1);                         // NIO server with NIO client
        return list;
    }

    @Override
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socketWithFastOpen() {
        return socket();
    }

    @Override
    public List<BootstrapFactory<ServerBootstrap>> serverSocket() {
        List<BootstrapFactory<ServerBootstrap>> l = new ArrayList<>();
        l.add(() -> new ServerBootstrap().group(KNOT_BOSS, KNOT_WORKER).channel(KnotServerSocketChannel.class));
        l.add(() -> new ServerBootstrap().group(NIO_GROUP).channel(NioServerSocketChannel.class));
        return l;
    }

    @Override
    public List<BootstrapFactory<Bootstrap>> clientSocket() {
        List<BootstrapFactory<Bootstrap>> l = new ArrayList<>();
        l.add(() -> new Bootstrap().group(KNOT_WORKER).channel(KnotSocketChannel.class));
        l.add(() -> new Bootstrap().group(NIO_GROUP).channel(NioSocketChannel.class));
        return l;
    }

    @Override
    public List<BootstrapFactory<Bootstrap>> clientSocketWithFastOpen() {
        return clientSocket();
    }

    /**
     * Knot server with Knot client only: for the slow classes (TLS echo's 96 parameter sets, traffic shaping's timed
     * runs, gathering writes of large buffers), whose mixed runs with NIO would triple CI time for little.
     */
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> knotOnly() {
        List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> list = combo(serverSocket(), clientSocket());
        return list.subList(0, 1);
    }

    /** Only Knot's own client (for the client-side tests, whose NIO run is Netty's business). */
    public List<BootstrapFactory<Bootstrap>> knotClientSocket() {
        List<BootstrapFactory<Bootstrap>> l = clientSocket();
        l.remove(l.size() - 1);
        return l;
    }

    /** Only Knot's own server (for the server-side tests). */
    public List<BootstrapFactory<ServerBootstrap>> knotServerSocket() {
        List<BootstrapFactory<ServerBootstrap>> l = serverSocket();
        l.remove(l.size() - 1);
        return l;
    }
}
