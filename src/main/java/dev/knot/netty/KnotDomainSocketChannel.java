// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;
import io.netty.channel.Channel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.FileDescriptor;

import java.net.SocketAddress;

/**
 * A Unix-domain stream connection on a Knot event loop: the Knot transport's {@link DomainSocketChannel}, a drop-in
 * for {@code EpollDomainSocketChannel} and {@code KQueueDomainSocketChannel}. It takes Netty's
 * {@link DomainSocketAddress}, as those do (and the JDK's {@link java.net.UnixDomainSocketAddress} too), and reports
 * {@link DomainSocketAddress}es. Reads, writes, half-closure and auto-read work as in {@link KnotSocketChannel};
 * passing descriptors ({@code DomainSocketReadMode.FILE_DESCRIPTORS}) is not supported yet.
 *
 * <p><b>Threading and ownership:</b> as every Netty channel; it owns its socket. <b>Errors:</b> system call failures
 * are {@link java.io.IOException}s naming the call and errno (a path nobody listens on: ConnectException).
 */
public final class KnotDomainSocketChannel extends AbstractKnotStreamChannel implements DomainSocketChannel {
    private final KnotDomainSocketChannelConfig config;

    /** A channel that will connect later. */
    public KnotDomainSocketChannel() {
        super(null, null);
        this.config = new KnotDomainSocketChannelConfig(this);
    }

    KnotDomainSocketChannel(Channel parent, StreamSocket accepted) {
        super(parent, accepted);
        this.config = new KnotDomainSocketChannelConfig(this);
    }

    @Override
    public KnotDomainSocketChannelConfig config() {
        return config;
    }

    @Override
    StreamConfig streamConfig() {
        return config;
    }

    /**
     * A view of the descriptor number, for code that reads {@code intValue()}. The channel owns the descriptor:
     * never close or read through this view.
     *
     * @return the view
     * @throws IllegalStateException if the channel has no socket yet
     */
    @Override
    public FileDescriptor fd() {
        return fdView("not connected yet");
    }

    @Override
    public DomainSocketAddress localAddress() {
        return (DomainSocketAddress) super.localAddress();
    }

    @Override
    public DomainSocketAddress remoteAddress() {
        return (DomainSocketAddress) super.remoteAddress();
    }

    @Override
    SocketAddress toNative(SocketAddress address) {
        return DomainAddresses.toNative(address);
    }

    @Override
    SocketAddress fromNative(SocketAddress address) {
        return DomainAddresses.fromNative(address);
    }

    @Override
    protected StreamUnsafe newUnsafe() {
        return new StreamUnsafe();
    }
}
