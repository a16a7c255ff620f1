// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.net.StreamSocket;

import java.io.IOException;

/** What a stream channel needs of its config beyond Netty's: half-closure, linger, and options for a new socket. */
interface StreamConfig {
    /** ALLOW_HALF_CLOSURE. */
    boolean isAllowHalfClosure();

    /** SO_LINGER in seconds, -1 when off. */
    int getSoLinger();

    /** Applies the options set so far to a socket just created for bind or connect. */
    void applyTo(StreamSocket socket) throws IOException;
}
