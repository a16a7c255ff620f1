// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.ChannelException;

import java.io.IOException;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One socket option as a channel config holds it: a channel gets its socket only at bind, connect or accept, so a
 * value set before is kept and applied to the new socket ({@link #applyTo}); once the socket is open, reads and writes
 * go to the kernel. Volatile, as Netty's configs are used from any thread.
 *
 * @param <S> the socket type
 * @param <T> the option's value type
 */
final class SocketOption<S, T> {
    interface Getter<S, T> {
        T get(S socket) throws IOException;
    }

    interface Setter<S, T> {
        void set(S socket, T value) throws IOException;
    }

    private final Supplier<S> live;
    private final Getter<S, T> getter;
    private final Setter<S, T> setter;
    private final T kernelDefault;
    private volatile T value;

    /**
     * @param live the channel's socket while it is open, else null
     * @param initial the value before anyone sets one
     * @param kernelDefault the value a new socket has anyway: {@link #applyTo} skips the system call for it
     */
    SocketOption(Supplier<S> live, T initial, T kernelDefault, Getter<S, T> getter, Setter<S, T> setter) {
        this.live = live;
        this.value = initial;
        this.kernelDefault = kernelDefault;
        this.getter = getter;
        this.setter = setter;
    }

    /** The kernel's value once the socket is open, else the value kept for it; a failing getsockopt is a ChannelException. */
    T get() {
        S s = live.get();
        if (s == null) return value;
        try {
            return getter.get(s);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    /** The value kept for the socket to come, whether or not one is open now. */
    T pending() {
        return value;
    }

    /** Keeps {@code v} and, if the socket is open, sets it there; a failing setsockopt is a ChannelException. */
    void set(T v) {
        value = v;
        S s = live.get();
        if (s == null) return;
        try {
            setter.set(s, v);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    /** Sets the kept value on a socket just created, unless a new socket has it anyway. */
    void applyTo(S socket) throws IOException {
        T v = value;
        if (!Objects.equals(v, kernelDefault)) setter.set(socket, v);
    }
}
