// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
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
public final class KnotSocketChannelConfig extends DefaultChannelConfig implements SocketChannelConfig, StreamConfig {
    private final KnotSocketChannel ch;
    private volatile int receiveBufferSize, sendBufferSize;
    private volatile boolean tcpNoDelay = true, keepAlive, reuseAddress, reusePort, allowHalfClosure;
    private volatile int soLinger = -1;

    KnotSocketChannelConfig(KnotSocketChannel channel) {
        super(channel);
        this.ch = channel;
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
        if (option == ChannelOption.SO_RCVBUF) return (T) Integer.valueOf(getReceiveBufferSize());
        if (option == ChannelOption.SO_SNDBUF) return (T) Integer.valueOf(getSendBufferSize());
        if (option == ChannelOption.TCP_NODELAY) return (T) Boolean.valueOf(isTcpNoDelay());
        if (option == ChannelOption.SO_KEEPALIVE) return (T) Boolean.valueOf(isKeepAlive());
        if (option == ChannelOption.SO_REUSEADDR) return (T) Boolean.valueOf(isReuseAddress());
        if (option == ChannelOption.SO_LINGER) return (T) Integer.valueOf(getSoLinger());
        if (option == ChannelOption.ALLOW_HALF_CLOSURE) return (T) Boolean.valueOf(isAllowHalfClosure());
        if (option == UnixChannelOption.SO_REUSEPORT) return (T) Boolean.valueOf(isReusePort());
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_RCVBUF) setReceiveBufferSize((Integer) value);
        else if (option == ChannelOption.SO_SNDBUF) setSendBufferSize((Integer) value);
        else if (option == ChannelOption.TCP_NODELAY) setTcpNoDelay((Boolean) value);
        else if (option == ChannelOption.SO_KEEPALIVE) setKeepAlive((Boolean) value);
        else if (option == ChannelOption.SO_REUSEADDR) setReuseAddress((Boolean) value);
        else if (option == ChannelOption.SO_LINGER) setSoLinger((Integer) value);
        else if (option == ChannelOption.ALLOW_HALF_CLOSURE) setAllowHalfClosure((Boolean) value);
        else if (option == UnixChannelOption.SO_REUSEPORT) setReusePort((Boolean) value);
        else return super.setOption(option, value);
        return true;
    }

    @Override
    public void applyTo(StreamSocket s) throws IOException {
        if (tcpNoDelay) s.setTcpNoDelay(true);
        if (keepAlive) s.setKeepAlive(true);
        if (reuseAddress) s.setReuseAddress(true);
        if (reusePort) s.setReusePort(true);
        if (soLinger >= 0) s.setLinger(soLinger);
        if (receiveBufferSize > 0) s.setReceiveBufferSize(receiveBufferSize);
        if (sendBufferSize > 0) s.setSendBufferSize(sendBufferSize);
    }

    private StreamSocket live() {
        StreamSocket s = ch.socket();
        return s != null && s.isOpen() ? s : null;
    }

    private interface SocketCall<T> {
        T call(StreamSocket s) throws IOException;
    }

    private static <T> T call(StreamSocket s, SocketCall<T> c) {
        try {
            return c.call(s);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    @Override
    public int getReceiveBufferSize() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::receiveBufferSize) : receiveBufferSize;
    }

    @Override
    public KnotSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBufferSize = bytes;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setReceiveBufferSize(bytes); return null; });
        return this;
    }

    @Override
    public int getSendBufferSize() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::sendBufferSize) : sendBufferSize;
    }

    @Override
    public KnotSocketChannelConfig setSendBufferSize(int bytes) {
        sendBufferSize = bytes;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setSendBufferSize(bytes); return null; });
        return this;
    }

    @Override
    public boolean isTcpNoDelay() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::tcpNoDelay) : tcpNoDelay;
    }

    @Override
    public KnotSocketChannelConfig setTcpNoDelay(boolean on) {
        tcpNoDelay = on;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setTcpNoDelay(on); return null; });
        return this;
    }

    @Override
    public boolean isKeepAlive() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::keepAlive) : keepAlive;
    }

    @Override
    public KnotSocketChannelConfig setKeepAlive(boolean on) {
        keepAlive = on;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setKeepAlive(on); return null; });
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::reuseAddress) : reuseAddress;
    }

    @Override
    public KnotSocketChannelConfig setReuseAddress(boolean on) {
        reuseAddress = on;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setReuseAddress(on); return null; });
        return this;
    }

    /**
     * SO_REUSEPORT, as {@link UnixChannelOption#SO_REUSEPORT} reads it.
     *
     * @return true if on
     * @throws ChannelException if getsockopt fails
     */
    public boolean isReusePort() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::isReusePort) : reusePort;
    }

    /**
     * SO_REUSEPORT; takes effect for a bind that follows.
     *
     * @param on the new value
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotSocketChannelConfig setReusePort(boolean on) {
        reusePort = on;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setReusePort(on); return null; });
        return this;
    }

    @Override
    public int getSoLinger() {
        StreamSocket s = live();
        return s != null ? call(s, StreamSocket::linger) : soLinger;
    }

    @Override
    public KnotSocketChannelConfig setSoLinger(int seconds) {
        soLinger = seconds;
        StreamSocket s = live();
        if (s != null) call(s, x -> { x.setLinger(seconds); return null; });
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

    @Override
    public KnotSocketChannelConfig setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return this;
    }

    @Override
    @Deprecated
    public KnotSocketChannelConfig setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    @Deprecated
    public KnotSocketChannelConfig setWriteBufferHighWaterMark(int bytes) {
        super.setWriteBufferHighWaterMark(bytes);
        return this;
    }

    @Override
    @Deprecated
    public KnotSocketChannelConfig setWriteBufferLowWaterMark(int bytes) {
        super.setWriteBufferLowWaterMark(bytes);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark marks) {
        super.setWriteBufferWaterMark(marks);
        return this;
    }

    @Override
    public KnotSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }
}
