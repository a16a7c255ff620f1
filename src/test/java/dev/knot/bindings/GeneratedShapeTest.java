// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.knot.bindings.linux.Abi;
import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/**
 * The generated API beyond the header's shape: jextract's accessor names, the raw-address variants (real calls on a
 * socket pair), and errno through the call-state segment on a failing call.
 */
class GeneratedShapeTest {
    @Test
    void jextractNamesAgreeWithTheFields() {
        assertEquals(epoll_event.SIZEOF, epoll_event.sizeof());
        assertSame(epoll_event.LAYOUT, epoll_event.layout());
        assertEquals(epoll_event.data$OFFSET, epoll_event.data$offset());
        assertSame(epoll_event.events$LAYOUT, epoll_event.events$layout());
        assertEquals(socket_h.AF_UNIX, socket_h.AF_UNIX());
        assertEquals(errno_h.EBADF, errno_h.EBADF());
        // The handle takes the call-state segment before the descriptor's arguments.
        assertEquals(socket_h.send$descriptor().argumentLayouts().size() + 1, socket_h.send$handle().type().parameterCount());
        assertNotEquals(MemorySegment.NULL, socket_h.send$address());
    }

    @Test
    void rawVariantsMoveBytesByAddress() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(Abi.CALL_STATE_LAYOUT);
            MemorySegment sv = arena.allocate(ValueLayout.JAVA_INT, 2);
            assertEquals(0, socket_h.socketpair(st, socket_h.AF_UNIX, socket_h.SOCK_STREAM, 0, sv));
            int a = sv.getAtIndex(ValueLayout.JAVA_INT, 0), b = sv.getAtIndex(ValueLayout.JAVA_INT, 1);
            try {
                MemorySegment out = arena.allocateFrom("knot");
                MemorySegment in = arena.allocate(8);
                assertEquals(4, socket_h.send$raw(st, a, out.address(), 4, socket_h.MSG_NOSIGNAL));
                assertEquals(4, socket_h.recv$raw(st, b, in.address(), in.byteSize(), 0));
                assertEquals("knot", in.getString(0));
                // No data left: a non-blocking recv fails with EAGAIN, and errno comes back in the call state.
                assertEquals(-1, socket_h.recv$raw(st, b, in.address(), in.byteSize(), socket_h.MSG_DONTWAIT));
                assertEquals(errno_h.EAGAIN, Abi.errno(st));
            } finally {
                unistd_h.close(st, a);
                unistd_h.close(st, b);
            }
            assertEquals(-1, unistd_h.close(st, a));
            assertEquals(errno_h.EBADF, Abi.errno(st));
            // jextract's shape, without capture: the call works, errno is not reported.
            assertEquals(-1, unistd_h.close(b));
        }
    }
}
