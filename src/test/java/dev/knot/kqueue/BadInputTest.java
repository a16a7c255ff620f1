// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Misuse of the API must be refused cleanly (DESIGN.md "Errors and bad input"): errno where kevent(2) returns -1,
 * Java exceptions where C would corrupt memory, and never a crash or a hang.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class BadInputTest {
    Kq kq;
    KeventArray a;

    @BeforeEach
    void open() throws Exception {
        a = KeventArray.allocate(4);
    }

    @AfterEach
    void close() {
        a.close();
    }

    static int errno(Kq.ThrowingRunnable r) {
        try {
            r.run();
        } catch (KqueueException e) {
            return e.errno();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("no KqueueException");
    }

    @Test
    void negativeCountsAreEinval() {
        assertEquals(errno_h.EINVAL, errno(() -> kq.kq.kevent(a, -1, a, 4, 0)));
        assertEquals(errno_h.EINVAL, errno(() -> kq.kq.kevent(a, 0, a, -1, 0)));
        assertEquals(errno_h.EINVAL, errno(() -> kq.kq.kevent(null, Integer.MIN_VALUE, null, Integer.MIN_VALUE, 0)));
    }

    @Test
    void countsAboveTheCapacityAreIndexOutOfBounds() {
        assertThrows(IndexOutOfBoundsException.class, () -> kq.kq.kevent(a, 5, null, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> kq.kq.kevent(null, 0, a, 5, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> kq.kq.kevent(a, Integer.MAX_VALUE, a, Integer.MAX_VALUE, 0));
    }

    @Test
    void aNullArrayWithAPositiveCountIsEfault() {
        assertEquals(errno_h.EFAULT, errno(() -> kq.kq.kevent(null, 1, a, 4, 0)));
        assertEquals(errno_h.EFAULT, errno(() -> kq.kq.kevent(a, 0, null, 1, 0)));
    }

    @Test
    void aClosedKqueueIsEbadfAndCloseIsIdempotent() throws Exception {
        Kqueue k = Kqueue.open();
        assertTrue(k.isOpen());
        k.close();
        k.close();
        assertFalse(k.isOpen());
        a.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0);
        assertEquals(errno_h.EBADF, errno(() -> k.kevent(a, 1, a, 4, 0)));
        assertEquals(errno_h.EBADF, errno(() -> k.kevent(null, 0, a, 4, -1)));
        // And from another thread.
        Integer e = CompletableFuture.supplyAsync(() -> errno(() -> k.kevent(null, 0, a, 4, 0))).get(5, TimeUnit.SECONDS);
        assertEquals(errno_h.EBADF, e);
    }

    @Test
    void aClosedKeventArrayIsIllegalState() throws Exception {
        KeventArray b = KeventArray.allocate(2);
        b.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0);
        b.close();
        b.close();
        assertFalse(b.isOpen());
        assertThrows(IllegalStateException.class, () -> kq.kq.kevent(b, 1, null, 0, 0));
        assertThrows(IllegalStateException.class, () -> kq.kq.kevent(null, 0, b, 1, 0));
        assertThrows(IllegalStateException.class, () -> b.ident(0));
        assertThrows(IllegalStateException.class, () -> b.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0));
        assertThrows(IllegalStateException.class, b::segment);
        kq.assertNoEvents();                                          // nothing was registered
    }

    @Test
    void anArrayWhoseArenaIsClosedIsRefusedAndTheKqueueStillWorks() throws Exception {
        KeventArray b;
        try (Arena arena = Arena.ofConfined()) {
            b = KeventArray.allocate(arena, 2);
            b.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0);
        }
        KeventArray gone = b;
        assertThrows(IllegalStateException.class, () -> kq.kq.kevent(gone, 1, null, 0, 0));
        kq.add(2, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 0);
        assertEquals(2, kq.one().ident());
    }

    @Test
    void indicesOutOfRangeAreIndexOutOfBounds() {
        assertThrows(IndexOutOfBoundsException.class, () -> a.set(-1, 1, EVFILT_USER, 0, 0, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a.set(4, 1, EVFILT_USER, 0, 0, 0, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> a.ident(4));
        assertThrows(IndexOutOfBoundsException.class, () -> a.flags(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> a.data(Integer.MAX_VALUE));
        assertThrows(IndexOutOfBoundsException.class, () -> a.ext(0, 4));
        try (KeventArray empty = KeventArray.allocate(0)) {
            assertThrows(IndexOutOfBoundsException.class, () -> empty.ident(0));
        }
    }

    @Test
    void fieldsThatDoNotFitAreIllegalArguments() {
        assertThrows(IllegalArgumentException.class, () -> a.set(0, 1, 40000, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> a.set(0, 1, -40000, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> a.set(0, 1, EVFILT_USER, 0x10000, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> a.set(0, 1, EVFILT_USER, -1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> KeventArray.allocate(-1));
        assertThrows(IllegalArgumentException.class, () -> KeventArray.allocate(KeventArray.MAX_CAPACITY + 1));
        assertThrows(NullPointerException.class, () -> KeventArray.allocate(null, 1));
    }

    @Test
    void fieldsRoundTripAtTheirLimits() throws Exception {
        a.set(0, -1L, Short.MIN_VALUE, 0xFFFF, -1, Long.MIN_VALUE, -1L);
        assertEquals(-1L, a.ident(0));
        assertEquals(Short.MIN_VALUE, a.filter(0));
        assertEquals(0xFFFF, a.flags(0), "flags are unsigned");
        assertEquals(-1, a.fflags(0));
        assertEquals(Long.MIN_VALUE, a.data(0));
        // Through the kqueue: an EVFILT_USER ident and udata use all 64 bits.
        kq.add(-1L, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, Long.MIN_VALUE, -1L);
        Kq.Ev e = kq.one();
        assertEquals(new Kq.Ev(-1L, EVFILT_USER, EV_CLEAR, 0, Long.MIN_VALUE, -1L), e);
    }

    @Test
    void unknownOpenFlagsAreEinval() throws Exception {
        for (int flags : new int[] {0x4, 0x100, Integer.MIN_VALUE, -1}) {
            int f = flags;
            assertEquals(errno_h.EINVAL, errno(() -> Kqueue.open(f).close()), "flags 0x" + Integer.toHexString(flags));
        }
        for (int flags : new int[] {0, Kqueue.CLOEXEC, Kqueue.CPONFORK, Kqueue.CLOEXEC | Kqueue.CPONFORK}) {
            try (Kqueue k = Kqueue.open(flags)) {
                assertEquals(flags, k.flags());
                assertEquals(flags & Kqueue.CLOEXEC, dev.knot.system.Fds.isCloseOnExec(k.fd()) ? Kqueue.CLOEXEC : 0);
            }
        }
        assertEquals("epoll-emulation", Kqueue.backend());
        assertFalse(Kqueue.copiesOnFork());
    }

    @Test
    void hugeTimeoutsDoNotFail() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, 0);               // level: stays triggered
        assertEquals(1, kq.kq.kevent(null, 0, a, 4, Long.MAX_VALUE));
        kq.add(1, EVFILT_USER, EV_CLEAR, 0, 0, 0);                       // un-trigger
        for (long timeout : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 1, 365L * 24 * 3600 * 1_000_000_000L, Long.MIN_VALUE, -1}) {
            CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> {
                try (KeventArray out = KeventArray.allocate(1)) {
                    return kq.kq.kevent(null, 0, out, 1, timeout);
                } catch (KqueueException e) {
                    throw new RuntimeException(e);
                }
            });
            Kq.sleep(30);
            assertFalse(waiter.isDone(), "timeout " + timeout + " must wait");
            kq.add(1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0);
            assertEquals(1, waiter.get(5, TimeUnit.SECONDS), "timeout " + timeout);
            kq.add(1, EVFILT_USER, EV_CLEAR, 0, 0, 0);
        }
        assertEquals(0, kq.kq.kevent(null, 0, a, 4, 1));             // 1 ns
    }

    @Test
    void randomChangesNeverBreakTheKqueue() throws Exception {
        // Garbage changelists: only per-change errors, never an exception other than KqueueException, never a crash.
        int[] sp = Posix.socketpair();
        int[] p = Posix.pipe();
        long[] idents = {sp[0], sp[1], p[0], p[1], 0x8000_0000L, -1, 0, 1, 2, 12345, Long.MAX_VALUE, 100_000};
        int[] filters = {EVFILT_READ, Kevent.EVFILT_WRITE, Kevent.EVFILT_VNODE, Kevent.EVFILT_TIMER, EVFILT_USER,
            Kevent.EVFILT_SIGNAL, 0, 1, -99, Kevent.EVFILT_AIO};
        Random rnd = new Random(42);
        try (KeventArray ch = KeventArray.allocate(64); KeventArray ev = KeventArray.allocate(64)) {
            for (int round = 0; round < 300; round++) {
                int n = 1 + rnd.nextInt(64);
                for (int i = 0; i < n; i++) {
                    int filter = filters[rnd.nextInt(filters.length)];
                    long ident = idents[rnd.nextInt(idents.length)];
                    if (filter == Kevent.EVFILT_SIGNAL) ident = 9999;        // never touch real signal handlers
                    int flags = rnd.nextInt(0x10000) & ~Kevent.EV_SYSFLAGS | (rnd.nextBoolean() ? EV_ADD : 0);
                    long data = filter == Kevent.EVFILT_TIMER ? rnd.nextInt(20) - 2 : rnd.nextLong();
                    ch.set(i, ident, filter, flags, rnd.nextInt(), data, rnd.nextLong());
                }
                try {
                    kq.kq.kevent(ch, n, ev, rnd.nextInt(65), rnd.nextInt(3) == 0 ? 1_000_000 : 0);
                } catch (KqueueException expected) {
                    assertTrue(expected.errno() > 0, expected.toString());
                }
            }
        } finally {
            for (int fd : new int[] {sp[0], sp[1], p[0], p[1]}) dev.knot.system.Fds.closeQuietly(fd);
        }
        kq.add(777, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 0);
        List<Kq.Ev> got = kq.poll();
        assertTrue(got.stream().anyMatch(e -> e.ident() == 777), "the kqueue still works: " + got);
    }
}
