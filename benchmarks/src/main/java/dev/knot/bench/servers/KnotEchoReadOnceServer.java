package dev.knot.bench.servers;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * A diagnostic variant of the echo server on Knot's {@link EventLoop}, doing per readiness exactly what
 * {@link NioEchoServer} does: one read, then write everything back (WRITE interest until a partial write drains).
 * Knot's own example ({@code dev.knot.examples.EchoServer}) reads until the socket would block, one more
 * {@code recv} per round trip; running both shows how much of a difference to NIO is the example's system-call
 * pattern and how much is the loop. TCP_NODELAY on, as in the NIO and Netty servers.
 *
 * <p>Usage: {@code KnotEchoReadOnceServer PORT}
 */
public final class KnotEchoReadOnceServer {
    private KnotEchoReadOnceServer() {}

    private static final int BUFFER = 16 * 1024;

    static final class Conn implements Pollable, AutoCloseable, EventLoop.Handler {
        final StreamSocket socket;
        final Arena arena = Arena.ofConfined();
        final MemorySegment buf = arena.allocate(BUFFER);
        int start, end;
        Key key;

        Conn(StreamSocket socket) {
            this.socket = socket;
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        @Override
        public void ready(Key k) throws IOException {
            if ((k.readyOps() & Key.ERROR) != 0) {
                close();
                return;
            }
            if (k.isWritable()) {
                if (!flush()) return;
                k.interest(Selector.OP_READ);
                return;
            }
            if (k.isReadable()) {
                int n = socket.read(buf);
                if (n < 0) {
                    close();
                    return;
                }
                start = 0;
                end = n;
                if (!flush()) k.interest(Selector.OP_WRITE);
            }
        }

        boolean flush() throws IOException {
            while (start < end) {
                int n = socket.write(buf, start, end - start);
                if (n == 0) return false;
                start += n;
            }
            start = end = 0;
            return true;
        }

        @Override
        public void close() throws IOException {
            if (key != null && key.isValid()) key.cancelForClose();
            socket.close();
            if (arena.scope().isAlive()) arena.close();
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        EventLoop loop = EventLoop.open();
        ListenSocket listener = ListenSocket.bind(new InetSocketAddress("127.0.0.1", port));
        loop.register(listener, Selector.OP_READ, k -> {
            StreamSocket s;
            while ((s = listener.accept()) != null) {
                s.setTcpNoDelayIfTcp();
                Conn c = new Conn(s);
                c.key = loop.register(c, Selector.OP_READ, c);
            }
        });
        System.out.println("knot echo server (one read per event) on " + listener.localAddress());
        loop.run();
    }
}
