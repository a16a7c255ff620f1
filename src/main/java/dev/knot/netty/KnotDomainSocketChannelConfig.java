// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannelConfig;
import io.netty.channel.unix.DomainSocketChannelConfig;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.UnixChannelOption;

import java.io.IOException;
import java.util.Map;

/**
 * The config of a {@link KnotDomainSocketChannel}: Netty's generic options plus SO_RCVBUF, SO_SNDBUF,
 * ALLOW_HALF_CLOSURE and {@link UnixChannelOption#DOMAIN_SOCKET_READ_MODE}, of which only
 * {@link DomainSocketReadMode#BYTES} is supported (passing descriptors over the socket is not done yet).
 *
 * <p><b>Threading:</b> any thread. <b>Errors:</b> a failing setsockopt or getsockopt is a {@link ChannelException};
 * {@link DomainSocketReadMode#FILE_DESCRIPTORS} is an {@link UnsupportedOperationException}.
 */
public final class KnotDomainSocketChannelConfig extends KnotChannelConfig<KnotDomainSocketChannelConfig>
        implements DomainSocketChannelConfig, DuplexChannelConfig, StreamConfig {
    private final KnotDomainSocketChannel ch;
    private final SocketOption<StreamSocket, Integer> receiveBufferSize = new SocketOption<>(this::live, 0, 0,
            StreamSocket::receiveBufferSize, StreamSocket::setReceiveBufferSize);
    private final SocketOption<StreamSocket, Integer> sendBufferSize = new SocketOption<>(this::live, 0, 0,
            StreamSocket::sendBufferSize, StreamSocket::setSendBufferSize);
    private volatile boolean allowHalfClosure;

    KnotDomainSocketChannelConfig(KnotDomainSocketChannel channel) {
        super(channel);
        this.ch = channel;
    }

    private StreamSocket live() {
        StreamSocket s = ch.socket();
        return s != null && s.isOpen() ? s : null;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_RCVBUF, ChannelOption.SO_SNDBUF,
                ChannelOption.ALLOW_HALF_CLOSURE, UnixChannelOption.DOMAIN_SOCKET_READ_MODE);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == ChannelOption.SO_RCVBUF) return (T) Integer.valueOf(getReceiveBufferSize());
        if (option == ChannelOption.SO_SNDBUF) return (T) Integer.valueOf(getSendBufferSize());
        if (option == ChannelOption.ALLOW_HALF_CLOSURE) return (T) Boolean.valueOf(isAllowHalfClosure());
        if (option == UnixChannelOption.DOMAIN_SOCKET_READ_MODE) return (T) getReadMode();
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_RCVBUF) setReceiveBufferSize((Integer) value);
        else if (option == ChannelOption.SO_SNDBUF) setSendBufferSize((Integer) value);
        else if (option == ChannelOption.ALLOW_HALF_CLOSURE) setAllowHalfClosure((Boolean) value);
        else if (option == UnixChannelOption.DOMAIN_SOCKET_READ_MODE) setReadMode((DomainSocketReadMode) value);
        else return super.setOption(option, value);
        return true;
    }

    @Override
    public void applyTo(StreamSocket s) throws IOException {
        receiveBufferSize.applyTo(s);
        sendBufferSize.applyTo(s);
    }

    /** SO_LINGER does not apply to Unix-domain sockets. @return -1 */
    @Override
    public int getSoLinger() {
        return -1;
    }

    /**
     * SO_RCVBUF as the kernel reports it once the socket exists, else as set.
     *
     * @return the size in bytes
     * @throws ChannelException if getsockopt fails
     */
    public int getReceiveBufferSize() {
        return receiveBufferSize.get();
    }

    /**
     * SO_RCVBUF.
     *
     * @param bytes the size
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotDomainSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBufferSize.set(bytes);
        return this;
    }

    /**
     * SO_SNDBUF as the kernel reports it once the socket exists, else as set.
     *
     * @return the size in bytes
     * @throws ChannelException if getsockopt fails
     */
    public int getSendBufferSize() {
        return sendBufferSize.get();
    }

    /**
     * SO_SNDBUF.
     *
     * @param bytes the size
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotDomainSocketChannelConfig setSendBufferSize(int bytes) {
        sendBufferSize.set(bytes);
        return this;
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public KnotDomainSocketChannelConfig setAllowHalfClosure(boolean allow) {
        allowHalfClosure = allow;
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setReadMode(DomainSocketReadMode mode) {
        if (mode != DomainSocketReadMode.BYTES) {
            throw new UnsupportedOperationException("the Knot transport reads bytes only; passing descriptors is not supported yet");
        }
        return this;
    }

    @Override
    public DomainSocketReadMode getReadMode() {
        return DomainSocketReadMode.BYTES;
    }

    @Override
    protected void autoReadCleared() {
        ch.autoReadCleared();
    }
}
