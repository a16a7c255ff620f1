// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.channel.unix.UnixChannelOption;

import java.io.IOException;
import java.util.Map;

/**
 * The config of a {@link KnotSocketChannel}: Netty's generic options plus SO_RCVBUF, SO_SNDBUF, TCP_NODELAY (on by
 * default, as in Netty's other transports), SO_KEEPALIVE, SO_REUSEADDR, {@link UnixChannelOption#SO_REUSEPORT},
 * SO_LINGER and ALLOW_HALF_CLOSURE. Options set before the channel has its socket (it gets one at bind or connect)
 * are kept and applied to the new socket; later ones go to the kernel at once. IP_TOS is not supported yet:
 * {@code setOption(IP_TOS, ...)} returns false and {@link #setTrafficClass} throws.
 *
 * <p><b>Threading:</b> any thread, as Netty's configs. <b>Errors:</b> a failing setsockopt or getsockopt is a
 * {@link ChannelException} carrying the {@link IOException} that names the option and errno.
 */
public final class KnotSocketChannelConfig extends KnotChannelConfig<KnotSocketChannelConfig> implements SocketChannelConfig, StreamConfig {
    private final KnotSocketChannel ch;
    private final SocketOption<StreamSocket, Integer> receiveBufferSize = option(0, 0, StreamSocket::receiveBufferSize,
            StreamSocket::setReceiveBufferSize);
    private final SocketOption<StreamSocket, Integer> sendBufferSize = option(0, 0, StreamSocket::sendBufferSize,
            StreamSocket::setSendBufferSize);
    private final SocketOption<StreamSocket, Boolean> tcpNoDelay = option(true, false, StreamSocket::tcpNoDelay, StreamSocket::setTcpNoDelay);
    private final SocketOption<StreamSocket, Boolean> keepAlive = option(false, false, StreamSocket::keepAlive, StreamSocket::setKeepAlive);
    private final SocketOption<StreamSocket, Boolean> reuseAddress = option(false, false, StreamSocket::reuseAddress,
            StreamSocket::setReuseAddress);
    private final SocketOption<StreamSocket, Boolean> reusePort = option(false, false, StreamSocket::isReusePort, StreamSocket::setReusePort);
    private final SocketOption<StreamSocket, Integer> soLinger = option(-1, -1, StreamSocket::linger, StreamSocket::setLinger);
    private volatile boolean allowHalfClosure;

    KnotSocketChannelConfig(KnotSocketChannel channel) {
        super(channel);
        this.ch = channel;
    }

    private <T> SocketOption<StreamSocket, T> option(T initial, T kernelDefault, SocketOption.Getter<StreamSocket, T> get,
            SocketOption.Setter<StreamSocket, T> set) {
        return new SocketOption<>(this::live, initial, kernelDefault, get, set);
    }

    private StreamSocket live() {
        StreamSocket s = ch.socket();
        return s != null && s.isOpen() ? s : null;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_RCVBUF, ChannelOption.SO_SNDBUF, ChannelOption.TCP_NODELAY,
                ChannelOption.SO_KEEPALIVE, ChannelOption.SO_REUSEADDR, ChannelOption.SO_LINGER,
                ChannelOption.ALLOW_HALF_CLOSURE, UnixChannelOption.SO_REUSEPORT);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        SocketOption<StreamSocket, ?> o = socketOption(option);
        if (o != null) return (T) o.get();
        if (option == ChannelOption.ALLOW_HALF_CLOSURE) return (T) Boolean.valueOf(isAllowHalfClosure());
        return super.getOption(option);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        SocketOption<StreamSocket, T> o = (SocketOption<StreamSocket, T>) socketOption(option);
        if (o != null) o.set(value);
        else if (option == ChannelOption.ALLOW_HALF_CLOSURE) setAllowHalfClosure((Boolean) value);
        else return super.setOption(option, value);
        return true;
    }

    private SocketOption<StreamSocket, ?> socketOption(ChannelOption<?> option) {
        if (option == ChannelOption.SO_RCVBUF) return receiveBufferSize;
        if (option == ChannelOption.SO_SNDBUF) return sendBufferSize;
        if (option == ChannelOption.TCP_NODELAY) return tcpNoDelay;
        if (option == ChannelOption.SO_KEEPALIVE) return keepAlive;
        if (option == ChannelOption.SO_REUSEADDR) return reuseAddress;
        if (option == ChannelOption.SO_LINGER) return soLinger;
        if (option == UnixChannelOption.SO_REUSEPORT) return reusePort;
        return null;
    }

    @Override
    public void applyTo(StreamSocket s) throws IOException {
        tcpNoDelay.applyTo(s);
        keepAlive.applyTo(s);
        reuseAddress.applyTo(s);
        reusePort.applyTo(s);
        soLinger.applyTo(s);
        receiveBufferSize.applyTo(s);
        sendBufferSize.applyTo(s);
    }

    @Override
    public int getReceiveBufferSize() {
        return receiveBufferSize.get();
    }

    @Override
    public KnotSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBufferSize.set(bytes);
        return this;
    }

    @Override
    public int getSendBufferSize() {
        return sendBufferSize.get();
    }

    @Override
    public KnotSocketChannelConfig setSendBufferSize(int bytes) {
        sendBufferSize.set(bytes);
        return this;
    }

    @Override
    public boolean isTcpNoDelay() {
        return tcpNoDelay.get();
    }

    @Override
    public KnotSocketChannelConfig setTcpNoDelay(boolean on) {
        tcpNoDelay.set(on);
        return this;
    }

    @Override
    public boolean isKeepAlive() {
        return keepAlive.get();
    }

    @Override
    public KnotSocketChannelConfig setKeepAlive(boolean on) {
        keepAlive.set(on);
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress.get();
    }

    @Override
    public KnotSocketChannelConfig setReuseAddress(boolean on) {
        reuseAddress.set(on);
        return this;
    }

    /**
     * SO_REUSEPORT, as {@link UnixChannelOption#SO_REUSEPORT} reads it.
     *
     * @return true if on
     * @throws ChannelException if getsockopt fails
     */
    public boolean isReusePort() {
        return reusePort.get();
    }

    /**
     * SO_REUSEPORT; takes effect for a bind that follows.
     *
     * @param on the new value
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotSocketChannelConfig setReusePort(boolean on) {
        reusePort.set(on);
        return this;
    }

    @Override
    public int getSoLinger() {
        return soLinger.get();
    }

    @Override
    public KnotSocketChannelConfig setSoLinger(int seconds) {
        soLinger.set(seconds);
        return this;
    }

    /** IP_TOS is not supported by Knot's sockets yet. @return 0 */
    @Override
    public int getTrafficClass() {
        return 0;
    }

    /**
     * Not supported yet.
     *
     * @param trafficClass ignored
     * @return never
     * @throws ChannelException always: Knot's sockets do not offer IP_TOS yet
     */
    @Override
    public KnotSocketChannelConfig setTrafficClass(int trafficClass) {
        throw new ChannelException("IP_TOS is not supported by the Knot transport yet");
    }

    @Override
    public KnotSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;                                          // a hint TCP stacks ignore, as the JDK's do
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public KnotSocketChannelConfig setAllowHalfClosure(boolean allow) {
        allowHalfClosure = allow;
        return this;
    }

    @Override
    protected void autoReadCleared() {
        ch.autoReadCleared();
    }
}
