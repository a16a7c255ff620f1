// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.NOTE_LOWAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.StreamSocket;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Knot's extension {@link Kqueue#setWriteDataExact}{@code (false)}: on the Linux emulation, WRITE data on sockets
 * becomes a lower bound (1 while writable, 0 at EOF) to save SIOCOUTQ and a getsockopt per event; NOTE_LOWAT knotes
 * keep the exact free space. The Selector uses it and gives the exact figure on demand through {@link Key#writeData()}.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class WriteDataLowerBoundTest {
    static final long U = 0xB0B;
    Kq kq;
    int[] sp;

    @BeforeEach
    void open() throws Exception {
        sp = Posix.socketpair();
    }

    @AfterEach
    void close() {
        Posix.rawClose(sp[0]);
        if (sp[1] >= 0) Posix.rawClose(sp[1]);
    }

    @Test
    void exactIsTheDefaultAndTheSettingIsReported() {
        assertTrue(kq.kq.isWriteDataExact());
        kq.kq.setWriteDataExact(false);
        assertFalse(kq.kq.isWriteDataExact(), "the emulation honours it");
        assertTrue(kq.kq.isReadDataExact(), "the READ setting is its own");
        kq.kq.setWriteDataExact(true);
        assertTrue(kq.kq.isWriteDataExact());
    }

    @Test
    void aSocketReportsOneWhileWritableAndZeroAtEof() throws Exception {
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        Kq.Ev first = kq.one();
        assertEquals(EVFILT_WRITE, first.filter());
        assertTrue(first.data() > 1, "exact: the free send space, " + first.data());
        kq.kq.setWriteDataExact(false);
        Kq.Ev bound = kq.one();
        assertEquals(1, bound.data(), "a lower bound: room for at least a byte");
        assertEquals(0, bound.flags() & EV_EOF);
        Posix.rawClose(sp[1]);
        sp[1] = -1;
        Kq.Ev eof = kq.one();
        assertEquals(EV_EOF, eof.flags() & EV_EOF);
        assertEquals(0, eof.data(), "nothing can be sent to a closed peer");
    }

    @Test
    void lowatKnotesKeepTheExactValue() throws Exception {
        kq.kq.setWriteDataExact(false);
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, NOTE_LOWAT, 100, U);
        kq.one();                                                 // the first event learns the descriptor's kind
        Kq.Ev ev = kq.one();
        assertTrue(ev.data() >= 100, "NOTE_LOWAT needs the real free space: " + ev.data());
    }

    @Test
    void theSelectorGivesTheExactFreeSpaceWhenAsked() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        try (StreamSocket a = p[0]; StreamSocket b = p[1]; Arena arena = Arena.ofConfined(); Selector sel = Selector.open()) {
            Key ka = sel.register(a, Selector.OP_WRITE, null);
            assertEquals(1, sel.select(1_000_000_000L));
            assertTrue(ka.isWritable());
            long empty = ka.writeData();
            assertTrue(empty > 1, "asked of the kernel, not the bound: " + empty);
            a.write(arena.allocate(1000), 0, 1000);
            long after = ka.writeData();
            assertTrue(after < empty, "the queued bytes take room: " + empty + " then " + after);
        }
    }
}
