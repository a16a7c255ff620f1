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
public final class KnotDomainSocketChannelConfig extends DefaultChannelConfig
        implements DomainSocketChannelConfig, DuplexChannelConfig, StreamConfig {
    private final KnotDomainSocketChannel ch;
    private volatile int receiveBufferSize, sendBufferSize;
    private volatile boolean allowHalfClosure;

    KnotDomainSocketChannelConfig(KnotDomainSocketChannel channel) {
        super(channel);
        this.ch = channel;
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
        if (receiveBufferSize > 0) s.setReceiveBufferSize(receiveBufferSize);
        if (sendBufferSize > 0) s.setSendBufferSize(sendBufferSize);
    }

    /** SO_LINGER does not apply to Unix-domain sockets. @return -1 */
    @Override
    public int getSoLinger() {
        return -1;
    }

    private StreamSocket live() {
        StreamSocket s = ch.socket();
        return s != null && s.isOpen() ? s : null;
    }

    /**
     * SO_RCVBUF as the kernel reports it once the socket exists, else as set.
     *
     * @return the size in bytes
     * @throws ChannelException if getsockopt fails
     */
    public int getReceiveBufferSize() {
        StreamSocket s = live();
        if (s == null) return receiveBufferSize;
        try {
            return s.receiveBufferSize();
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    /**
     * SO_RCVBUF.
     *
     * @param bytes the size
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotDomainSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBufferSize = bytes;
        StreamSocket s = live();
        if (s != null) {
            try {
                s.setReceiveBufferSize(bytes);
            } catch (IOException e) {
                throw new ChannelException(e);
            }
        }
        return this;
    }

    /**
     * SO_SNDBUF as the kernel reports it once the socket exists, else as set.
     *
     * @return the size in bytes
     * @throws ChannelException if getsockopt fails
     */
    public int getSendBufferSize() {
        StreamSocket s = live();
        if (s == null) return sendBufferSize;
        try {
            return s.sendBufferSize();
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    /**
     * SO_SNDBUF.
     *
     * @param bytes the size
     * @return this config
     * @throws ChannelException if setsockopt fails
     */
    public KnotDomainSocketChannelConfig setSendBufferSize(int bytes) {
        sendBufferSize = bytes;
        StreamSocket s = live();
        if (s != null) {
            try {
                s.setSendBufferSize(bytes);
            } catch (IOException e) {
                throw new ChannelException(e);
            }
        }
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

    @Override
    public KnotDomainSocketChannelConfig setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return this;
    }

    @Override
    @Deprecated
    public KnotDomainSocketChannelConfig setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    @Deprecated
    public KnotDomainSocketChannelConfig setWriteBufferHighWaterMark(int bytes) {
        super.setWriteBufferHighWaterMark(bytes);
        return this;
    }

    @Override
    @Deprecated
    public KnotDomainSocketChannelConfig setWriteBufferLowWaterMark(int bytes) {
        super.setWriteBufferLowWaterMark(bytes);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark marks) {
        super.setWriteBufferWaterMark(marks);
        return this;
    }

    @Override
    public KnotDomainSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }
}
