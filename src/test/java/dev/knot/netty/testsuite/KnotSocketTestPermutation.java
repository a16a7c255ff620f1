// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import dev.knot.netty.KnotDomainSocketChannel;
import dev.knot.netty.KnotIoHandler;
import dev.knot.netty.KnotServerDomainSocketChannel;
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
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketTestPermutation;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Netty's socket testsuite against the Knot transport, as Netty runs it against epoll: Knot server with Knot client,
 * Knot server with NIO client, NIO server with Knot client (NIO with NIO is Netty's own business and left out).
 */
public final class KnotSocketTestPermutation extends SocketTestPermutation {
    public static final KnotSocketTestPermutation INSTANCE = new KnotSocketTestPermutation();

    /**
     * {@code -Dknot.netty.full=true}: everything Netty's own run has (both allocators, the NIO mixes of the slow
     * classes, the whole TLS matrix). Off by default to keep CI short.
     */
    public static final boolean FULL = Boolean.getBoolean("knot.netty.full");

    static final EventLoopGroup KNOT_BOSS = new MultiThreadIoEventLoopGroup(1,
            new DefaultThreadFactory("testsuite-knot-boss", true), KnotIoHandler.newFactory());
    static final EventLoopGroup KNOT_WORKER = new MultiThreadIoEventLoopGroup(2,
            new DefaultThreadFactory("testsuite-knot-worker", true), KnotIoHandler.newFactory());

    private KnotSocketTestPermutation() {
    }

    /**
     * The allocators: Netty's testsuite runs pooled and adaptive; CI runs only the pooled one (Netty's default
     * allocator for its native transports), {@link #FULL} both.
     *
     * @return the allocators to run each test with
     */
    public static List<ByteBufAllocator> allocators() {
        if (FULL) return TestsuitePermutation.allocator();
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
        if (FULL) return socket();
        List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> list = combo(serverSocket(), clientSocket());
        return list.subList(0, 1);
    }

    /** Knot's Unix-domain server with Knot's Unix-domain client. */
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> domainSocket() {
        List<BootstrapFactory<ServerBootstrap>> servers = new ArrayList<>();
        servers.add(() -> new ServerBootstrap().group(KNOT_BOSS, KNOT_WORKER).channel(KnotServerDomainSocketChannel.class));
        List<BootstrapFactory<Bootstrap>> clients = new ArrayList<>();
        clients.add(() -> new Bootstrap().group(KNOT_WORKER).channel(KnotDomainSocketChannel.class));
        return combo(servers, clients);
    }

    /**
     * A fresh socket path in one directory of this JVM's, removed with everything in it when the JVM exits: Netty's
     * tests do not always close a server channel (which removes the socket it bound), and /tmp must stay clean.
     */
    public static DomainSocketAddress newDomainSocketAddress() {
        return new DomainSocketAddress(SOCKETS.resolve("s" + SOCKET_SEQ.incrementAndGet()).toString());
    }

    private static final java.util.concurrent.atomic.AtomicInteger SOCKET_SEQ = new java.util.concurrent.atomic.AtomicInteger();
    private static final Path SOCKETS = socketDirectory();

    private static Path socketDirectory() {
        try {
            Path dir = Files.createTempDirectory("knot-netty-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (var s = Files.list(dir)) {
                    for (Path p : s.toList()) Files.deleteIfExists(p);
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    System.err.println("cannot remove " + dir + ": " + e);
                }
            }));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
