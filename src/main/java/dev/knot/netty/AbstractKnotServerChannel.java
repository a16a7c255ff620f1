// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.ServerChannel;

import java.io.IOException;
import java.net.SocketAddress;

/** A listening channel over a Knot {@link ListenSocket}, created at bind; accepted sockets become child channels. */
abstract class AbstractKnotServerChannel extends AbstractKnotChannel implements ServerChannel {
    private volatile ListenSocket listener;

    AbstractKnotServerChannel() {
        super(null);
    }

    /** Creates, binds and listens a socket for {@code local}, applying the config's options. */
    abstract ListenSocket listen(SocketAddress local) throws IOException;

    /** The child channel of an accepted connection; it owns {@code socket}. */
    abstract Channel newChild(StreamSocket socket);

    /** The address this channel reports for one of Knot's. */
    abstract SocketAddress fromNative(SocketAddress address);

    final ListenSocket listener() {
        return listener;
    }

    @Override
    int fdNumber() {
        ListenSocket l = listener;
        return l == null ? -1 : l.fd();
    }

    @Override
    boolean fdOpen() {
        ListenSocket l = listener;
        return l != null && l.isOpen();
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (listener != null) throw new IllegalStateException("already bound to " + local);
        ListenSocket l;
        try {
            l = listen(localAddress);
        } catch (IOException e) {
            throw Exceptions.bind(e);
        }
        listener = l;
        local = fromNative(l.localAddress());
        active = true;
        submitOps();
    }

    @Override
    protected void doClose() throws Exception {
        active = false;
        open = false;
        ListenSocket l = listener;
        if (l != null) l.close();
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return null;
    }

    @Override
    protected void doDisconnect() {
        throw new UnsupportedOperationException("a server channel does not disconnect");
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        throw new UnsupportedOperationException("a server channel does not write");
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        throw new UnsupportedOperationException("a server channel does not write");
    }

    @Override
    protected KnotUnsafe newUnsafe() {
        return new ServerUnsafe();
    }

    private final class ServerUnsafe extends KnotUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a server channel does not connect"));
        }

        @Override
        void readReady() {
            ListenSocket l = listener;
            ChannelConfig config = config();
            if (l == null) {
                clearReadFlag();
                return;
            }
            ChannelPipeline pipeline = pipeline();
            RecvByteBufAllocator.Handle handle = recvBufAllocHandle();
            handle.reset(config);
            Throwable failure = null;
            try {
                do {
                    StreamSocket s = l.accept();
                    if (s == null) break;
                    handle.incMessagesRead(1);
                    readPending = false;
                    pipeline.fireChannelRead(newChild(s));
                } while (handle.continueReading());
            } catch (Throwable t) {
                failure = t;
            }
            try {
                handle.readComplete();
                pipeline.fireChannelReadComplete();
                // EMFILE and the like: Netty's ServerBootstrap pauses auto-read for a second on this.
                if (failure != null) pipeline.fireExceptionCaught(failure);
            } finally {
                if (!readPending && !config.isAutoRead()) clearReadFlag();
            }
        }
    }
}
