// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.NOTE_FFCOPY;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.signal_h;
import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.KnoteState;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.testing.Posix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Copy-on-fork copies knote state, as FreeBSD's KQUEUE_CPONFORK does ("if the event is active at the time of copy,
 * its copy is activated as well"; filt_timercopy keeps the schedule), into real child JVMs: a user event triggered
 * and not collected, a periodic timer's phase and undelivered count, counted signals, a fired EV_DISPATCH knote and
 * an EV_DISABLE knote that stay disabled, an EV_ONESHOT timer that has not fired.
 */
@Timeout(120)
class CopyStateTest {
    static final long PERIOD = 200_000_000L;                       // the 200 ms heartbeat-like timer
    static final int WINCH = signal_h.SIGWINCH;

    /** The parent's state; {@code pendingTimer} and {@code nextExpiry} as the kqueue exported them at the end. */
    record Parent(Selector sel, long pendingTimer, long nextExpiry) {}

    private static void trigger(Selector sel, Key k, int fflags, long data) throws Exception {
        try (KeventArray ch = KeventArray.allocate(1)) {
            ch.set(0, k.ident(), EVFILT_USER, 0, NOTE_TRIGGER | fflags, data, k.token());
            sel.kqueue().kevent(ch, 1, null, 0, 0);
        }
    }

