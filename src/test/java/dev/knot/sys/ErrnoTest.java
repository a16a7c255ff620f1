// SPDX-License-Identifier: Apache-2.0
package dev.knot.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import dev.knot.testing.NoFdLeaks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Errno as API: named constants from the bindings, and real failures that carry them. */
@ExtendWith(NoFdLeaks.class)
class ErrnoTest {
    @Test
    void everyConstantIsTheValueItsNameHasOnThisPlatform() throws Exception {
        Map<Integer, String> seen = new HashMap<>();
        int count = 0;
        for (Field f : Errno.class.getFields()) {
            if (f.getType() != int.class || !Modifier.isStatic(f.getModifiers())) continue;
            int value = f.getInt(null);
            count++;
            assertTrue(value > 0, f.getName() + " = " + value);
            String name = Errno.name(value);
            // Aliases share a value (EWOULDBLOCK is EAGAIN everywhere, ENOTSUP is EOPNOTSUPP on Linux): the
            // platform names one of them.
            String earlier = seen.putIfAbsent(value, f.getName());
            assertTrue(name.equals(f.getName()) || name.equals(earlier) || isAliasPair(name, f.getName()),
                    f.getName() + " = " + value + " is named " + name);
        }
        assertTrue(count >= 80, "constants: " + count);
        if (Platform.CURRENT == Platform.LINUX) {
            assertEquals(104, Errno.ECONNRESET);
            assertEquals(32, Errno.EPIPE);
            assertEquals(11, Errno.EAGAIN);
        }
        assertEquals(Errno.EAGAIN, Errno.EWOULDBLOCK);
    }

    private static boolean isAliasPair(String a, String b) {
        return (a + b).equals("EOPNOTSUPPENOTSUP") || (a + b).equals("ENOTSUPEOPNOTSUPP")
                || (a + b).equals("EAGAINEWOULDBLOCK") || (a + b).equals("EWOULDBLOCKEAGAIN");
    }

    @Test
    void aPeerResetIsEconnresetByConstant() throws Exception {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             StreamSocket c = StreamSocket.connect(l.localAddress());
             Arena arena = Arena.ofConfined()) {
            StreamSocket s = null;
            while (s == null) s = l.accept();
            s.setLinger(0);                  // close sends RST instead of FIN
            s.close();
            MemorySegment buf = arena.allocate(16);
            ErrnoException e = assertThrows(ErrnoException.class, () -> {
                while (c.read(buf) == 0) Thread.onSpinWait();
            });
            assertEquals(Errno.ECONNRESET, e.errno(), e.getMessage());
            assertEquals("ECONNRESET", e.errnoName());
            assertTrue(e.isConnectionLoss());
        }
    }

    @Test
    void writingToAClosedPeerIsEpipeNotSigpipe() throws Exception {
        StreamSocket[] pair = StreamSocket.pair();
        try (StreamSocket a = pair[0]; Arena arena = Arena.ofConfined()) {
            pair[1].close();
            ErrnoException e = assertThrows(ErrnoException.class, () -> a.write(arena.allocate(8)));
            assertEquals(Errno.EPIPE, e.errno(), e.getMessage());
            assertTrue(e.isConnectionLoss());
        }
        assertFalse(Errno.isConnectionLoss(Errno.EINVAL));
        assertFalse(Errno.isConnectionLoss(Errno.EAGAIN));
    }
}
