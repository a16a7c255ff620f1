package dev.knot.examples;

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
import java.net.SocketAddress;

/**
 * An echo server on one {@link EventLoop}: every byte a client sends comes back. When a client reads slower than
 * it writes, the server stops reading from it (READ interest off) until the WRITE filter says its send buffer has
 * room again: backpressure, not buffering. A client that half-closes gets everything echoed, then EOF.
 *
 * <p>Run: {@code java -cp knot.jar dev.knot.examples.EchoServer [port]}.
 */
public final class EchoServer {
    private static final int BUFFER = 16 * 1024;

    private final EventLoop loop;
    private final ListenSocket listener;
    private long connections;

    private EchoServer(EventLoop loop, ListenSocket listener) {
        this.loop = loop;
        this.listener = listener;
    }

    /** Binds {@code address} and serves on {@code loop}; call on the loop thread or before it runs. */
    public static EchoServer start(EventLoop loop, SocketAddress address) throws IOException {
        ListenSocket l = ListenSocket.bind(address);
        EchoServer server = new EchoServer(loop, l);
        loop.register(l, Selector.OP_READ, server::accept);
        return server;
    }

    public ListenSocket listener() {
        return listener;
    }

    /** Connections accepted so far. */
    public long connections() {
        return connections;
    }

    private void accept(Key key) throws IOException {
        listener.acceptAll(loop, key, s -> {
            connections++;
            Connection c = new Connection(s);
            c.key = loop.register(c, Selector.OP_READ, c::ready);
        });
    }

    /** One client: bytes read but not yet echoed live in [start, end) of the buffer. */
    private static final class Connection implements Pollable, AutoCloseable {
        final StreamSocket socket;
        final Arena arena = Arena.ofConfined();
        final MemorySegment buf = arena.allocate(BUFFER);
        int start, end;
        boolean inputDone;
        Key key;

        Connection(StreamSocket socket) {
            this.socket = socket;
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        void ready(Key k) throws IOException {
            if ((k.readyOps() & Key.ERROR) != 0) {
                close();
                return;
            }
            if (k.isWritable() && !flush()) return;
            // One read per readiness: READ is level-triggered, so what is left is reported again, and reading until
            // the socket would block costs every request one more recv that returns nothing.
            if (k.isReadable() && !inputDone && end < BUFFER) {
                int n = socket.read(buf, end, BUFFER - end);
                if (n < 0) {
                    inputDone = true;
                } else if (n > 0) {
                    end += n;
                    if (!flush()) return;
                }
            }
            if (inputDone && start == end) {
                socket.shutdownOutput();
                close();
            }
        }

        /** Writes what is pending; false if the socket could not take it all (then waits for WRITE). */
        boolean flush() throws IOException {
            while (start < end) {
                int n = socket.write(buf, start, end - start);
                if (n == 0) {
                    key.interest(Selector.OP_WRITE);     // stop reading until the peer catches up
                    return false;
                }
                start += n;
            }
            start = end = 0;
            if (key.interest() != Selector.OP_READ) key.interest(inputDone ? 0 : Selector.OP_READ);
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
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7007;
        EventLoop loop = EventLoop.open();
        EchoServer s = start(loop, new InetSocketAddress("127.0.0.1", port));
        System.out.println("echo server on " + s.listener().localAddress());
        loop.run();
    }
}
