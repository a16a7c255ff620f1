// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.net.StreamSocket;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Key#watchReadEof}: with reading off, data arriving wakes nobody, but the peer's FIN does, with READ_EOF;
 * turning reading back on gives the plain level-triggered READ knote again.
 */
@Timeout(30)
class ReadEofWatchTest {
    @Test
    void withReadingOffOnlyTheFinIsReported() throws Exception {
        StreamSocket[] pair = StreamSocket.pair();
        try (Selector s = Selector.open(); StreamSocket a = pair[0]; StreamSocket b = pair[1]) {
            Key k = s.register(a.fd(), Selector.OP_READ, null).watchReadEof(true);
            b.write(direct(1, 2, 3));
            assertEquals(1, s.select(10_000), "level READ while reading is on");
            assertTrue(k.isReadable());
            k.clearReady();

            k.interest(0);                                    // reading off, bytes still buffered
            assertEquals(0, s.select(200_000_000L), "buffered data must not wake an EOF-only watch");
            b.write(direct(4));
            assertEquals(0, s.select(200_000_000L), "new data must not wake an EOF-only watch");

            b.shutdownOutput();
            assertEquals(1, s.select(10_000_000_000L), "the FIN must be reported while reading is off");
            assertTrue(k.isReadable() && k.isReadEof(), "READ with READ_EOF: " + k);
            k.clearReady();

            ByteBuffer buf = ByteBuffer.allocateDirect(16);
            k.interest(Selector.OP_READ);
            assertEquals(1, s.select(10_000_000_000L));
            assertEquals(4, a.read(buf), "all the data is still there");
            k.clearReady();

            k.watchReadEof(false).interest(0);
            assertEquals(0, s.select(200_000_000L), "without the watch, reading off hears nothing");
        }
    }

    private static ByteBuffer direct(int... bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(bytes.length);
        for (int x : bytes) b.put((byte) x);
        return b.flip();
    }
}
