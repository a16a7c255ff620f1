// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.ListenSocket;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ServerSocketChannelConfig;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.util.NetUtil;

import java.util.Map;

/**
 * The config of a {@link KnotServerSocketChannel} (and of {@code KnotServerDomainSocketChannel}): Netty's generic
 * options plus SO_BACKLOG (default: the system's somaxconn, as Netty's), SO_REUSEADDR (default on),
 * {@link UnixChannelOption#SO_REUSEPORT} (default off) and SO_RCVBUF. Backlog and the reuse options take effect at
 * bind, which creates the socket; SO_RCVBUF goes to the kernel at once once the socket exists.
 *
 * <p><b>Threading:</b> any thread. <b>Errors:</b> a failing setsockopt is a {@link ChannelException}.
 */
public final class KnotServerSocketChannelConfig extends KnotChannelConfig<KnotServerSocketChannelConfig> implements ServerSocketChannelConfig {
    private final AbstractKnotServerChannel ch;
    private volatile int backlog = NetUtil.SOMAXCONN;
    private volatile boolean reuseAddress = true, reusePort;
    private final SocketOption<ListenSocket, Integer> receiveBufferSize = new SocketOption<>(this::live, 0, 0,
            ListenSocket::receiveBufferSize, ListenSocket::setReceiveBufferSize);

    KnotServerSocketChannelConfig(AbstractKnotServerChannel channel) {
        super(channel);
        this.ch = channel;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_RCVBUF, ChannelOption.SO_REUSEADDR, ChannelOption.SO_BACKLOG,
                UnixChannelOption.SO_REUSEPORT);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == ChannelOption.SO_RCVBUF) return (T) Integer.valueOf(getReceiveBufferSize());
        if (option == ChannelOption.SO_REUSEADDR) return (T) Boolean.valueOf(isReuseAddress());
        if (option == ChannelOption.SO_BACKLOG) return (T) Integer.valueOf(getBacklog());
        if (option == UnixChannelOption.SO_REUSEPORT) return (T) Boolean.valueOf(isReusePort());
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_RCVBUF) setReceiveBufferSize((Integer) value);
        else if (option == ChannelOption.SO_REUSEADDR) setReuseAddress((Boolean) value);
        else if (option == ChannelOption.SO_BACKLOG) setBacklog((Integer) value);
        else if (option == UnixChannelOption.SO_REUSEPORT) setReusePort((Boolean) value);
        else return super.setOption(option, value);
        return true;
    }

    int pendingReceiveBufferSize() {
        return receiveBufferSize.pending();
    }

    private ListenSocket live() {
        ListenSocket l = ch.listener();
        return l != null && l.isOpen() ? l : null;
    }

    @Override
    public int getBacklog() {
        return backlog;
    }

    @Override
    public KnotServerSocketChannelConfig setBacklog(int backlog) {
        if (backlog < 0) throw new IllegalArgumentException("backlog " + backlog + " is negative");
        this.backlog = backlog;
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public KnotServerSocketChannelConfig setReuseAddress(boolean on) {
        reuseAddress = on;
        return this;
    }

    /**
     * SO_REUSEPORT as it will be (or was) set at bind.
     *
     * @return true if on
     */
    public boolean isReusePort() {
        return reusePort;
    }

    /**
     * SO_REUSEPORT for the bind to come: several listeners on one port, the kernel spreading connections.
     *
     * @param on the new value
     * @return this config
     */
    public KnotServerSocketChannelConfig setReusePort(boolean on) {
        reusePort = on;
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return receiveBufferSize.get();
    }

    @Override
    public KnotServerSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBufferSize.set(bytes);
        return this;
    }

    @Override
    public KnotServerSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;                                          // a hint TCP stacks ignore, as the JDK's do
    }

    @Override
    protected void autoReadCleared() {
        ch.autoReadCleared();
    }
}
