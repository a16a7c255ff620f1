// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** The line channels between a master and its workers or successor: US-ASCII lines over a non-blocking socket. */
final class ControlLines {
    private ControlLines() {}

    /** What {@link #readAvailable} stopped at. */
    enum Read {
        /** Nothing more to read now. */
        DRAINED,
        /** The peer closed its end. */
        EOF,
        /** {@code input} grew past the limit without the caller taking lines out of it; it was cleared. */
        OVERFLOW
    }

    /**
     * Appends what {@code channel} has ready to {@code input}, until the socket would block, reaches end of stream,
     * or {@code input} holds more than {@code limit} characters.
     */
    static Read readAvailable(StreamSocket channel, StringBuilder input, int limit) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            while (true) {
                int n = channel.read(buf);
                if (n == 0) return Read.DRAINED;
                if (n < 0) return Read.EOF;
                input.append(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
                if (input.length() > limit) {
                    input.setLength(0);
                    return Read.OVERFLOW;
                }
            }
        }
    }
}
