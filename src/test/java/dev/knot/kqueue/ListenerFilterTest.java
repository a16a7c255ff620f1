// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.knot.bindings.linux.errno_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * EVFILT_READ on listening sockets: data = completed connections waiting in the accept queue (FreeBSD
 * filt_solisten, {@code so_qlen}); EVFILT_WRITE never fires on a listener. On Linux a TCP listener's queue length
 * comes from TCP_INFO; an AF_UNIX listener reports data 1 (queue length unknown) — Knot's documented choice.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class ListenerFilterTest {
    Kq kq;
    int listener;
    int port;
    @RegisterExtension final TrackedFds fds = new TrackedFds();
    static final long U = 0x11;

    @BeforeEach
    void open() throws Exception {
        int[] l = Posix.tcpListener(16);
        listener = l[0];
        port = l[1];
        fds.add(listener);
    }

    void connect(int n) throws Exception {
        for (int i = 0; i < n; i++) fds.add(Posix.tcpConnect(port));
    }

    int accept() throws Exception {
        int fd = Posix.accept(listener);
        fds.add(fd);
        return fd;
    }

    /** Waits until the listener's READ event reports {@code want} (the handshake completes asynchronously). */
    Kq.Ev awaitQueue(long want) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        Kq.Ev last = null;
        while (System.nanoTime() < deadline) {
            for (Kq.Ev e : kq.waitFor(20)) {
                if (e.ident() == listener && e.filter() == EVFILT_READ) {
                    last = e;
                    if (e.data() == want) return e;
                }
            }
        }
        throw new AssertionError("accept queue never reported " + want + "; last " + last);
    }

    @Test
    void emptyAcceptQueueIsSilent() throws Exception {
        kq.add(listener, EVFILT_READ, EV_ADD, 0, 0, U);
        assertEquals(List.of(), kq.waitFor(50));
    }

    @Test
    void dataIsTheAcceptQueueLength0Then1Then3() throws Exception {
        kq.add(listener, EVFILT_READ, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        connect(1);
        assertEv(awaitQueue(1), listener, EVFILT_READ, 0, 0, 1, U);
        connect(2);
        assertEv(awaitQueue(3), listener, EVFILT_READ, 0, 0, 3, U);
        assertEv(kq.one(), listener, EVFILT_READ, 0, 0, 3, U);       // level
        accept();
        assertEv(kq.one(), listener, EVFILT_READ, 0, 0, 2, U);
        accept();
        accept();
        kq.assertNoEvents();
    }

    @Test
    void connectionsAlreadyQueuedAreReportedOnAdd() throws Exception {
        connect(3);
        Kq.sleep(50);
        kq.add(listener, EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, U);
        assertEv(kq.one(), listener, EVFILT_READ, EV_ONESHOT, 0, 3, U);
        kq.assertNoEvents();
    }

    @Test
    void clearReportsEachNewConnectionOnce() throws Exception {
        kq.add(listener, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U);
        connect(1);
        assertEv(awaitQueue(1), listener, EVFILT_READ, EV_CLEAR, 0, 1, U);
        kq.assertNoEvents();
        connect(1);
        assertEv(awaitQueue(2), listener, EVFILT_READ, EV_CLEAR, 0, 2, U);
    }

    @Test
    void dispatchReportsOnceUntilEnabled() throws Exception {
        kq.add(listener, EVFILT_READ, EV_ADD | EV_DISPATCH, 0, 0, U);
        connect(1);
        assertEv(awaitQueue(1), listener, EVFILT_READ, EV_DISPATCH, 0, 1, U);
        connect(1);
        assertEquals(List.of(), kq.waitFor(50));
        kq.add(listener, EVFILT_READ, EV_ENABLE, 0, 0, U);
        assertEv(awaitQueue(2), listener, EVFILT_READ, EV_DISPATCH, 0, 2, U);
    }

    @Test
    void tcpListenerIsNeverWritable() throws Exception {
        kq.add(listener, EVFILT_WRITE, EV_ADD, 0, 0, U);
        connect(2);
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    void unixListenerReportsDataOneWhateverTheQueueLength(@TempDir Path dir) throws Exception {
        // Knot's documented choice: Linux has no cheap accept-queue length for AF_UNIX, so data is 1.
        String path = dir.resolve("s").toString();
        int ul = Posix.unixListener(path, 8);
        fds.add(ul);
        kq.add(ul, EVFILT_READ, EV_ADD, 0, 0, U);
        kq.add(ul, EVFILT_WRITE, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        fds.add(Posix.unixConnect(path));
        assertEv(kq.one(), ul, EVFILT_READ, 0, 0, 1, U);
        fds.add(Posix.unixConnect(path));
        fds.add(Posix.unixConnect(path));
        assertEv(kq.one(), ul, EVFILT_READ, 0, 0, 1, U);               // 3 pending, still 1; never WRITE
        for (int i = 0; i < 3; i++) fds.add(Posix.accept(ul));
        kq.assertNoEvents();
    }

    @Test
    void closingTheListenerDropsItsKnote() throws Exception {
        kq.add(listener, EVFILT_READ, EV_ADD, 0, 0, U);
        dev.knot.system.Fds.close(listener);
        fds.forget(listener);
        assertEquals(errno_h.EBADF, kq.errnoOf(listener, EVFILT_READ, dev.knot.kqueue.Kevent.EV_DELETE, 0, 0));
    }
}
