// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;

/**
 * The NIO baseline for the echo ping-pong: one thread, one {@link Selector}, a 16 KiB direct buffer per connection
 * (as Knot's EchoServer has). Per readiness: one read, then write everything back; if the socket cannot take it
 * all, READ interest is swapped for WRITE until it drains. TCP_NODELAY on, as Netty sets by default.
 *
 * <p>Usage: {@code NioEchoServer PORT}
 */
public final class NioEchoServer {
    private NioEchoServer() {}

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        Selector sel = Selector.open();
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
        server.configureBlocking(false);
        server.register(sel, SelectionKey.OP_ACCEPT);
        System.out.println("nio echo server on " + server.getLocalAddress());
        while (true) {
            sel.select();
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
                            c.register(sel, SelectionKey.OP_READ, ByteBuffer.allocateDirect(16 * 1024));
                        }
                    } else {
                        serve(k);
                    }
                } catch (IOException e) {
                    k.cancel();
                    k.channel().close();
                }
            }
        }
    }

    private static void serve(SelectionKey k) throws IOException {
        SocketChannel c = (SocketChannel) k.channel();
        ByteBuffer buf = (ByteBuffer) k.attachment();
        if (k.isWritable()) {
            c.write(buf);
            if (buf.hasRemaining()) return;
            buf.clear();
            k.interestOps(SelectionKey.OP_READ);
            return;
        }
        int n = c.read(buf);
        if (n < 0) {
            k.cancel();
            c.close();
            return;
        }
        buf.flip();
        c.write(buf);
        if (buf.hasRemaining()) {
            k.interestOps(SelectionKey.OP_WRITE);
        } else {
            buf.clear();
        }
    }
}
