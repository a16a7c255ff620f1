// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

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
        NioServe.run("nio echo server", port, 0, () -> {}, () -> ByteBuffer.allocateDirect(16 * 1024), NioEchoServer::serve);
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
