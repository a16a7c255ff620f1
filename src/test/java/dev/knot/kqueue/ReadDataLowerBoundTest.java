// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.NOTE_LOWAT;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.StreamSocket;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Knot's extension {@link Kqueue#setReadDataExact}{@code (false)}: on the Linux emulation, READ data on streams and
 * pipes becomes a lower bound (1 while bytes are readable, 0 at EOF) to save a FIONREAD per event; everything whose
 * data is not a byte count, or that needs the count (NOTE_LOWAT), keeps the exact value. The Selector uses it and
 * gives the exact count on demand through {@link Key#readData()}.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class ReadDataLowerBoundTest {
    static final long U = 0xB0B;
    Kq kq;
    int[] sp;

    @RegisterExtension final TrackedFds fds = new TrackedFds();

    @BeforeEach
    void open() throws Exception {
        sp = fds.add(Posix.socketpair());
    }

    @Test
    void exactIsTheDefaultAndTheSettingIsReported() {
        assertTrue(kq.kq.isReadDataExact());
        kq.kq.setReadDataExact(false);
        assertFalse(kq.kq.isReadDataExact(), "the emulation honours it");
        kq.kq.setReadDataExact(true);
        assertTrue(kq.kq.isReadDataExact());
    }

    @Test
    void aStreamReportsOneWhileBytesAreReadableAndZeroAtEof() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, U);
        Posix.write(sp[1], "hello");
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 5, U);       // exact: the first event also learns the kind
        kq.kq.setReadDataExact(false);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, U);
        Posix.shutdown(sp[1], dev.knot.bindings.linux.socket_h.SHUT_WR);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, U);  // 0 is a lower bound of the 5 bytes left
        kq.kq.setReadDataExact(true);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 5, U);
    }

    @Test
    void lowatKnotesAndListenersKeepTheExactValue() throws Exception {
        kq.kq.setReadDataExact(false);
        kq.add(sp[0], EVFILT_READ, EV_ADD, NOTE_LOWAT, 3, U);
        Posix.write(sp[1], "ab");
        kq.assertNoEvents();
        Posix.write(sp[1], "cd");
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 4, U);

        int[] l = Posix.tcpListener(8);
        int c1 = Posix.tcpConnect(l[1]), c2 = Posix.tcpConnect(l[1]);
        try {
            kq.add(l[0], EVFILT_READ, EV_ADD, 0, 0, U);
            assertEquals(2, awaitData(l[0], 2), "a listener's data is its accept queue, never a bound");
        } finally {
            Posix.rawClose(c1);
            Posix.rawClose(c2);
            Posix.rawClose(l[0]);
        }
    }

    @Test
    void aSocketWatchedBeforeItListensReportsItsAcceptQueue() throws Exception {
        kq.kq.setReadDataExact(false);
        int fd = Posix.socket(dev.knot.bindings.linux.socket_h.AF_INET, dev.knot.bindings.linux.socket_h.SOCK_STREAM);
        int c1 = -1, c2 = -1;
        try {
            kq.add(fd, EVFILT_READ, EV_ADD, 0, 0, U);
            kq.assertNoEvents();                                  // not connected, not listening: not readable
            int port = Posix.listenOn(fd, 8);
            c1 = Posix.tcpConnect(port);
            c2 = Posix.tcpConnect(port);
            assertEquals(2, awaitData(fd, 2), "what the data means was learnt again once it listened");
        } finally {
            for (int c : new int[] {c1, c2, fd}) if (c >= 0) Posix.rawClose(c);
        }
    }

    private long awaitData(int fd, long want) throws Exception {
        Kq.Ev ev = kq.awaitEvent(fd, EVFILT_READ);
        for (int i = 0; i < 50 && ev.data() < want; i++) {
            Kq.sleep(10);
            ev = kq.awaitEvent(fd, EVFILT_READ);
        }
        return ev.data();
    }

    @Test
    void theSelectorGivesTheExactCountWhenAsked() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        try (StreamSocket a = p[0]; StreamSocket b = p[1]; Arena arena = Arena.ofConfined(); Selector sel = Selector.open()) {
            Key kb = sel.register(b, Selector.OP_READ, null);
            a.write(arena.allocateFrom("twelve bytes", java.nio.charset.StandardCharsets.US_ASCII), 0, 12);
            assertEquals(1, sel.select(1_000_000_000L));
            assertTrue(kb.isReadable());
            assertEquals(12, kb.readData());
            b.read(arena.allocate(5));
            assertEquals(7, kb.readData(), "asked of the kernel at the call");
        }
    }
}
