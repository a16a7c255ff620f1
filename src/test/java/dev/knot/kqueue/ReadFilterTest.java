// SPDX-License-Identifier: Apache-2.0
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
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * EVFILT_READ on an AF_UNIX stream socketpair: FreeBSD's tests/sys/kqueue/libkqueue/read.c, case by case; then the
 * other descriptor kinds of kqueue-facts.md 5.4 (pipes, FIFOs, regular files, TCP, kqueues, eventfds) and the
 * remaining flags. Listening sockets are in {@link ListenerFilterTest}.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class ReadFilterTest {
    Kq kq;
    int[] sp;
    long udata = 0x5EED;
    @RegisterExtension final TrackedFds fds = new TrackedFds();

    @BeforeEach
    void open() throws Exception {
        sp = fds.add(Posix.socketpair());
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
        fds.closeNow(sp[1]);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);   // level: EOF persists
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

    // ------------------------------------------------------------------ beyond read.c: more descriptor kinds

    @Test
    void pipeDataIsTheBytesAvailableAcrossWrites() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Posix.write(p[1], "hello world");
        Posix.write(p[1], "hello world");
        assertEv(kq.one(), p[0], EVFILT_READ, 0, 0, 22, udata);
        Posix.read(p[0], 2);
        assertEv(kq.one(), p[0], EVFILT_READ, 0, 0, 20, udata);
    }

    @Test
    void pipeWriterCloseIsLevelEofWithTheRemainingData() throws Exception {
        int[] p = fds.add(Posix.pipe());
        kq.add(p[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.write(p[1], "ab");
        fds.closeNow(p[1]);
        assertEv(kq.one(), p[0], EVFILT_READ, EV_EOF, 0, 2, udata);
        Posix.read(p[0], 2);
        assertEv(kq.one(), p[0], EVFILT_READ, EV_EOF, 0, 0, udata);
        assertEv(kq.one(), p[0], EVFILT_READ, EV_EOF, 0, 0, udata);    // repeats until deleted
    }

    @Test
    void fifoEofIsClearedWhenANewWriterConnects(@TempDir Path dir) throws Exception {
        // filt_piperead on a FIFO: EV_EOF when the last writer goes, cleared again when a new writer connects; a
        // reader that opened with no writer sees no EOF before a writer has come and gone.
        Path fifo = dir.resolve("fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, mk.waitFor());
        int r = fds.add(Posix.open(fifo.toString(), fcntl_h.O_RDONLY | fcntl_h.O_NONBLOCK));
        kq.add(r, EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();                                          // no writer yet: not EOF
        int w = Posix.open(fifo.toString(), fcntl_h.O_WRONLY);
        Posix.write(w, "x");
        assertEv(kq.one(), r, EVFILT_READ, 0, 0, 1, udata);
        Posix.read(r, 1);
        Posix.rawClose(w);
        assertEv(kq.one(), r, EVFILT_READ, EV_EOF, 0, 0, udata);
        int w2 = fds.add(Posix.open(fifo.toString(), fcntl_h.O_WRONLY));
        kq.assertNoEvents();                                          // EOF cleared by the new writer
        Posix.write(w2, "yz");
        assertEv(kq.one(), r, EVFILT_READ, 0, 0, 2, udata);
    }

    @Test
    void regularFileDataIsSizeMinusOffsetAndSilentAtEof(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("r"), "0123456789");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDONLY));
        kq.add(fd, EVFILT_READ, EV_ADD, 0, 0, udata);
        assertEv(kq.one(), fd, EVFILT_READ, 0, 0, 10, udata);
        Posix.lseek(fd, 7, 0);
        assertEv(kq.one(), fd, EVFILT_READ, 0, 0, 3, udata);
        Posix.lseek(fd, 14, 0);                                       // past EOF: data is negative, and that is "ready"
        assertEv(kq.one(), fd, EVFILT_READ, 0, 0, -4, udata);
        Posix.lseek(fd, 10, 0);
        kq.assertNoEvents();                                          // data 0: the level knote drops off the queue
        // (lseek alone is no vnode event, so FreeBSD does not re-activate it either; growth does, see below.)
    }

    @Test
    void regularFileAtEofFiresOnceTheFileGrows(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("g"), "ab");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDONLY));
        Posix.lseek(fd, 2, 0);
        kq.add(fd, EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Thread appender = new Thread(() -> {
            Kq.sleep(100);
            try {
                Files.writeString(f, "cdef", java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        });
        appender.start();
        assertEv(kq.one(), fd, EVFILT_READ, 0, 0, 4, udata);          // a blocked wait is woken by the growth
        appender.join();
    }

    @Test
    void noteFilePollMakesARegularFileAlwaysReady(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("p"), "ab");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDONLY));
        Posix.lseek(fd, 2, 0);
        kq.add(fd, EVFILT_READ, EV_ADD, Kevent.NOTE_FILE_POLL, 0, udata);
        assertEv(kq.one(), fd, EVFILT_READ, 0, Kevent.NOTE_FILE_POLL & 0, 0, udata);
    }

    @Test
    void tcpResetIsEofWithTheErrorInFflags() throws Exception {
        int[] tcp = fds.add(Posix.tcpPair());
        kq.add(tcp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Posix.lingerZero(tcp[1]);
        fds.closeNow(tcp[1]);
        Kq.Ev e = kq.one();
        assertEquals(EV_EOF, e.flags(), e.toString());
        assertEquals(errno_h.ECONNRESET, e.fflags(), e.toString());
        assertEquals(errno_h.ECONNRESET, kq.one().fflags(), "the error stays in fflags while the EOF repeats");
    }

    @Test
    void tcpPeerFinIsEofWithFflagsZeroAndBufferedData() throws Exception {
        int[] tcp = fds.add(Posix.tcpPair());
        kq.add(tcp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.write(tcp[1], "12345678");
        Posix.shutdown(tcp[1], socket_h.SHUT_WR);
        Kq.Ev e = kq.one();
        for (int i = 0; i < 50 && (e.flags() & EV_EOF) == 0; i++) e = kq.one();   // the FIN may trail the data
        assertEv(e, tcp[0], EVFILT_READ, EV_EOF, 0, 8, udata);
    }

    @Test
    void socketEofIsNotClearedByAnEvClearReAdd() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.shutdown(sp[1], socket_h.SHUT_WR);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, udata);  // stored flags stay as created; EOF is sticky
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_EOF, 0, 0, udata);
    }

    @Test
    void unconnectedTcpSocketIsNotReadable() throws Exception {
        int s = fds.add(Posix.socket(socket_h.AF_INET, socket_h.SOCK_STREAM));
        kq.add(s, EVFILT_READ, EV_ADD, 0, 0, udata);
        assertEquals(List.of(), kq.waitFor(50));
    }

    @Test
    void kqueueDescriptorIsReadableWhileItHasPendingEvents() throws Exception {
        try (Kq inner = new Kq()) {
            kq.add(inner.kq.fd(), EVFILT_READ, EV_ADD, 0, 0, udata);
            kq.assertNoEvents();
            inner.add(1, Kevent.EVFILT_USER, EV_ADD | EV_CLEAR, Kevent.NOTE_TRIGGER, 0, 0);
            Kq.Ev e = kq.one();
            assertEquals(inner.kq.fd(), e.ident());
            assertEquals(EVFILT_READ, e.filter());
            assertEquals(1, inner.poll().size());
            kq.assertNoEvents();
        }
    }

    @Test
    void kqueueDescriptorDataIsThePendingEventCount() throws Exception {
        try (Kq inner = new Kq()) {
            inner.add(1, Kevent.EVFILT_USER, EV_ADD | EV_CLEAR, Kevent.NOTE_TRIGGER, 0, 0);
            inner.add(2, Kevent.EVFILT_USER, EV_ADD | EV_CLEAR, Kevent.NOTE_TRIGGER, 0, 0);
            kq.add(inner.kq.fd(), EVFILT_READ, EV_ADD, 0, 0, udata);
            assertEv(kq.one(), inner.kq.fd(), EVFILT_READ, 0, 0, 2, udata);
        }
    }

    @Test
    void eventfdDataIsTheCounterValue() throws Exception {
        int efd = fds.add(Posix.eventfd(5));
        kq.add(efd, EVFILT_READ, EV_ADD, 0, 0, udata);
        assertEv(kq.one(), efd, EVFILT_READ, 0, 0, 5, udata);
    }

    @Test
    void eventfdIsReadableWhileItsCounterIsNonZero() throws Exception {
        int efd = fds.add(Posix.eventfd(0));
        kq.add(efd, EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        Posix.write(efd, new byte[] {3, 0, 0, 0, 0, 0, 0, 0});
        Kq.Ev e = kq.one();
        assertEquals(efd, e.ident());
        assertTrue(e.data() > 0, e.toString());
        Posix.read(efd, 8);
        kq.assertNoEvents();
    }

    @Test
    void sameDescriptorInTwoKqueuesFiresInBoth() throws Exception {
        try (Kq other = new Kq()) {
            kq.add(sp[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, 1);
            other.add(sp[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, 2);
            Posix.write(sp[1], ".");
            assertEv(kq.one(), sp[0], EVFILT_READ, EV_ONESHOT, 0, 1, 1);
            assertEv(other.one(), sp[0], EVFILT_READ, EV_ONESHOT, 0, 1, 2);
        }
    }

    // ---------------------------------------------------------------------------- flags not covered above

    @Test
    void deleteOfANeverAddedKnoteIsEnoentAndWithRoomAnEvErrorEntry() throws Exception {
        assertEquals(errno_h.ENOENT, kq.errnoOf(sp[0], EVFILT_READ, EV_DELETE, 0, 0));
        List<Kq.Ev> r = kq.change(sp[0], EVFILT_READ, EV_DELETE, 0, 0, udata);
        assertEquals(List.of(new Kq.Ev(sp[0], EVFILT_READ, Kevent.EV_ERROR, 0, errno_h.ENOENT, udata)), r);
    }

    @Test
    void receiptIsAcknowledgedWithoutScanningAndEchoedLater() throws Exception {
        Posix.write(sp[1], ".");
        List<Kq.Ev> r = kq.change(sp[0], EVFILT_READ, EV_ADD | Kevent.EV_RECEIPT, 0, 0, udata);
        assertEquals(List.of(new Kq.Ev(sp[0], EVFILT_READ, Kevent.EV_ERROR, 0, 0, udata)), r, "receipt only, no scan");
        assertEv(kq.one(), sp[0], EVFILT_READ, Kevent.EV_RECEIPT, 0, 1, udata);
    }

    @Test
    void keepudataKeepsTheUdataOfAModify() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 7);
        kq.add(sp[0], EVFILT_READ, EV_ENABLE | Kevent.EV_KEEPUDATA, 0, 0, 8);
        Posix.write(sp[1], ".");
        assertEquals(7, kq.one().udata());
        kq.add(sp[0], EVFILT_READ, EV_ENABLE, 0, 0, 9);
        assertEquals(9, kq.one().udata());
    }

    @Test
    void addOnADisabledKnoteDoesNotEnableIt() throws Exception {
        // kqueue_register: only EV_ENABLE clears KN_DISABLED; "adding enables" holds for new knotes only.
        Posix.write(sp[1], ".");
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_DISABLE, 0, 0, udata);
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_ENABLE, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);
    }

    @Test
    void aBareEnableReplacesTheSavedLowatThreshold() throws Exception {
        // Every modify of a non-touch filter overwrites sfflags/sdata: EV_ENABLE with fflags 0 drops NOTE_LOWAT.
        kq.add(sp[0], EVFILT_READ, EV_ADD, NOTE_LOWAT, 3, udata);
        Posix.write(sp[1], "a");
        kq.assertNoEvents();
        kq.add(sp[0], EVFILT_READ, EV_ENABLE, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 1, udata);
    }

    @Test
    void soRcvlowatIsTheDefaultThresholdOnTcp() throws Exception {
        // filt_soread: without NOTE_LOWAT, ready iff the buffered bytes reach SO_RCVLOWAT.
        int[] tcp = fds.add(Posix.tcpPair());
        Posix.setIntOption(tcp[0], socket_h.SOL_SOCKET, socket_h.SO_RCVLOWAT, 3);
        kq.add(tcp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.write(tcp[1], "ab");
        assertEquals(List.of(), kq.waitFor(50));
        Posix.write(tcp[1], "c");
        assertEv(kq.one(), tcp[0], EVFILT_READ, 0, 0, 3, udata);
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: READ data): epoll ignores SO_RCVLOWAT on AF_UNIX sockets; NOTE_LOWAT works everywhere")
    void soRcvlowatIsTheDefaultThresholdOnUnixSockets() throws Exception {
        Posix.setIntOption(sp[0], socket_h.SOL_SOCKET, socket_h.SO_RCVLOWAT, 3);
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        Posix.write(sp[1], "ab");
        assertEquals(List.of(), kq.waitFor(50));
        Posix.write(sp[1], "c");
        assertEv(kq.one(), sp[0], EVFILT_READ, 0, 0, 3, udata);
    }

    @Test
    void aClearKnoteActivatedWhileDisabledIsDeliveredOnEnable() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, udata);
        kq.add(sp[0], EVFILT_READ, EV_DISABLE, 0, 0, udata);
        Posix.write(sp[1], "ab");
        kq.assertNoEvents();                                          // the edge came while disabled
        kq.add(sp[0], EVFILT_READ, EV_ENABLE, 0, 0, udata);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_CLEAR, 0, 2, udata);
        kq.assertNoEvents();
    }

    @Test
    void readAndVnodeKnotesOnOneFileDescriptorSurviveEachOthersDelete(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("rv"), "ab");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDONLY));
        Posix.lseek(fd, 2, 0);
        kq.add(fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 1);
        kq.add(fd, Kevent.EVFILT_VNODE, EV_ADD | EV_CLEAR, Kevent.NOTE_WRITE, 0, 2);
        kq.assertNoEvents();
        kq.add(fd, Kevent.EVFILT_VNODE, EV_DELETE);
        Files.writeString(f, "c", java.nio.file.StandardOpenOption.APPEND);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_READ, EV_CLEAR, 0, 1, 1)), kq.waitFor(1000), "READ still sees the growth");
        kq.add(fd, Kevent.EVFILT_VNODE, EV_ADD | EV_CLEAR, Kevent.NOTE_WRITE, 0, 2);
        kq.add(fd, EVFILT_READ, EV_DELETE);
        Files.writeString(f, "d", java.nio.file.StandardOpenOption.APPEND);
        assertEquals(List.of(new Kq.Ev(fd, Kevent.EVFILT_VNODE, EV_CLEAR, Kevent.NOTE_WRITE | Kevent.NOTE_EXTEND, 0, 2)),
                kq.waitFor(1000), "VNODE still sees the write");
    }

    @Test
    void aModifyDoesNotResetAnActiveKnote() throws Exception {
        // kqueue.2: re-adding "will not reset any filter which has already been triggered".
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 1);
        Posix.write(sp[1], "ab");
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 2);
        assertEv(kq.one(), sp[0], EVFILT_READ, EV_CLEAR, 0, 2, 2);
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: oneshot): the emulation evaluates a oneshot READ knote when epoll reports it, so data read before the scan is not reported")
    void aQueuedOneshotIsDeliveredEvenIfTheDataWasReadMeanwhile() throws Exception {
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, udata);
        Posix.write(sp[1], "x");
        Posix.read(sp[0], 1);
        assertEquals(List.of(new Kq.Ev(sp[0], EVFILT_READ, EV_ONESHOT, 0, 1, udata)), kq.poll());
    }

    @Test
    void forceoneshotDeliversOnceEvenWithoutDataThenTheKnoteIsGone() throws Exception {
        // EV_FORCEONESHOT on an existing knote: ONESHOT is added and the knote is activated at once.
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, udata);
        kq.assertNoEvents();
        kq.add(sp[0], EVFILT_READ, Kevent.EV_FORCEONESHOT, 0, 0, udata);
        List<Kq.Ev> got = kq.poll();
        assertEquals(1, got.size(), got.toString());
        assertEquals(EV_ONESHOT, got.get(0).flags() & EV_ONESHOT, got.toString());
        assertEquals(errno_h.ENOENT, kq.errnoOf(sp[0], EVFILT_READ, EV_DELETE, 0, 0));
    }
}
