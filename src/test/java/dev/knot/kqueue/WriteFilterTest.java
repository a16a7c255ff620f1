// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_KEEPUDATA;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static dev.knot.kqueue.Kevent.NOTE_LOWAT;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.system.CallState;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * EVFILT_WRITE: data = free space in the send buffer / pipe, EV_EOF when the reader goes, never on a listening
 * socket, EPIPE when the pipe's reader is already gone, and the delivery modes (FreeBSD filt_sowrite and
 * filt_pipewrite, kqueue-facts.md 5.4; libkqueue test/write.c).
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class WriteFilterTest {
    Kq kq;
    @RegisterExtension final TrackedFds fds = new TrackedFds();
    static final long U = 0xCAFEBABEL;

    static int pipeSize(int fd) {
        return fcntl_h.fcntl(CallState.forThread(), fd, fcntl_h.F_GETPIPE_SZ, 0);
    }

    // ------------------------------------------------------------------------------------------- data

    @Test
    void pipeWriteDataIsTheFreeSpaceOfThePipe() throws Exception {
        int[] p = fds.add(Posix.pipe());
        int size = pipeSize(p[1]);
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        assertEv(kq.one(), p[1], EVFILT_WRITE, 0, 0, size, U);
        Posix.write(p[1], new byte[100]);
        assertEv(kq.one(), p[1], EVFILT_WRITE, 0, 0, size - 100, U);   // level: again, with less room
        Posix.read(p[0], 40);
        assertEv(kq.one(), p[1], EVFILT_WRITE, 0, 0, size - 60, U);
    }

    @Test
    void fullPipeIsNotWritableUntilTheReaderDrainsIt() throws Exception {
        int[] p = fds.add(Posix.pipe());
        Posix.fill(p[1]);
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        Posix.drain(p[0]);
        assertEv(kq.one(), p[1], EVFILT_WRITE, 0, 0, pipeSize(p[1]), U);
    }

    @Test
    void socketpairWriteDataIsPositiveFreeSpaceThatShrinksWithUnreadData() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        Kq.Ev first = kq.one();
        assertEquals(0, first.flags(), first.toString());
        assertEquals(0, first.fflags(), first.toString());
        assertTrue(first.data() > 0, "free send space must be positive: " + first);
        Posix.write(sp[0], new byte[4096]);
        Kq.Ev second = kq.one();
        assertTrue(second.data() < first.data(), "data must shrink with 4096 unread bytes: " + first + " then " + second);
    }

    @Test
    void tcpWriteFiresWithFreeSpaceAndStopsWhenTheSendBufferIsFull() throws Exception {
        int[] tcp = fds.add(Posix.tcpPair());
        kq.add(tcp[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        Kq.Ev e = kq.one();
        assertEquals(EVFILT_WRITE, e.filter());
        assertEquals(0, e.flags(), e.toString());
        assertTrue(e.data() > 0, e.toString());
        Posix.fill(tcp[0]);
        kq.assertNoEvents();
        // Drain the peer until the sender becomes writable again.
        long deadline = System.nanoTime() + 5_000_000_000L;
        Kq.Ev again = null;
        while (again == null && System.nanoTime() < deadline) {
            Posix.drain(tcp[1]);
            for (Kq.Ev ev : kq.waitFor(50)) if (ev.filter() == EVFILT_WRITE) again = ev;
        }
        assertTrue(again != null && again.data() > 0, "writable again after the peer drained: " + again);
    }

    @Test
    void regularFileIsAlwaysWritableWithDataZero(@TempDir Path dir) throws Exception {
        // FreeBSD vfs_kqfilter attaches WRITE to vnodes; filt_vfswrite is always true with data 0.
        Path f = Files.writeString(dir.resolve("w"), "abc");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDWR));
        kq.add(fd, EVFILT_WRITE, EV_ADD, 0, 0, U);
        assertEv(kq.one(), fd, EVFILT_WRITE, 0, 0, 0, U);
        Posix.write(fd, "more");
        assertEv(kq.one(), fd, EVFILT_WRITE, 0, 0, 0, U);             // level: every call
    }

    @Test
    void eventfdIsWritableAndItsReadKnoteSurvives() throws Exception {
        int efd = fds.add(Posix.eventfd(1));
        kq.add(efd, EVFILT_WRITE, EV_ADD, 0, 0, 1);
        kq.add(efd, EVFILT_READ, EV_ADD, 0, 0, 2);
        List<Kq.Ev> got = kq.waitFor(1000);
        got = new ArrayList<>(got);
        got.addAll(kq.poll());
        assertTrue(got.stream().anyMatch(e -> e.filter() == EVFILT_WRITE), "WRITE fires: " + got);
        assertTrue(got.stream().anyMatch(e -> e.filter() == EVFILT_READ), "READ fires: " + got);
        assertEquals(0, kq.errnoOf(efd, EVFILT_READ, EV_DELETE, 0, 0), "the READ knote still exists");
    }

    @Test
    void ptyMasterIsWritable() throws Exception {
        int pty;
        try {
            pty = Posix.open("/dev/ptmx", fcntl_h.O_RDWR | fcntl_h.O_NONBLOCK);
        } catch (dev.knot.sys.ErrnoException e) {
            org.junit.jupiter.api.Assumptions.abort("no pty: " + e.getMessage());
            return;
        }
        fds.add(pty);
        kq.add(pty, EVFILT_WRITE, EV_ADD, 0, 0, U);
        Kq.Ev e = kq.one();
        assertEquals(EVFILT_WRITE, e.filter());
        assertEquals(pty, e.ident());
    }

    // --------------------------------------------------------------------------------- EOF and errors

    @Test
    void socketpairPeerCloseIsEofOnWriteAndIsSticky() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.one();
        fds.closeNow(sp[1]);
        Kq.Ev e = kq.one();
        assertEquals(EV_EOF, e.flags(), e.toString());
        assertEquals(0, e.fflags(), "a clean close has no socket error: " + e);
        Kq.Ev again = kq.one();
        assertEquals(EV_EOF, again.flags(), "socket EOF is level and sticky: " + again);
    }

    @Test
    void tcpResetGivesEofWithTheSocketErrorOnBothFilters() throws Exception {
        // Linux clears SO_ERROR when it is read; Knot reads it once and keeps it for both filters of the
        // descriptor (a documented choice), so READ and WRITE both see ECONNRESET, and keep seeing it.
        int[] tcp = fds.add(Posix.tcpPair());
        kq.add(tcp[0], EVFILT_WRITE, EV_ADD, 0, 0, 1);
        kq.add(tcp[0], EVFILT_READ, EV_ADD, 0, 0, 2);
        kq.one();                                                     // writable
        Posix.lingerZero(tcp[1]);
        fds.closeNow(tcp[1]);
        Kq.Ev read = null, write = null;
        long deadline = System.nanoTime() + 5_000_000_000L;
        while ((read == null || write == null) && System.nanoTime() < deadline) {
            for (Kq.Ev e : kq.waitFor(50)) {
                if (e.filter() == EVFILT_READ && (e.flags() & EV_EOF) != 0) read = e;
                if (e.filter() == EVFILT_WRITE && (e.flags() & EV_EOF) != 0) write = e;
            }
        }
        assertTrue(read != null && write != null, "EOF on both filters: read=" + read + " write=" + write);
        assertEquals(errno_h.ECONNRESET, read.fflags(), read.toString());
        assertEquals(errno_h.ECONNRESET, write.fflags(), write.toString());
        for (Kq.Ev e : kq.poll()) assertEquals(errno_h.ECONNRESET, e.fflags(), "the error is kept: " + e);
    }

    @Test
    void pipeReaderGoneGivesOneEofOneshotEventThenTheKnoteIsGone() throws Exception {
        // filt_pipewrite + pipeclose/knlist_clear: the writer's knote fires once with EV_EOF|EV_ONESHOT and is dropped.
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.one();
        fds.closeNow(p[0]);
        Kq.Ev e = kq.one();
        assertEquals(EV_EOF | EV_ONESHOT, e.flags() & (EV_EOF | EV_ONESHOT), e.toString());
        assertEquals(p[1], e.ident());
        assertEquals(U, e.udata());
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(p[1], EVFILT_WRITE, EV_DELETE, 0, 0));
    }

    @Test
    void registeringWriteOnAPipeWhoseReaderIsGoneIsEpipe() throws Exception {
        int[] p = fds.add(Posix.pipe());
        fds.closeNow(p[0]);
        assertEquals(errno_h.EPIPE, kq.errnoOf(p[1], EVFILT_WRITE, EV_ADD, 0, 0));
        // With room in the eventlist the error comes back as an EV_ERROR entry instead.
        List<Kq.Ev> r = kq.change(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        assertEquals(1, r.size(), r.toString());
        assertEquals(EV_ERROR, r.get(0).flags());
        assertEquals(errno_h.EPIPE, r.get(0).data());
    }

    @Test
    void listeningSocketIsNeverWritable() throws Exception {
        int[] l = Posix.tcpListener(8);
        fds.add(l[0]);
        kq.add(l[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        fds.add(Posix.tcpConnect(l[1]));                                // a pending connection makes it READ-ready only
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    void unconnectedTcpSocketIsNotWritable() throws Exception {
        // filt_sowrite: "not connected and the protocol needs a connection -> not ready" (uipc_socket.c).
        int s = fds.add(Posix.socket(socket_h.AF_INET, socket_h.SOCK_STREAM));
        kq.add(s, EVFILT_WRITE, EV_ADD, 0, 0, U);
        assertEquals(List.of(), kq.waitFor(50));
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: WRITE EV_EOF): epoll does not report a raw shutdown(SHUT_WR); Knot's own StreamSocket.shutdownOutput does (see the test below)")
    void localShutdownOfTheSendSideIsEofOnWrite() throws Exception {
        // filt_sowrite: SBS_CANTSENDMORE (our own shutdown(SHUT_WR)) -> EV_EOF, ready.
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, 0, 0, U);
        assertEquals(0, kq.one().flags());
        Posix.shutdown(sp[0], socket_h.SHUT_WR);
        Kq.Ev e = kq.one();
        assertEquals(EV_EOF, e.flags() & EV_EOF, "send side shut down: " + e);
    }

    @Test
    void shutdownOutputThroughKnotIsEofOnWrite() throws Exception {
        // Knot's own sockets tell the emulation, so FreeBSD's SBS_CANTSENDMORE EV_EOF is reported for them.
        dev.knot.net.StreamSocket[] p = dev.knot.net.StreamSocket.pair();
        try {
            kq.add(p[0].fd(), EVFILT_WRITE, EV_ADD, 0, 0, U);
            assertEquals(0, kq.one().flags());
            p[0].shutdownOutput();
            Kq.Ev e = kq.one();
            assertEquals(EV_EOF, e.flags() & EV_EOF, "send side shut down: " + e);
        } finally {
            p[0].close();
            p[1].close();
        }
    }

    @Test
    void readAndWriteKnotesOfOneDescriptorKeepTheirOwnModes() throws Exception {
        // The epoll trap: one registration per (fd, file). WRITE is EV_CLEAR (edge) and READ is level.
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, 1);
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 2);
        Posix.write(sp[1], "x");
        List<Kq.Ev> first = kq.waitFor(1000);
        assertEquals(2, first.size(), first.toString());
        for (int i = 0; i < 3; i++) {
            List<Kq.Ev> again = kq.poll();
            assertEquals(1, again.size(), "only the level READ knote repeats: " + again);
            assertEv(again.get(0), sp[0], EVFILT_READ, 0, 0, 1, 2);
        }
        // And the other way round: READ oneshot, WRITE level.
        int[] sp2 = fds.add(Posix.socketpair());
        kq.add(sp2[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, 3);
        kq.add(sp2[0], EVFILT_WRITE, EV_ADD, 0, 0, 4);
        Posix.write(sp2[1], "y");
        kq.add(sp[0], EVFILT_READ, EV_DELETE);
        List<Kq.Ev> got = kq.waitFor(1000);
        assertTrue(got.stream().anyMatch(e -> e.filter() == EVFILT_READ && e.udata() == 3), got.toString());
        for (int i = 0; i < 3; i++) {
            List<Kq.Ev> again = kq.poll();
            assertTrue(again.stream().noneMatch(e -> e.filter() == EVFILT_READ), "READ was oneshot: " + again);
            assertTrue(again.stream().anyMatch(e -> e.filter() == EVFILT_WRITE && e.udata() == 4), "WRITE is level: " + again);
        }
    }

    // ---------------------------------------------------------------------------------- delivery modes

    @Test
    void deleteStopsEventsAndASecondDeleteIsEnoent() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.add(p[1], EVFILT_WRITE, EV_DELETE);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(p[1], EVFILT_WRITE, EV_DELETE, 0, 0));
    }

    @Test
    void disableSilencesAndEnableReportsTheStandingCondition() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.add(p[1], EVFILT_WRITE, EV_DISABLE, 0, 0, U);
        kq.assertNoEvents();
        kq.assertNoEvents();
        kq.add(p[1], EVFILT_WRITE, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), p[1], EVFILT_WRITE, 0, 0, pipeSize(p[1]), U);
    }

    @Test
    void oneshotFiresOnceThenDeleteIsEnoent() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD | EV_ONESHOT, 0, 0, U);
        assertEv(kq.one(), p[1], EVFILT_WRITE, EV_ONESHOT, 0, pipeSize(p[1]), U);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(p[1], EVFILT_WRITE, EV_DELETE, 0, 0));
    }

    @Test
    void clearFiresOnceUntilTheConditionChanges() throws Exception {
        int[] p = fds.add(Posix.pipe());
        Posix.fill(p[1]);
        kq.add(p[1], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, U);
        kq.assertNoEvents();
        Posix.drain(p[0]);
        assertEv(kq.one(), p[1], EVFILT_WRITE, EV_CLEAR, 0, pipeSize(p[1]), U);
        kq.assertNoEvents();
    }

    @Test
    void dispatchFiresOnceAndEnableRearms() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD | EV_DISPATCH, 0, 0, U);
        assertEv(kq.one(), p[1], EVFILT_WRITE, EV_DISPATCH, 0, pipeSize(p[1]), U);
        kq.assertNoEvents();
        kq.add(p[1], EVFILT_WRITE, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), p[1], EVFILT_WRITE, EV_DISPATCH, 0, pipeSize(p[1]), U);
        kq.add(p[1], EVFILT_WRITE, EV_DELETE);
    }

    @Test
    void receiptIsAcknowledgedAndStaysInTheKnotesFlags() throws Exception {
        int[] p = fds.add(Posix.pipe());
        List<Kq.Ev> r = kq.change(p[1], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, U);
        assertEquals(List.of(new Kq.Ev(p[1], EVFILT_WRITE, EV_ERROR, 0, 0, U)), r);
        assertEv(kq.one(), p[1], EVFILT_WRITE, EV_RECEIPT, 0, pipeSize(p[1]), U);
    }

    @Test
    void modifyReplacesUdataUnlessKeepudata() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[1], EVFILT_WRITE, EV_ADD, 0, 0, 1);
        kq.add(p[1], EVFILT_WRITE, EV_DISABLE | EV_KEEPUDATA, 0, 0, 2);
        kq.add(p[1], EVFILT_WRITE, EV_ENABLE | EV_KEEPUDATA, 0, 0, 3);
        assertEquals(1, kq.one().udata());
        kq.add(p[1], EVFILT_WRITE, EV_ENABLE, 0, 0, 4);              // any modify without KEEPUDATA replaces udata
        assertEquals(4, kq.one().udata());
    }

    @Test
    void lowatThresholdAboveTheFreeSpaceKeepsItQuiet() throws Exception {
        // NOTE_LOWAT on WRITE: ready iff data >= the threshold (filt_pipewrite has no LOWAT; sockets do).
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, NOTE_LOWAT, Long.MAX_VALUE / 2, U);
        kq.assertNoEvents();
        kq.add(sp[0], EVFILT_WRITE, EV_ADD, NOTE_LOWAT, 1, U);
        Kq.Ev e = kq.one();
        assertTrue(e.data() >= 1, e.toString());
    }
}
