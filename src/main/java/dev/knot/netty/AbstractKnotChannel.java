// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;

import java.net.SocketAddress;

/**
 * What Knot's channels share: the registration with the loop's {@link KnotIoHandler}, the interest (READ and WRITE
 * bits) last submitted, open and active state, and the unsafe that receives the events. Subclasses own one socket,
 * which may be created only at bind or connect (when its address family is known).
 */
abstract class AbstractKnotChannel extends AbstractChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private IoRegistration registration;
    private KnotIoOps ops = KnotIoOps.NONE;
    volatile boolean active;
    volatile boolean open = true;
    volatile SocketAddress local;
    volatile SocketAddress remote;

    AbstractKnotChannel(Channel parent) {
        super(parent);
    }

    /** The socket's descriptor, -1 before it has one. */
    abstract int fdNumber();

    /** The view {@code UnixChannel.fd()} returns: the number only; the channel keeps owning the descriptor. */
    final io.netty.channel.unix.FileDescriptor fdView(String whenNone) {
        int fd = fdNumber();
        if (fd < 0) throw new IllegalStateException(whenNone);
        return new io.netty.channel.unix.FileDescriptor(fd);
    }

    /** True while the socket's descriptor is open. */
    abstract boolean fdOpen();

    final void setFlag(int bit) {
        if (ops.contains(bit)) return;
        ops = ops.with(bit);
        submitOps();
    }

    final void clearFlag(int bit) {
        if ((ops.value() & bit) == 0) return;
        ops = ops.without(bit);
        submitOps();
    }

    /** The loop's shared iovec array (loop thread only), or null while unregistered. */
    final dev.knot.net.IoVecArray loopArray() {
        KnotIoHandler h = loopHandler();
        return h != null ? h.iovecs() : null;
    }

    /** The handler of the loop this channel is registered with (loop thread only), or null while unregistered. */
    final KnotIoHandler loopHandler() {
        IoRegistration r = registration;
        return r != null && r.isValid() ? r.attachment() : null;
    }

    final boolean isFlagSet(int bit) {
        return (ops.value() & bit) != 0;
    }

    /** Sends the current interest; called whenever it changes and once the socket exists. */
    final void submitOps() {
        IoRegistration r = registration;
        if (r != null && r.isValid() && fdNumber() >= 0) r.submit(watchesReadEof() ? ops.with(KnotIoOps.READ_EOF_BIT) : ops);
    }

    /**
     * Whether the loop should report the peer's end of data even while reading is off (a connected stream whose
     * input is not shut down yet), so that half-closure is noticed without a read() pending, as on epoll.
     */
    boolean watchesReadEof() {
        return false;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop l && l.isCompatible(KnotUnsafe.class);
    }

    @Override
    protected void doRegister(ChannelPromise promise) {
        ((IoEventLoop) eventLoop()).register((KnotUnsafe) unsafe()).addListener(f -> {
            if (f.isSuccess()) {
                registration = (IoRegistration) f.getNow();
                submitOps();
                promise.setSuccess();
            } else {
                promise.setFailure(f.cause());
            }
        });
    }

    @Override
    protected void doDeregister() {
        IoRegistration r = registration;
        if (r != null) {
            registration = null;
            ops = KnotIoOps.NONE;
            r.cancel();
        }
    }

    @Override
    protected void doBeginRead() {
        ((KnotUnsafe) unsafe()).readPending = true;
        setFlag(KnotIoOps.READ_BIT);
    }

    /** The config turned auto-read off: stop reading unless a read() is pending. */
    final void autoReadCleared() {
        KnotUnsafe u = (KnotUnsafe) unsafe();
        if (!isRegistered()) {
            ops = ops.without(KnotIoOps.READ_BIT);
            return;
        }
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            u.clearReadFlag();
        } else {
            loop.execute(() -> {
                if (!u.readPending && !config().isAutoRead()) u.clearReadFlag();
            });
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return active;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return remote;
    }

    @Override
    protected abstract KnotUnsafe newUnsafe();

    /** The unsafe is the channel's {@link KnotIoHandle}: the loop hands it the events of the channel's socket. */
    abstract class KnotUnsafe extends AbstractUnsafe implements KnotIoHandle {
        boolean readPending;

        @Override
        public int fd() {
            return AbstractKnotChannel.this.fdNumber();
        }

        @Override
        public boolean isFdOpen() {
            return fdOpen();
        }

        @Override
        public void close() {
            close(voidPromise());
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            int ops = ((KnotIoEvent) event).ops();
            // A failed knote (ERROR) is retried as both: the read or the write then reports what went wrong. READ_EOF
            // may come while reading is off (watchesReadEof): the data left and the end are read then, as epoll's
            // transport does on EPOLLRDHUP.
            if ((ops & (KnotIoEvent.WRITABLE | KnotIoEvent.ERROR)) != 0) writeReady();
            if ((ops & (KnotIoEvent.READABLE | KnotIoEvent.READ_EOF | KnotIoEvent.ERROR)) != 0 && isOpen()) readReady();
        }

        /** The socket is readable (or at end of file). */
        abstract void readReady();

        /** The socket is writable: finish a connect, or write what waits. */
        void writeReady() {
            super.flush0();
        }

        /** The channel whose events this unsafe receives. */
        final AbstractKnotChannel owner() {
            return AbstractKnotChannel.this;
        }

        /** Writes what is flushed, unless the kernel's buffer is full (then the WRITE event does). */
        final void flushNow() {
            flush0();
        }

        @Override
        protected final void flush0() {
            // While the WRITE knote is on, the kernel's buffer is full: the write waits for the event.
            if (!isFlagSet(KnotIoOps.WRITE_BIT)) super.flush0();
        }

        final void clearReadFlag() {
            readPending = false;
            clearFlag(KnotIoOps.READ_BIT);
        }

        @Override
        public String toString() {
            return AbstractKnotChannel.this.toString();
        }
    }
}
