// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.system.Uring;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changes and a blocking or timed wait in one kevent call: where the kernel has IORING_OP_EPOLL_WAIT, the
 * changes that need the kernel and the wait go in one io_uring_enter (issue 11). Whatever the path, the call must
 * behave as FreeBSD's: a failed change returns its own entry at once and there is no wait; a change the kernel
 * refuses but the emulation handles itself (a regular file) is ready without blocking; a timed wait times out;
 * another thread's call during the wait neither blocks for good nor loses its effect. The Maven build runs the
 * kqueue tests again with io_uring off and with the combined wait off, so every path passes this.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
@org.junit.jupiter.api.extension.ExtendWith(dev.knot.testing.NoFdLeaks.class)
class CombinedWaitTest {
    Kqueue kq;
    KeventArray ch, ev;
    @RegisterExtension final TrackedFds fds = new TrackedFds();

    @BeforeEach
    void open() throws Exception {
        kq = Kqueue.open();
        ch = KeventArray.allocate(64);
        ev = KeventArray.allocate(64);
    }

    @AfterEach
    void close() {
        kq.close();
        ch.close();
        ev.close();
    }

    /** Whether this run's kevent calls take the combined path (kernel, io_uring and properties allowing). */
    static boolean combined() {
        return Uring.available() && Uring.epollWaitAvailable();
    }

