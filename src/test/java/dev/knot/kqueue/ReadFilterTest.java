package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.NOTE_LOWAT;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.testing.Kq;
import dev.knot.testing.Posix;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** EVFILT_READ on an AF_UNIX stream socketpair: FreeBSD's tests/sys/kqueue/libkqueue/read.c, case by case. */
class ReadFilterTest {
    Kq kq;
    int[] sp;
    long udata = 0x5EED;

    @BeforeEach
    void open() throws Exception {
        kq = new Kq();
        sp = Posix.socketpair();
    }

    @AfterEach
    void close() {
        kq.close();
        Posix.rawClose(sp[0]);
        Posix.rawClose(sp[1]);
    }

    private void drain() throws Exception {
        Posix.nonBlocking(sp[0]);
        try {
            while (Posix.read(sp[0], 4096).length > 0) { }
        } catch (dev.knot.sys.ErrnoException eagain) {
            // drained
        }
    }

    @Test
    void addThenDeleteSeesNothing() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.add(sp[0], EVFILT_READ, EV_DELETE, 0, 0, udata);
        Posix.write(sp[1], ".");
        kq.assertNoEvents();
    }

    @Test
    void levelTriggeredReportsBytesUntilDrained() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);    // level: again while unread
        Posix.read(sp[0], 1);
        kq.assertNoEvents();
    }

    @Test
    void disabledKnoteReportsAPreexistingConditionOnEnable() throws Exception {
        Posix.write(sp[1], ".");
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_DISABLE, 0, 0, udata);
        kq.assertNoEvents();
        kq.add(sp[0], EVFILT_READ, EV_ENABLE, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);
    }

    @Test
    void oneshotFiresOnceThenIsGone() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, udata);
        kq.assertNoEvents();
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_ONESHOT, 0, 1, udata);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(sp[0], EVFILT_READ, EV_DELETE, 0, 0));
        // A new EV_ADD after the oneshot fired works again (its disarmed registration is reused).
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);
    }

    @Test
    void clearReportsAccumulatedBytesAndOnlyNewEdges() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, udata);
        Posix.write(sp[1], ".");
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_CLEAR, 0, 2, udata);
        Posix.read(sp[0], 1);
        kq.assertNoEvents();                                      // one byte left, but no new edge
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_CLEAR, 0, 2, udata);
    }

    @Test
    void dispatchDisablesAfterOneEventAndEnableRearms() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_DISPATCH, 0, 0, udata);
        kq.assertNoEvents();
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_DISPATCH, 0, 1, udata);
        kq.assertNoEvents();                                      // still unread, but disabled
        kq.add(sp[0], EVFILT_READ, EV_ENABLE, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_DISPATCH, 0, 1, udata);
        kq.add(sp[0], EVFILT_READ, EV_DELETE, 0, 0, udata);      // delete succeeds on a dispatched knote
    }

    @Test
    void peerCloseIsEofWithDataZero() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Posix.rawClose(sp[1]);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);   // level: EOF persists
        sp[1] = Posix.socketpair()[1];
    }

    @Test
    void eofArrivesTogetherWithBufferedData() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.write(sp[1], "abc");
        Posix.shutdown(sp[1], dev.knot.bindings.linux.socket_h.SHUT_WR);
        Kq.Ev e = kq.one();
        assertEquals(3, e.data());
        assertTrue((e.flags() & EV_EOF) != 0, e.toString());
    }

    @Test
    void lowatWaitsForTheThreshold() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, NOTE_LOWAT, 3, udata);
        Posix.write(sp[1], "ab");
        kq.assertNoEvents();
        Posix.write(sp[1], "c");
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, NOTE_LOWAT & 0, 3, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 3, udata);       // level while >= threshold
        Posix.read(sp[0], 1);
        kq.assertNoEvents();
    }

    @Test
    void modifyReplacesUdataAndKeepsStoredFlags() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 1);
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 2);                 // no EV_CLEAR: still a CLEAR knote
        Posix.write(sp[1], ".");
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_CLEAR, 0, 1, 2);
        kq.assertNoEvents();
    }
}
