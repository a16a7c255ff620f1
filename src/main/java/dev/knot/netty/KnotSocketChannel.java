// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;
import io.netty.channel.Channel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * A TCP connection (IPv4 or IPv6) on a Knot event loop: the {@link SocketChannel} of the Knot transport, used where
 * Netty users name {@code NioSocketChannel} or {@code EpollSocketChannel}. Its socket is created at connect (or
 * bind) time in the family of the address, so options set before that are applied to it then.
 *
 * <p>Supported: connect with CONNECT_TIMEOUT_MILLIS, bind before connect, auto-read and read(), reads into the
 * allocator's buffers, gathering writes (writev) of flushed ByteBufs, {@link io.netty.channel.FileRegion}s (copied
 * through the socket), write-buffer water marks, half-closure (ALLOW_HALF_CLOSURE, shutdownInput/shutdownOutput),
 * SO_LINGER (0 resets the connection at close), and the options of {@link KnotSocketChannelConfig}.
 *
 * <p><b>Threading and ownership:</b> as every Netty channel: its I/O runs on its event loop, which must be a
 * {@link KnotIoHandler} loop; the channel owns its socket and closes it at {@code close()}. <b>Errors:</b> system
 * call failures surface as {@link IOException}s naming the call and errno ({@code dev.knot.sys.ErrnoException}),
 * through the channel's futures and {@code exceptionCaught}.
 */
public final class KnotSocketChannel extends AbstractKnotStreamChannel implements SocketChannel {
    private final KnotSocketChannelConfig config;

    /** A channel that will connect (or bind) later. */
    public KnotSocketChannel() {
        super(null, null);
        this.config = new KnotSocketChannelConfig(this);
    }

    KnotSocketChannel(Channel parent, StreamSocket accepted) {
        super(parent, accepted);
        this.config = new KnotSocketChannelConfig(this);
        try {
            config.applyTo(accepted);
        } catch (IOException e) {
            // The peer may have reset already; reads and writes will report it.
        }
    }

    @Override
    public KnotSocketChannelConfig config() {
        return config;
    }

    @Override
    StreamConfig streamConfig() {
        return config;
    }

    @Override
    public ServerSocketChannel parent() {
        return (ServerSocketChannel) super.parent();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    SocketAddress toNative(SocketAddress address) {
        if (!(address instanceof InetSocketAddress i)) throw new UnsupportedAddressTypeException();
        if (i.isUnresolved()) throw new UnresolvedAddressException();
        return i;
    }

    @Override
    SocketAddress fromNative(SocketAddress address) {
        return address;
    }

    @Override
    protected StreamUnsafe newUnsafe() {
        return new StreamUnsafe();
    }
}
