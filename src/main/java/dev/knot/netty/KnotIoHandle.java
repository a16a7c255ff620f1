// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.IoHandle;

/**
 * Something a {@link KnotIoHandler} can watch: a descriptor, told its readiness as {@link KnotIoEvent}s. Knot's
 * channels implement it through their unsafe; other code may implement it to watch its own descriptors on a Knot
 * event loop.
 *
 * <p>Threading: {@link #fd()} and {@link #handle} are called on the event loop's thread.
 */
public interface KnotIoHandle extends IoHandle {
    /**
     * The descriptor to watch, owned by the handle. A handle may be registered before it has one (a Netty channel
     * gets its socket at bind or connect): then it returns -1, and the knotes are added at the first
     * {@link io.netty.channel.IoRegistration#submit} after it has one. It must not change once it is not -1.
     *
     * @return the descriptor, or -1 if there is none yet
     */
    int fd();

    /**
     * Whether the descriptor is still open. When a registration is cancelled after its descriptor was closed, no
     * EV_DELETE is sent (the close dropped the knotes, and the number may already name another descriptor).
     *
     * @return true while {@link #fd()} is open
     */
    boolean isFdOpen();
}
