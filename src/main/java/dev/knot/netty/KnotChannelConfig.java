// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;

/**
 * What Knot's channel configs share: Netty's generic options, returning the concrete config as Netty's config
 * interfaces require of each setter. The generic parameter gives every config those covariant returns once.
 *
 * @param <C> the concrete config
 */
abstract class KnotChannelConfig<C extends KnotChannelConfig<C>> extends DefaultChannelConfig {
    KnotChannelConfig(Channel channel) {
        super(channel);
    }

    @SuppressWarnings("unchecked")
    private C self() {
        return (C) this;
    }

    @Override
    public C setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return self();
    }

    @Override
    @Deprecated
    public C setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return self();
    }

    @Override
    public C setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return self();
    }

    @Override
    public C setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return self();
    }

    @Override
    public C setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return self();
    }

    @Override
    public C setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return self();
    }

    @Override
    public C setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return self();
    }

    @Override
    @Deprecated
    public C setWriteBufferHighWaterMark(int bytes) {
        super.setWriteBufferHighWaterMark(bytes);
        return self();
    }

    @Override
    @Deprecated
    public C setWriteBufferLowWaterMark(int bytes) {
        super.setWriteBufferLowWaterMark(bytes);
        return self();
    }

    @Override
    public C setWriteBufferWaterMark(WriteBufferWaterMark marks) {
        super.setWriteBufferWaterMark(marks);
        return self();
    }

    @Override
    public C setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return self();
    }
}
