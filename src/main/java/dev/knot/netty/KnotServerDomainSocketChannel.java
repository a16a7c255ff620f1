// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import io.netty.channel.Channel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.ServerDomainSocketChannel;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Unix-domain listener on a Knot event loop: the Knot transport's {@link ServerDomainSocketChannel}, a drop-in for
 * {@code EpollServerDomainSocketChannel}. Bind it to a {@link DomainSocketAddress} (or a JDK
 * {@link UnixDomainSocketAddress}); accepted connections become {@link KnotDomainSocketChannel}s. As Netty's native
 * transports do, closing the channel removes the socket file it created.
 *
 * <p><b>Threading and ownership:</b> as every Netty channel; it owns the listening socket and the file it bound.
 * <b>Errors:</b> bind failures (EADDRINUSE for an existing path...) fail the bind future with an IOException.
 */
public final class KnotServerDomainSocketChannel extends AbstractKnotServerChannel implements ServerDomainSocketChannel {
    private final KnotServerSocketChannelConfig config = new KnotServerSocketChannelConfig(this);
    private volatile Path boundPath;

    /** A listener that will be bound later. */
    public KnotServerDomainSocketChannel() {
    }

    /** @return the config: backlog and Netty's generic options (the reuse options do not apply to Unix sockets) */
    @Override
    public KnotServerSocketChannelConfig config() {
        return config;
    }

    /**
     * A view of the descriptor number; the channel owns the descriptor: never close or read through it.
     *
     * @return the view
     * @throws IllegalStateException if the channel is not bound yet
     */
    @Override
    public FileDescriptor fd() {
        return fdView("not bound yet");
    }

    @Override
    public DomainSocketAddress localAddress() {
        return (DomainSocketAddress) super.localAddress();
    }

    @Override
    public DomainSocketAddress remoteAddress() {
        return null;
    }

    @Override
    ListenSocket listen(SocketAddress local) throws IOException {
        UnixDomainSocketAddress u = (UnixDomainSocketAddress) DomainAddresses.toNative(local);
        ListenSocket l = ListenSocket.bind(u, new ListenSocket.Options(config.getBacklog(), false, false));
        boundPath = u.getPath();
        return l;
    }

    @Override
    protected void doClose() throws Exception {
        try {
            super.doClose();
        } finally {
            Path p = boundPath;
            boundPath = null;
            if (p != null) Files.deleteIfExists(p);
        }
    }

    @Override
    Channel newChild(StreamSocket socket) {
        return new KnotDomainSocketChannel(this, socket);
    }

    @Override
    SocketAddress fromNative(SocketAddress address) {
        return DomainAddresses.fromNative(address);
    }
}