    private static List<String> readyKnotes(Selector sel) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sel.readyCount(); i++) {
            Key k = sel.readyKey(i);
            out.add(dev.knot.kqueue.Kevent.filterName(k.filter()).replace("EVFILT_", "") + ":" + k.ident());
            k.clearReady();
        }
        return out;
    }

    static Parent parent() throws Exception {
        Selector sel = Selector.open();
        Key user = sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
        sel.watch(1, EVFILT_TIMER, 0, 0, PERIOD / 1_000_000, null);
        Key dispatch = sel.watch(8, EVFILT_USER, EV_DISPATCH | EV_CLEAR, 0, 0, null);
        Key disabled = sel.watch(9, EVFILT_USER, EV_DISABLE | EV_CLEAR, 0, 0, null);
        sel.watch(2, EVFILT_TIMER, EV_ONESHOT, 0, 60_000, null);
        sel.watch(WINCH, EVFILT_SIGNAL, 0, 0, 0, null);
        sel.selectNow();
        // A dispatch knote fires once and is then disabled; a second trigger waits behind the disable.
        trigger(sel, dispatch, 0, 0);
        sel.selectNow();
        assertEquals(List.of("USER:8"), readyKnotes(sel));
        trigger(sel, dispatch, 0, 0);
        trigger(sel, disabled, NOTE_FFCOPY | 0x5, 0);
        // The timer's first expiry is collected here (the disabled knotes stay out of it); the next ones pile up.
        long t1 = 0, giveUp = System.nanoTime() + 10_000_000_000L;
        while (t1 == 0 && System.nanoTime() < giveUp) {
            sel.select(2_000_000_000L);
            List<String> ready = readyKnotes(sel);
            assertFalse(ready.contains("USER:8") || ready.contains("USER:9"), ready.toString());
            if (ready.contains("TIMER:1")) t1 = System.nanoTime();
        }
        assertTrue(t1 != 0, "the parent's timer never fired");
        trigger(sel, user, NOTE_FFCOPY | 0x1234, 99);
        // One at a time: a standard signal sent while one is still pending merges with it.
        for (int i = 1; i <= 3; i++) {
            Posix.kill((int) ProcessHandle.current().pid(), WINCH);
            long until = System.nanoTime() + 10_000_000_000L;
            while (sel.kqueue().knoteState(WINCH, EVFILT_SIGNAL).data() < i && System.nanoTime() < until) Thread.onSpinWait();
        }
        assertEquals(3, sel.kqueue().knoteState(WINCH, EVFILT_SIGNAL).data(), "three SIGWINCH counted");
        // Time passing is the subject here: two more periods expire uncollected before the snapshot.
        long snapshotAt = t1 + 2 * PERIOD + PERIOD / 4;
        for (long now; (now = System.nanoTime()) < snapshotAt; ) LockSupport.parkNanos(snapshotAt - now);
        KnoteState ts = sel.kqueue().knoteState(1, EVFILT_TIMER);
        assertTrue(ts.isActive(), ts.toString());
        assertTrue((ts.state() & KnoteState.EXPIRY) != 0, ts.toString());
        return new Parent(sel, ts.data(), ts.expiryMonotonicNanos());
    }

    @Test
    void aCopyChildGetsThePendingEventsTheTimersScheduleAndTheDisabledKnotes() throws Exception {
        Parent p = parent();
        try (Selector sel = p.sel(); Handoff h = new Handoff(ForkPolicy.COPY).prepare(sel)) {
            assertTrue(p.pendingTimer() >= 2, "two expirations or more piled up in the parent: " + p.pendingTimer());
            Map<String, String> m = CopyChild.run("state", h);
            String out = m.get("_output");
            assertEquals("REREGISTER", m.get("method"), out);
            assertEquals("SIGNAL:" + WINCH + ",TIMER:1,TIMER:2,USER:7,USER:8,USER:9", m.get("keys"), out);
            List<String> first = Arrays.asList(m.get("first").split(","));
            // The user event the parent triggered and never collected, with the parent's fflags and data.
            assertTrue(first.contains("USER:7:0x1234:99"), out);
            assertTrue(first.contains("SIGNAL:" + WINCH + ":0x0:3"), out);
            assertTrue(first.stream().anyMatch(e -> e.startsWith("TIMER:1:")), out);
            // Disabled in the parent (a dispatch that fired, an EV_DISABLE): not in the first kevent...
            assertFalse(first.stream().anyMatch(e -> e.startsWith("USER:8") || e.startsWith("USER:9") || e.startsWith("TIMER:2")), out);
            // ...and what they kept while disabled comes out when they are enabled.
            List<String> enabled = Arrays.asList(m.get("enabled").split(","));
            assertTrue(enabled.contains("USER:8:0x0:0"), out);
            assertTrue(enabled.contains("USER:9:0x5:0"), out);
            // The timer keeps the parent's schedule: the C-th expiry counted (the parent's pending ones included)
            // is due at nextExpiry + (C - pending - 1) periods, and each event comes within 30 ms of its expiry.
            long count = 0;
            for (int i = 0; i < 3; i++) {
                String t = m.get("timer." + i);
                assertNotNull(t, out);
                long at = Long.parseLong(t.split(":")[0]);
                long data = Long.parseLong(t.split(":")[1]);
                count += data;
                long due = p.nextExpiry() + (count - p.pendingTimer() - 1) * PERIOD;
                System.out.printf("child timer event %d: data %d, %.1f ms after the parent's expiry number %d%n",
                        i, data, (at - due) / 1e6, count);
                if (i == 0) {
                    assertTrue(data >= p.pendingTimer(), "the child's first timer event carries the parent's count: " + out);
                    assertTrue(at + 30_000_000L >= due && at < due + PERIOD + 30_000_000L, "backlog count " + data + " at " + (at - due) / 1e6 + " ms: " + out);
                } else {
                    assertEquals(1, data, out);
                    assertTrue(Math.abs(at - due) < 30_000_000L, "timer event " + i + " came " + (at - due) / 1e6 + " ms off the parent's schedule: " + out);
                }
            }
        }
    }

    @Test
    void aDropChildSeesNothing() throws Exception {
        Parent p = parent();
        try (Selector sel = p.sel(); Handoff h = new Handoff(ForkPolicy.DROP).prepare(sel)) {
            Map<String, String> m = CopyChild.run("state", h);
            assertEquals("NONE", m.get("method"), m.get("_output"));
            assertEquals("", m.get("keys"), m.get("_output"));
            assertEquals("", m.get("first"), m.get("_output"));
            assertFalse(m.containsKey("timer.0"), m.get("_output"));
        }
    }
}
