// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.system.Uring;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The changelist path on Linux (io_uring batches or one epoll_ctl per change): which one runs, and that a batch
 * whose changes succeed and fail in turn still reports each change's own outcome, in changelist order. The Maven
 * build runs the kqueue tests a second time with io_uring turned off, so both paths pass this.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@org.junit.jupiter.api.extension.ExtendWith(dev.knot.testing.NoFdLeaks.class)
class ChangelistPathTest {
    Kqueue kq;
    KeventArray ch, ev;
    @RegisterExtension final TrackedFds fds = new TrackedFds();

    @BeforeEach
    void open() throws Exception {
        kq = Kqueue.open();
        ch = KeventArray.allocate(32);
        ev = KeventArray.allocate(32);
    }

    @AfterEach
    void close() {
        kq.close();
        ch.close();
        ev.close();
    }

    static boolean forcedOff() {
        return "false".equalsIgnoreCase(System.getProperty("knot.uring", System.getenv().getOrDefault("KNOT_URING", "true")));
    }

    @Test
    void pathSaysWhichOneRuns() throws Exception {
        String p = kq.changelistPath();
        if (forcedOff()) {
            assertTrue(p.startsWith("epoll_ctl (disabled by"), p);
        } else if (Uring.available()) {
            assertTrue(p.startsWith("io_uring (0 submissions"), p);
        } else {
            assertTrue(p.startsWith("epoll_ctl (") && p.contains("io_uring"), "names the failed io_uring call: " + p);
        }
    }

    @Test
    void everyChangeOfABatchGetsItsOwnOutcomeInOrder() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        int[] pp = fds.add(Posix.pipe());
        int[] extra = new int[6];
        for (int k = 0; k < extra.length; k++) extra[k] = fds.add(Posix.socketpair())[0];
        int closed = Posix.dup(sp[0]);
        Posix.rawClose(closed);
        int n = 0;
        for (int k = 0; k < extra.length; k++) {                           // enough calls for a batch at any minBatch
            ch.set(n++, extra[k], EVFILT_READ, EV_ADD, 0, 0, 100 + k);
        }
        ch.set(n++, sp[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, 10);
        ch.set(n++, closed, EVFILT_READ, EV_ADD, 0, 0, 11);                  // EBADF from the kernel
        ch.set(n++, sp[1], EVFILT_WRITE, EV_DELETE, 0, 0, 12);               // ENOENT without the kernel
        ch.set(n++, pp[0], EVFILT_READ, EV_ADD, 0, 0, 13);                   // no entry
        ch.set(n++, pp[1], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, 14);
        ch.set(n++, sp[0], EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, 15);   // same fd as the first: after it
        ch.set(n++, 7, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 16);          // not a descriptor change
        ch.set(n++, sp[1], EVFILT_WRITE, EV_ADD | EV_RECEIPT, 0, 0, 17);
        String before = kq.changelistPath();
        int r = kq.kevent(ch, n, ev, 32, 0);
        long[][] want = {{sp[0], 10, 0}, {closed, 11, errno_h.EBADF}, {sp[1], 12, errno_h.ENOENT},
            {pp[1], 14, 0}, {sp[0], 15, 0}, {7, 16, 0}, {sp[1], 17, 0}};
        assertEquals(want.length, r, "one entry per receipt or error");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i][0], ev.ident(i), "entry " + i + " ident");
            assertEquals(EV_ERROR, ev.flags(i) & EV_ERROR, "entry " + i + " is EV_ERROR");
            assertEquals(want[i][1], ev.udata(i), "entry " + i + " udata");
            assertEquals(want[i][2], ev.data(i), "entry " + i + " errno");
        }
        if (!forcedOff() && Uring.available()) assertTrue(!kq.changelistPath().equals(before), "a batch was submitted");
        // What the batch registered works: the pipe has a byte, the socket can be written.
        Posix.write(pp[1], "x");
        r = kq.kevent(null, 0, ev, 32, 1_000_000_000L);
        List<Long> ready = new ArrayList<>();
        for (int i = 0; i < r; i++) ready.add(ev.udata(i));
        assertTrue(ready.contains(13L) && ready.contains(14L) && ready.contains(17L), "ready: " + ready);
        assertTrue(!ready.contains(10L), "the READ knote deleted in the same call stays deleted: " + ready);
    }

    @Test
    void withoutRoomTheFirstErrorStopsTheChangelist() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        int closed = Posix.dup(sp[0]);
        Posix.rawClose(closed);
        ch.set(0, sp[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        ch.set(1, closed, EVFILT_READ, EV_ADD, 0, 0, 2);
        ch.set(2, closed, EVFILT_WRITE, EV_ADD, 0, 0, 3);
        ch.set(3, sp[1], EVFILT_READ, EV_ADD, 0, 0, 4);
        // Room for one entry: the first EBADF takes it, the second finds none and ends the call with EBADF.
        KqueueException e = assertThrows(KqueueException.class, () -> kq.kevent(ch, 4, ev, 1, 0));
        assertEquals(errno_h.EBADF, e.errno());
        ch.set(0, sp[0], EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, 1);
        ch.set(1, sp[1], EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, 4);
        assertEquals(2, kq.kevent(ch, 2, ev, 16, 0));
        assertEquals(0, ev.data(0), "the change before the errors was applied");
        assertEquals(errno_h.ENOENT, ev.data(1), "the change after the error that found no room was not");
    }
}
