// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;
import java.util.function.Supplier;

/**
 * The NIO baselines' one server loop: a listener on 127.0.0.1 (SO_REUSEADDR, backlog 4096), one thread, one
 * {@link Selector}. Each accepted connection gets TCP_NODELAY (as Netty sets by default), READ interest and an
 * attachment of its own; every other readiness goes to the handler, and a connection whose handler throws is
 * closed.
 */
final class NioServe {
    private NioServe() {}

    /** Serves one ready connection. */
    interface Handler {
        void ready(SelectionKey k) throws IOException;
    }

    /**
     * Serves forever.
     *
     * @param name what the start-up line calls the server
     * @param selectMillis the longest select, 0 for none
     * @param onWakeup runs after every select (the HTTP server's clock)
     * @param attachment a new connection's state
     */
    static void run(String name, int port, long selectMillis, Runnable onWakeup, Supplier<Object> attachment, Handler handler)
            throws IOException {
        Selector sel = Selector.open();
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
        server.configureBlocking(false);
        server.register(sel, SelectionKey.OP_ACCEPT);
        System.out.println(name + " on " + server.getLocalAddress());
        while (true) {
            sel.select(selectMillis);
            onWakeup.run();
            Iterator<SelectionKey> it = sel.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey k = it.next();
                it.remove();
                try {
                    if (k.isAcceptable()) {
                        SocketChannel c;
                        while ((c = server.accept()) != null) {
                            c.configureBlocking(false);
                            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            c.register(sel, SelectionKey.OP_READ, attachment.get());
                        }
                    } else {
                        handler.ready(k);
                    }
                } catch (IOException e) {
                    k.cancel();
                    k.channel().close();
                }
            }
        }
    }
}
