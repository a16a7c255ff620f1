// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.net.Connection;
import dev.knot.net.ListenSocket;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A line-based chat server on one {@link EventLoop}: every line a client sends goes to every other client as
 * {@code name: line}; {@code /name NEW} renames. Each client is a {@link Connection}, so a client that stops reading
 * costs at most its connection's high water mark: while it is unwritable it misses lines instead of growing a queue.
 * A line longer than 4 KiB closes its sender.
 *
 * <p>Run: {@code java -cp knot.jar:knot-examples.jar dev.knot.examples.ChatServer [port]}, then {@code nc 127.0.0.1 port}.
 */
public final class ChatServer {
    private static final int MAX_LINE = 4096;

    private final EventLoop loop;
    private final ListenSocket listener;
    private final Map<Connection, Member> members = new LinkedHashMap<>();
    private int joined;

    private ChatServer(EventLoop loop, ListenSocket listener) {
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
    public static ChatServer start(EventLoop loop, SocketAddress address) throws IOException {
        ChatServer server = new ChatServer(loop, ListenSocket.bind(address));
        loop.register(server.listener, Selector.OP_READ, k -> server.listener.acceptAll(loop, k, s -> {
            Member m = server.new Member("guest-" + ++server.joined);
            Connection c = Connection.open(loop, s, m);
            server.members.put(c, m);
            c.write(("welcome, " + m.name + "\n").getBytes(StandardCharsets.UTF_8));
            server.broadcast(c, m.name + " joined");
        }));
        return server;
    }

    /** {@return the listening socket} */
    public ListenSocket listener() {
        return listener;
    }

    /** {@return how many clients are connected (loop thread)} */
    public int members() {
        return members.size();
    }

    private void broadcast(Connection from, String text) {
        byte[] line = (text + "\n").getBytes(StandardCharsets.UTF_8);
        for (Connection c : List.copyOf(members.keySet())) {
            if (c != from && c.isWritable()) c.write(line);    // one that fell behind misses lines
        }
    }

    /** One client: its name and the line it is sending. */
    private final class Member implements Connection.Handler {
        String name;
        final ByteArrayOutputStream line = new ByteArrayOutputStream();

        Member(String name) {
            this.name = name;
        }

        @Override
        public void onData(Connection c, MemorySegment data) {
            for (long i = 0; i < data.byteSize() && c.isOpen(); i++) {
                byte b = data.get(ValueLayout.JAVA_BYTE, i);
                if (b == '\n') {
                    said(c, line.toString(StandardCharsets.UTF_8).strip());
                    line.reset();
                } else if (line.size() == MAX_LINE) {
                    c.write("line too long\n".getBytes(StandardCharsets.UTF_8));
                    c.close();
                } else {
                    line.write(b);
                }
            }
        }

        private void said(Connection c, String text) {
            if (text.isEmpty()) return;
            if (text.startsWith("/name ") && !text.substring(6).isBlank()) {
                String old = name;
                name = text.substring(6).strip();
                broadcast(null, old + " is now " + name);
            } else {
                broadcast(c, name + ": " + text);
            }
        }

        @Override
        public void onClose(Connection c, Connection.CloseReason reason, Throwable cause) {
            if (members.remove(c) != null) broadcast(c, name + " left");
        }
    }

    /**
     * Serves on 127.0.0.1.
     *
     * @param args the port (default 7008)
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7008;
        EventLoop loop = EventLoop.open();
        ChatServer s = start(loop, new InetSocketAddress("127.0.0.1", port));
        System.out.println("chat server on " + s.listener().localAddress());
        loop.run();
    }
}