    /** How many calls so far went in one io_uring_enter, from the diagnostics; -1 when the path is off. */
    long combinedCalls() {
        Matcher m = Pattern.compile("changes\\+wait in one io_uring_enter: (\\d+) calls").matcher(kq.changelistPath());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    @Test
    void pathSaysWhetherChangesAndWaitShareASubmission() {
        String p = kq.changelistPath();
        if (combined()) {
            assertEquals(0, combinedCalls(), p);
        } else if (Uring.available()) {
            assertTrue(p.contains("wait: epoll_pwait2 (" + Uring.epollWaitUnavailableReason() + ")"), p);
        } else {
            assertTrue(p.startsWith("epoll_ctl ("), p);
        }
    }

    @Test
    void changesThenABlockingWaitReturnTheReadyDescriptor() throws Exception {
        int[] idle = fds.add(Posix.socketpair());
        int[] ready = fds.add(Posix.socketpair());
        Posix.write(ready[1], "x");
        for (int n : new int[] {1, 3, 40}) {
            int[][] extra = new int[n][];
            int k = 0;
            ch.set(k++, ready[0], EVFILT_READ, EV_ADD, 0, 0, 7);
            for (int i = 1; i < n; i++) {
                extra[i] = fds.add(Posix.socketpair());
                ch.set(k++, extra[i][0], EVFILT_READ, EV_ADD, 0, 0, 100 + i);
            }
            ch.set(k++, idle[0], EVFILT_READ, EV_ADD, 0, 0, 8);
            long before = combinedCalls();
            int r = kq.kevent(ch, k, ev, 64, -1);
            assertEquals(1, r, "the one ready descriptor, n = " + n);
            assertEquals(ready[0], ev.ident(0));
            assertEquals(7, ev.udata(0));
            assertEquals(1, ev.data(0), "one byte readable");
            // Up to knot.uring.epollWait.maxBatch changes go with the wait (the build sets 256; 12 by default).
            if (combined() && k <= Integer.getInteger("knot.uring.epollWait.maxBatch", 12)) {
                assertEquals(before + 1, combinedCalls(), "one combined call: " + kq.changelistPath());
            }
        }
        // Every knote the combined calls made is there: the idle socket reports once it has data.
        Posix.write(idle[1], "yz");
        List<Long> got = udatas(kq.kevent(null, 0, ev, 64, 1_000_000_000L));
        assertTrue(got.contains(8L) && got.contains(7L), "both sockets ready: " + got);
    }

    @Test
    void aChangeTheKernelRefusesReturnsItsEntryWithoutWaiting() throws Exception {
        int[] a = fds.add(Posix.socketpair());
        int[] b = fds.add(Posix.socketpair());
        int closed = Posix.dup(a[0]);
        Posix.rawClose(closed);
        ch.set(0, a[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        ch.set(1, closed, EVFILT_READ, EV_ADD, 0, 0, 2);                     // EBADF from the kernel
        ch.set(2, b[0], EVFILT_READ, EV_ADD, 0, 0, 3);                       // after the failure in the chain
        long t0 = System.nanoTime();
        int r = kq.kevent(ch, 3, ev, 64, -1);                                  // must not wait: an entry is written
        assertEquals(1, r);
        assertEquals(closed, ev.ident(0));
        assertEquals(EV_ERROR, ev.flags(0) & EV_ERROR);
        assertEquals(errno_h.EBADF, ev.data(0));
        assertEquals(2, ev.udata(0));
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
        // The changes before and after the failed one were applied.
        Posix.write(a[1], "x");
        Posix.write(b[1], "x");
        List<Long> got = udatas(kq.kevent(null, 0, ev, 64, 1_000_000_000L));
        assertTrue(got.contains(1L) && got.contains(3L), "both registered: " + got);
    }

    @Test
    void aRegularFileIsReadableWithoutBlocking(@TempDir Path dir) throws Exception {
        // epoll refuses regular files (EPERM), the emulation evaluates them itself: the wait must not block.
        Path f = dir.resolve("data");
        Files.writeString(f, "hello");
        int fd = fds.add(Posix.open(f.toString(), fcntl_h.O_RDONLY));
        int[] idle = fds.add(Posix.socketpair());
        ch.set(0, idle[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        ch.set(1, fd, EVFILT_READ, EV_ADD, 0, 0, 2);
        int r = kq.kevent(ch, 2, ev, 64, -1);
        assertEquals(1, r);
        assertEquals(fd, ev.ident(0));
        assertEquals(5, ev.data(0));
    }

    @Test
    void aTimedWaitTimesOut() throws Exception {
        int[] idle = fds.add(Posix.socketpair());
        ch.set(0, idle[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        long t0 = System.nanoTime();
        assertEquals(0, kq.kevent(ch, 1, ev, 64, 200_000_000L));
        long took = System.nanoTime() - t0;
        assertTrue(took >= 190_000_000L, "waited the timeout: " + took + " ns");
        ch.set(0, idle[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        Posix.write(idle[1], "x");
        assertEquals(1, kq.kevent(ch, 1, ev, 64, 5_000_000_000L), "a timed wait returns the event at once");
    }

    @Test
    void otherThreadsCallsDuringACombinedWaitTakeEffect() throws Exception {
        // The event loop's pattern: one thread waits with its changes, others trigger a USER event to wake it or
        // register descriptors. Many rounds, so that some land while the waiter is in the kernel.
        int[] idle = fds.add(Posix.socketpair());
        try (KeventArray trig = KeventArray.allocate(2)) {
            trig.set(0, 1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 42);
            assertEquals(0, kq.kevent(trig, 1, null, 0, 0));
            for (int round = 0; round < 200; round++) {
                int[] extra = fds.add(Posix.socketpair());
                boolean viaDescriptor = round % 2 == 1;
                AtomicReference<Throwable> failed = new AtomicReference<>();
                List<Long> got = new ArrayList<>();
                Thread waiter = new Thread(() -> {
                    try (KeventArray wch = KeventArray.allocate(2); KeventArray wev = KeventArray.allocate(8)) {
                        wch.set(0, idle[0], EVFILT_READ, EV_ADD, 0, 0, 1);
                        int r = kq.kevent(wch, 1, wev, 8, -1);
                        for (int i = 0; i < r; i++) got.add(wev.udata(i));
                    } catch (Throwable t) {
                        failed.set(t);
                    }
                });
                waiter.start();
                if (round % 2 == 0) awaitBlockedInKernel(waiter);   // else race the waiter's way in
                if (viaDescriptor) {
                    Posix.write(extra[1], "x");
                    trig.set(0, extra[0], EVFILT_READ, EV_ADD, 0, 0, 43);
                } else {
                    trig.set(0, 1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 42);
                }
                assertEquals(0, kq.kevent(trig, 1, null, 0, 0), "the other thread's change, round " + round);
                waiter.join(10_000);
                assertTrue(!waiter.isAlive(), "the waiter returned, round " + round);
                assertNull(failed.get());
                assertEquals(List.of(viaDescriptor ? 43L : 42L), got, "round " + round);
                if (viaDescriptor) {
                    trig.set(0, extra[0], EVFILT_READ, Kevent.EV_DELETE, 0, 0, 0);
                    assertEquals(0, kq.kevent(trig, 1, null, 0, 0));
                }
            }
        }
        if (combined()) assertTrue(combinedCalls() > 0, "the waits were combined: " + kq.changelistPath());
    }

    /**
     * Waits (up to 5 s; a loaded machine may be slower, and the caller's assertions hold either way) until a thread
     * of this process sleeps in the system call the waiter blocks in: io_uring_enter on the combined path,
     * epoll_pwait2 otherwise (both numbered alike on x86_64 and aarch64). Read from /proc/self/task/TID/syscall.
     */
    static void awaitBlockedInKernel(Thread waiter) throws Exception {
        String nr = combined() ? "426 " : "441 ";
        long end = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < end && waiter.isAlive()) {
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : (Iterable<Path>) tasks::iterator) {
                    try {
                        if (Files.readString(t.resolve("syscall")).startsWith(nr)) return;
                    } catch (java.io.IOException gone) {
                        // the thread ended
                    }
                }
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void closingTheKqueueEndsACombinedWait() throws Exception {
        int[] idle = fds.add(Posix.socketpair());
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try (KeventArray wch = KeventArray.allocate(1); KeventArray wev = KeventArray.allocate(4)) {
                wch.set(0, idle[0], EVFILT_READ, EV_ADD, 0, 0, 1);
                outcome.set(kq.kevent(wch, 1, wev, 4, -1));
            } catch (KqueueException e) {
                outcome.set(e.errno());
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        waiter.start();
        awaitBlockedInKernel(waiter);
        kq.close();
        waiter.join(10_000);
        assertTrue(!waiter.isAlive(), "the waiter returned");
        assertEquals(errno_h.EBADF, outcome.get());
    }

    private List<Long> udatas(int r) {
        List<Long> l = new ArrayList<>();
        for (int i = 0; i < r; i++) l.add(ev.udata(i));
        return l;
    }
}
