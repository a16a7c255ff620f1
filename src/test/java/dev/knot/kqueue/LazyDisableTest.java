// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.sys.Platform;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How the Linux emulation applies EV_DISABLE to a level-triggered READ knote whose condition holds: lazily, and
 * only when keeping the epoll registration armed would cost more than the epoll_ctl that stops it. The events
 * returned are FreeBSD's either way; what these tests pin down is the number of kernel changes
 * ({@link Kqueue#kernelChanges()}) and that a blocking call never spins on a disabled knote.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class LazyDisableTest {
    Kq kq;
    int[] a, b;

    @BeforeEach
    void open() throws Exception {
        Assumptions.assumeTrue(Platform.CURRENT == Platform.LINUX, "the emulation's kernel changes; native kqueues report -1");
        a = Posix.socketpair();
        b = Posix.socketpair();
        Posix.write(a[1], "x");
        Posix.write(b[1], "y");
    }

    @AfterEach
    void close() {
        for (int[] p : new int[][] {a, b}) {
            if (p == null) continue;
            Posix.rawClose(p[0]);
            Posix.rawClose(p[1]);
        }
    }

    /** One kevent call: disable {@code off}, enable {@code on}, collect without waiting. */
    private List<Kq.Ev> toggle(int off, int on) throws Exception {
        kq.changes.set(0, off, EVFILT_READ, EV_DISABLE, 0, 0, off);
        kq.changes.set(1, on, EVFILT_READ, EV_ENABLE, 0, 0, on);
        return kq.collect(kq.kq.kevent(kq.changes, 2, kq.events, kq.events.capacity(), 0));
    }

    @Test
    void togglingInterestEveryRoundCostsNoKernelChange() throws Exception {
        kq.add(a[0], EVFILT_READ, EV_ADD, 0, 0, a[0]);
        kq.add(b[0], EVFILT_READ, EV_ADD, 0, 0, b[0]);
        assertEquals(2, kq.poll().size());
        long before = kq.kq.kernelChanges();
        for (int round = 0; round < 40; round++) {
            int off = round % 2 == 0 ? a[0] : b[0], on = round % 2 == 0 ? b[0] : a[0];
            List<Kq.Ev> got = toggle(off, on);
            assertEquals(1, got.size(), "round " + round + ": only the enabled knote, got " + got);
            assertEquals(on, got.get(0).ident());
        }
        assertEquals(before, kq.kq.kernelChanges(),
                "a knote disabled for one scan and enabled again keeps its armed registration");
    }

    @Test
    void aKnoteReportedWhileDisabledInTwoScansIsDisarmed() throws Exception {
        kq.add(a[0], EVFILT_READ, EV_ADD, 0, 0, a[0]);
        kq.add(b[0], EVFILT_READ, EV_ADD, 0, 0, b[0]);
        kq.add(a[0], EVFILT_READ, EV_DISABLE, 0, 0, a[0]);
        long c0 = kq.kq.kernelChanges();
        assertEquals(List.of((long) b[0]), idents(kq.poll()));
        assertEquals(c0, kq.kq.kernelChanges(), "first report while disabled: left armed");
        assertEquals(List.of((long) b[0]), idents(kq.poll()));
        assertEquals(c0 + 1, kq.kq.kernelChanges(), "second report while disabled: one MOD disarms it");
        assertEquals(List.of((long) b[0]), idents(kq.poll()));
        assertEquals(c0 + 1, kq.kq.kernelChanges(), "disarmed: the kernel no longer reports it");
        kq.add(a[0], EVFILT_READ, EV_ENABLE, 0, 0, a[0]);
        assertEquals(c0 + 2, kq.kq.kernelChanges(), "EV_ENABLE arms it again");
        assertEquals(2, kq.poll().size(), "and its condition still holds: " + kq.poll());
    }

    @Test
    void aBlockingCallNeverSpinsOnADisabledReadyKnote() throws Exception {
        kq.add(a[0], EVFILT_READ, EV_ADD, 0, 0, a[0]);
        kq.add(a[0], EVFILT_READ, EV_DISABLE, 0, 0, a[0]);
        long c0 = kq.kq.kernelChanges();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime(), t0 = System.nanoTime();
        assertEquals(List.of(), kq.waitFor(300));
        long wall = System.nanoTime() - t0, cpu = mx.getCurrentThreadCpuTime() - cpu0;
        assertTrue(wall >= 250_000_000L, "the timeout is honoured: " + wall / 1_000_000 + " ms");
        assertTrue(cpu < wall / 3, "blocked, not spinning: " + cpu / 1_000_000 + " ms of CPU in " + wall / 1_000_000 + " ms");
        assertEquals(c0 + 1, kq.kq.kernelChanges(), "a scan with nothing to return disarms it at once");
    }

    private static List<Long> idents(List<Kq.Ev> evs) {
        return evs.stream().map(Kq.Ev::ident).toList();
    }
}
