// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import io.netty.channel.Channel;
import io.netty.channel.socket.ServerSocketChannel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * A TCP listener (IPv4 or IPv6) on a Knot event loop, the {@link ServerSocketChannel} of the Knot transport: use it
 * where Netty users name {@code NioServerSocketChannel}, with {@link KnotIoHandler} loops for the parent and the
 * children. The socket is created at bind, in the family of the address, with SO_BACKLOG, SO_REUSEADDR (on by
 * default) and {@link io.netty.channel.unix.UnixChannelOption#SO_REUSEPORT} from the config; each accepted
 * connection becomes a {@link KnotSocketChannel}.
 *
 * <p><b>Threading and ownership:</b> as every Netty channel: I/O on its event loop; it owns the listening socket
 * and closes it at {@code close()}. <b>Errors:</b> bind failures (EADDRINUSE...) fail the bind future with an
 * {@link IOException} naming the address and errno; accept failures (EMFILE...) go to {@code exceptionCaught}.
 */
public final class KnotServerSocketChannel extends AbstractKnotServerChannel implements ServerSocketChannel {
    private final KnotServerSocketChannelConfig config = new KnotServerSocketChannelConfig(this);

    /** A listener that will be bound later. */
    public KnotServerSocketChannel() {
    }

    @Override
    public KnotServerSocketChannelConfig config() {
        return config;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return null;
    }

    @Override
    ListenSocket listen(SocketAddress local) throws IOException {
        if (!(local instanceof InetSocketAddress i)) throw new UnsupportedAddressTypeException();
        if (i.isUnresolved()) throw new UnresolvedAddressException();
        ListenSocket l = ListenSocket.bind(i, new ListenSocket.Options(config.getBacklog(), config.isReuseAddress(), config.isReusePort()));
        try {
            int rcvbuf = config.pendingReceiveBufferSize();
            if (rcvbuf > 0) l.setReceiveBufferSize(rcvbuf);
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
        return l;
    }

    @Override
    Channel newChild(StreamSocket socket) {
        return new KnotSocketChannel(this, socket);
    }

    @Override
    SocketAddress fromNative(SocketAddress address) {
        return address;
    }
}
