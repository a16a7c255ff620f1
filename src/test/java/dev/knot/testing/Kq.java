// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.knot.kqueue.Kevent;
import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;

import java.util.ArrayList;
import java.util.List;

/**
 * A kqueue with a changelist and an eventlist, and assertions in the style of FreeBSD's own kqueue tests
 * (kevent_add, test_no_kevents, kevent_get, kevent_cmp). Close it after the test.
 */
public final class Kq implements AutoCloseable {
    /** One returned kevent. */
    public record Ev(long ident, int filter, int flags, int fflags, long data, long udata) {
        @Override
        public String toString() {
            return "{ident=" + ident + ", " + Kevent.filterName(filter) + ", " + Kevent.flagsToString(flags)
                    + ", fflags=0x" + Integer.toHexString(fflags) + ", data=" + data + ", udata=0x" + Long.toHexString(udata) + "}";
        }
    }

    public final Kqueue kq;
    public final KeventArray changes = KeventArray.allocate(64);
    public final KeventArray events = KeventArray.allocate(64);

    public Kq() throws KqueueException {
        kq = Kqueue.open();
    }

    /** kevent_add: one change, no eventlist; throws KqueueException where kevent(2) returns -1. */
    public void add(long ident, int filter, int flags, int fflags, long data, long udata) throws KqueueException {
        changes.set(0, ident, filter, flags, fflags, data, udata);
        kq.kevent(changes, 1, null, 0, 0);
    }

    public void add(long ident, int filter, int flags) throws KqueueException {
        add(ident, filter, flags, 0, 0, 0);
    }

    /** One change with room for its EV_ERROR/EV_RECEIPT entry; returns what came back (maybe nothing). */
    public List<Ev> change(long ident, int filter, int flags, int fflags, long data, long udata) throws KqueueException {
        changes.set(0, ident, filter, flags, fflags, data, udata);
        int n = kq.kevent(changes, 1, events, events.capacity(), 0);
        return collect(n);
    }

    /** The errno kevent(2) gives this change when there is no room to report it (0 if it succeeded). */
    public int errnoOf(long ident, int filter, int flags, int fflags, long data) {
        try {
            add(ident, filter, flags, fflags, data, 0);
            return 0;
        } catch (KqueueException e) {
            return e.errno();
        }
    }

    /** Polls: every pending event. */
    public List<Ev> poll() throws KqueueException {
        return waitFor(0);
    }

    /**
     * Waits up to {@code millis} for events. A signal that lands on this thread while it waits makes kevent(2)
     * fail with EINTR, as it should; these helpers simply wait again for the rest of the time (tests that are about
     * EINTR call {@link Kqueue#kevent} themselves).
     */
    public List<Ev> waitFor(long millis) throws KqueueException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (true) {
            try {
                long left = millis == 0 ? 0 : Math.max(1, deadline - System.nanoTime());
                return collect(kq.kevent(null, 0, events, events.capacity(), left));
            } catch (KqueueException e) {
                if (e.errno() != dev.knot.bindings.linux.errno_h.EINTR) throw e;
            }
        }
    }

    /** test_no_kevents: a poll returns nothing. */
    public void assertNoEvents() throws KqueueException {
        List<Ev> got = poll();
        if (!got.isEmpty()) fail("expected no events, got " + got);
    }

    /** kevent_get: waits (up to 5 s) for exactly one event and returns it. */
    public Ev one() throws KqueueException {
        List<Ev> got = waitFor(5000);
        assertEquals(1, got.size(), "expected one event, got " + got);
        return got.get(0);
    }

    /** Waits up to 5 s for the event of (ident, filter), ignoring others. */
    public Ev awaitEvent(long ident, int filter) throws KqueueException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Ev e : waitFor(100)) if (e.ident == ident && e.filter == filter) return e;
        }
        throw new AssertionError("no event for ident " + ident + " " + Kevent.filterName(filter));
    }

    /** kevent_cmp: ident, filter, flags, fflags, data and udata all equal. */
    public static void assertEv(Ev got, long ident, int filter, int flags, int fflags, long data, long udata) {
        Ev want = new Ev(ident, filter, flags, fflags, data, udata);
        assertEquals(want, got);
    }

    public List<Ev> collect(int n) {
        List<Ev> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(new Ev(events.ident(i), events.filter(i), events.flags(i), events.fflags(i), events.data(i), events.udata(i)));
        }
        return l;
    }

    public static void assertErrno(int errno, ThrowingRunnable r) {
        try {
            r.run();
            fail("expected errno " + errno);
        } catch (KqueueException e) {
            assertEquals(errno, e.errno(), e.getMessage());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public static void assertNear(long expected, long actual, long tolerance, String what) {
        assertTrue(Math.abs(expected - actual) <= tolerance, what + ": expected " + expected + " ± " + tolerance + ", got " + actual);
    }

    @Override
    public void close() {
        kq.close();
        changes.close();
        events.close();
    }
}
