// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.Connection;
import dev.knot.net.ListenSocket;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * An echo server on one {@link EventLoop}: every byte a client sends comes back. Each client is a
 * {@link Connection}; when a client reads slower than it writes, the connection's write queue passes its high water
 * mark and the server stops reading from that client until the queue drains to the low mark: backpressure, with
 * at most the high mark buffered. A client that half-closes gets everything echoed, then EOF.
 *
 * <p>Run: {@code java -cp knot.jar:knot-examples.jar dev.knot.examples.EchoServer [port]}.
 */
public final class EchoServer {
    /** Echoes, and holds the peer back while the queue is above the high mark. */
    private static final Connection.Handler ECHO = new Connection.Handler() {
        @Override
        public void onData(Connection c, MemorySegment data) {
            if (!c.write(data)) c.pauseReading();
        }

        @Override
        public void onWritabilityChanged(Connection c, boolean writable) {
            if (writable) c.resumeReading();
        }
    };

    private final EventLoop loop;
    private final ListenSocket listener;
    private long connections;

    private EchoServer(EventLoop loop, ListenSocket listener) {
        this.loop = loop;
        this.listener = listener;
    }

    /**
     * Binds {@code address} and serves on {@code loop}; call on the loop thread or before it runs.
     *
     * @param loop the loop to serve on
     * @param address where to listen
     * @return the server
     * @throws IOException if the address cannot be bound
     */
    public static EchoServer start(EventLoop loop, SocketAddress address) throws IOException {
        ListenSocket l = ListenSocket.bind(address);
        EchoServer server = new EchoServer(loop, l);
        loop.register(l, Selector.OP_READ, server::accept);
        return server;
    }

    /** {@return the listening socket} */
    public ListenSocket listener() {
        return listener;
    }

    /** {@return the connections accepted so far} */
    public long connections() {
        return connections;
    }

    private void accept(Key key) throws IOException {
        listener.acceptAll(loop, key, s -> {
            connections++;
            Connection.open(loop, s, ECHO);
        });
    }

    /**
     * Serves on 127.0.0.1.
     *
     * @param args the port (default 7007)
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7007;
        EventLoop loop = EventLoop.open();
        EchoServer s = start(loop, new InetSocketAddress("127.0.0.1", port));
        System.out.println("echo server on " + s.listener().localAddress());
        loop.run();
    }
}
