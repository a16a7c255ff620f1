// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_KEEPUDATA;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static dev.knot.kqueue.Kevent.NOTE_ABSTIME;
import static dev.knot.kqueue.Kevent.NOTE_MSECONDS;
import static dev.knot.kqueue.Kevent.NOTE_NSECONDS;
import static dev.knot.kqueue.Kevent.NOTE_SECONDS;
import static dev.knot.kqueue.Kevent.NOTE_USECONDS;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * EVFILT_TIMER (FreeBSD filt_timer*, kqueue-facts.md 5.4; freebsd-kevent-semantics.md 4.6; libkqueue test/timer.c):
 * units, periodic counting of overruns, EV_ONESHOT, NOTE_ABSTIME, EV_CLEAR added for relative timers only, fflags 0
 * on output, re-add restarting and discarding, disable accumulating, validation.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class TimerFilterTest {
    Kq kq;
    static final long U = 0x7141E5L;



    static long ms(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1_000_000;
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    @Test
    void addThenDeleteNeverFires() throws Exception {
        kq.add(1, EVFILT_TIMER, EV_ADD, 0, 10, U);
        kq.add(1, EVFILT_TIMER, EV_DELETE);
        assertEquals(List.of(), kq.waitFor(40));
        assertEquals(errno_h.ENOENT, kq.errnoOf(1, EVFILT_TIMER, EV_DELETE, 0, 0));
    }

    @Test
    void defaultUnitIsMillisecondsAndRelativeTimersGetEvClear() throws Exception {
        long t0 = System.nanoTime();
        kq.add(1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 60, U);
        assertEv(kq.one(), 1, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, U);
        long el = ms(t0);
        assertTrue(el >= 58 && el < 1000, "60 ms timer fired after " + el + " ms");
    }

    @ParameterizedTest(name = "unit 0x{0} x {1}")
    @CsvSource({"2, 60", "4, 60000", "8, 60000000", "1, 1"})
    void eachUnitIsHonouredAndNotEchoedInFflags(int unit, long value) throws Exception {
        long expectMs = unit == NOTE_SECONDS ? 1000 : 60;
        long t0 = System.nanoTime();
        kq.add(5, EVFILT_TIMER, EV_ADD | EV_ONESHOT, unit, value, U);
        assertEv(kq.one(), 5, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, U);   // fflags 0: the unit is not echoed
        long el = ms(t0);
        assertTrue(el >= expectMs - 2 && el < expectMs + 900, "expected ~" + expectMs + " ms, fired after " + el);
    }

    @Test
    void periodicTimerCountsEveryExpirationSinceTheLastRetrieval() throws Exception {
        kq.add(2, EVFILT_TIMER, EV_ADD, 0, 20, U);
        Kq.Ev first = kq.one();
        assertEquals(EV_CLEAR, first.flags(), first.toString());
        assertEquals(0, first.fflags(), first.toString());
        long t = System.nanoTime();
        Kq.sleep(210);
        List<Kq.Ev> got = kq.poll();
        long el = ms(t);
        assertEquals(1, got.size(), "overruns coalesce into one event: " + got);
        long expected = el / 20;
        assertTrue(got.get(0).data() >= expected - 2 && got.get(0).data() <= expected + 2,
                "about " + expected + " expirations after " + el + " ms: " + got);
        Kq.Ev next = kq.one();                                       // still periodic, EV_CLEAR reset the count
        assertTrue(next.data() >= 1 && next.data() <= 3, next.toString());
    }

    @Test
    void oneshotFiresOnceAndIsDeleted() throws Exception {
        kq.add(3, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, U);
        assertEv(kq.one(), 3, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, U);
        assertEquals(List.of(), kq.waitFor(80));
        assertEquals(errno_h.ENOENT, kq.errnoOf(3, EVFILT_TIMER, EV_DELETE, 0, 0));
    }

    @Test
    void oneshotWithZeroFiresAtOnce() throws Exception {
        long t0 = System.nanoTime();
        kq.add(4, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 0, U);
        assertEv(kq.one(), 4, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, U);
        assertTrue(ms(t0) < 500);
    }

    @Test
    void periodZeroIsOneUnit() throws Exception {
        kq.add(4, EVFILT_TIMER, EV_ADD, NOTE_MSECONDS, 0, U);
        kq.one();
        Kq.sleep(60);
        Kq.Ev e = kq.one();
        assertTrue(e.data() >= 20, "a 1 ms period counts tens of expirations in 60 ms: " + e);
    }

    @Test
    void absoluteTimeInThePastFiresAtOnceWithoutEvClear() throws Exception {
        long past = System.currentTimeMillis() - 1000;
        kq.add(6, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_ABSTIME | NOTE_MSECONDS, past, U);
        assertEv(kq.one(), 6, EVFILT_TIMER, EV_ONESHOT, 0, 1, U);
        kq.assertNoEvents();
    }

    @Test
    void absoluteEpochZeroWithoutOneshotIsLevelAndNeverRearmed() throws Exception {
        // timer.c "EVFILT_TIMER (EPOCH), NOTE_ABSTIME": immediate event, flags 0 (no EV_CLEAR). Having no EV_CLEAR,
        // data stays 1 and the knote is returned on every call until deleted; it is never re-armed.
        kq.add(7, EVFILT_TIMER, EV_ADD, NOTE_ABSTIME, 0, U);
        assertEv(kq.one(), 7, EVFILT_TIMER, 0, 0, 1, U);
        Kq.sleep(20);
        assertEv(kq.one(), 7, EVFILT_TIMER, 0, 0, 1, U);
        kq.add(7, EVFILT_TIMER, EV_DELETE);
        kq.assertNoEvents();
    }

    @Test
    void absoluteTimeInTheFutureFiresNotBeforeTheDeadline() throws Exception {
        long deadline = nowMicros() + 150_000;
        kq.add(8, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_ABSTIME | NOTE_USECONDS, deadline, U);
        kq.assertNoEvents();
        assertEv(kq.one(), 8, EVFILT_TIMER, EV_ONESHOT, 0, 1, U);
        long now = nowMicros();
        assertTrue(now >= deadline - 1000, "fired " + (deadline - now) + " us early");
        assertTrue(now < deadline + 900_000, "fired " + (now - deadline) + " us late");
    }

    @Test
    void reAddRestartsTheTimerDiscardsExpirationsAndReplacesUdata() throws Exception {
        // timer.c "UPDATE EXP": an expired, undelivered oneshot is re-added: the old expiration is thrown away and
        // the timer runs again from the re-add.
        kq.add(9, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, 1);
        Kq.sleep(50);
        long t = System.nanoTime();
        kq.add(9, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 40, 2);
        kq.assertNoEvents();
        assertEv(kq.one(), 9, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, 2);
        assertTrue(ms(t) >= 38, "restarted at the re-add: " + ms(t) + " ms");
        assertEquals(List.of(), kq.waitFor(60));
    }

    @Test
    void reAddOfAPeriodicTimerDiscardsItsPendingCount() throws Exception {
        kq.add(10, EVFILT_TIMER, EV_ADD, 0, 5, U);
        Kq.sleep(60);                                                  // ~12 expirations pending
        kq.add(10, EVFILT_TIMER, EV_ADD, 0, 300, U);
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    void reAddReplacesTheUnitAndCanMakeTheTimerAbsolute() throws Exception {
        kq.add(11, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_SECONDS, 3600, U);
        kq.add(11, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 30, U);       // fflags replaced, not OR-ed
        assertEquals(1, kq.one().data());
        kq.add(12, EVFILT_TIMER, EV_ADD, 0, 3_600_000, U);
        kq.add(12, EVFILT_TIMER, EV_ADD, NOTE_ABSTIME, System.currentTimeMillis() + 50, U);
        Kq.Ev e = kq.one();
        assertEquals(12, e.ident());
        // The stored flags are those of the creation (EV_CLEAR of a relative timer); a re-add does not re-derive them.
        assertEquals(EV_CLEAR, e.flags(), e.toString());
        assertEquals(List.of(), kq.waitFor(60));                      // absolute: fires once, not periodic
    }

    @Test
    void reAddDoesNotChangeTheStoredFlags() throws Exception {
        // The stored EV_ONESHOT/EV_CLEAR are those of the creation: EV_ONESHOT on a re-add does not make a periodic
        // timer one-shot.
        kq.add(18, EVFILT_TIMER, EV_ADD, 0, 20, U);
        kq.add(18, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, U);
        assertEv(kq.one(), 18, EVFILT_TIMER, EV_CLEAR, 0, 1, U);
        Kq.Ev again = kq.one();
        assertEquals(EV_CLEAR, again.flags(), "still periodic: " + again);
    }

    @Test
    void disabledTimerKeepsCountingAndEnableDeliversTheTotal() throws Exception {
        kq.add(13, EVFILT_TIMER, EV_ADD, 0, 20, U);
        kq.add(13, EVFILT_TIMER, EV_DISABLE, 0, 0, U);
        Kq.sleep(110);
        kq.assertNoEvents();
        kq.add(13, EVFILT_TIMER, EV_ENABLE, 0, 0, U);
        Kq.Ev e = kq.one();
        assertTrue(e.data() >= 4, "expirations accumulated while disabled: " + e);
    }

    @Test
    void disabledOneshotThatExpiredIsDeliveredOnEnable() throws Exception {
        kq.add(14, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, U);
        kq.add(14, EVFILT_TIMER, EV_DISABLE, 0, 0, U);
        assertEquals(List.of(), kq.waitFor(60));
        kq.add(14, EVFILT_TIMER, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), 14, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR, 0, 1, U);
    }

    @Test
    void enableAndDisableWithoutAddDoNotChangeThePeriod() throws Exception {
        kq.add(15, EVFILT_TIMER, EV_ADD, 0, 20, U);
        kq.add(15, EVFILT_TIMER, EV_DISABLE, NOTE_SECONDS, 100_000, U);
        kq.add(15, EVFILT_TIMER, EV_ENABLE, NOTE_SECONDS, 100_000, U);
        long t = System.nanoTime();
        kq.one();
        assertTrue(ms(t) < 500, "still a 20 ms timer");
    }

    @Test
    void dispatchDisablesAfterDeliveryKeepsCountingAndEnableReportsIt() throws Exception {
        kq.add(16, EVFILT_TIMER, EV_ADD | EV_DISPATCH, 0, 20, U);
        Kq.Ev e = kq.one();
        assertEquals(EV_CLEAR | EV_DISPATCH, e.flags(), e.toString());
        assertEquals(List.of(), kq.waitFor(90));
        kq.add(16, EVFILT_TIMER, EV_ENABLE, 0, 0, U);
        Kq.Ev again = kq.one();
        assertTrue(again.data() >= 3, "counted while dispatched: " + again);
    }

    @Test
    void deleteDiscardsAnUndeliveredExpiration() throws Exception {
        kq.add(17, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 5, U);
        Kq.sleep(30);
        kq.add(17, EVFILT_TIMER, EV_DELETE);
        kq.assertNoEvents();
    }

    @Test
    void invalidParametersAreEinval() throws Exception {
        assertEquals(errno_h.EINVAL, kq.errnoOf(20, EVFILT_TIMER, EV_ADD, 0, -1));
        assertEquals(errno_h.EINVAL, kq.errnoOf(20, EVFILT_TIMER, EV_ADD, NOTE_SECONDS | NOTE_MSECONDS, 10));
        assertEquals(errno_h.EINVAL, kq.errnoOf(20, EVFILT_TIMER, EV_ADD, NOTE_USECONDS | NOTE_NSECONDS, 10));
        assertEquals(errno_h.EINVAL, kq.errnoOf(20, EVFILT_TIMER, EV_ADD, 0x20, 10));
        assertEquals(errno_h.EINVAL, kq.errnoOf(20, EVFILT_TIMER, EV_ADD, 0x100000, 10));
        List<Kq.Ev> r = kq.change(20, EVFILT_TIMER, EV_ADD, 0, -5, U);
        assertEquals(List.of(new Kq.Ev(20, EVFILT_TIMER, EV_ERROR, 0, errno_h.EINVAL, U)), r);
        assertEquals(errno_h.ENOENT, kq.errnoOf(20, EVFILT_TIMER, EV_DELETE, 0, 0), "no knote was created");
    }

    @Test
    void reAddWithInvalidParametersFailsTheChangeWithEinval() throws Exception {
        // Knot's documented choice: FreeBSD would accept the change and deliver EV_ERROR as an event later.
        kq.add(21, EVFILT_TIMER, EV_ADD, 0, 20, U);
        assertEquals(errno_h.EINVAL, kq.errnoOf(21, EVFILT_TIMER, EV_ADD, 0, -1));
        List<Kq.Ev> later = kq.waitFor(60);
        assertTrue(later.stream().noneMatch(e -> (e.flags() & EV_ERROR) != 0), "no delayed EV_ERROR event: " + later);
    }

    @Test
    void hugeValuesAreAcceptedAndDoNotFireSoon() throws Exception {
        kq.add(22, EVFILT_TIMER, EV_ADD, NOTE_SECONDS, Long.MAX_VALUE, U);
        kq.add(23, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_NSECONDS, Long.MAX_VALUE, U);
        kq.add(24, EVFILT_TIMER, EV_ADD, 0, Long.MAX_VALUE / 2, U);
        kq.add(25, EVFILT_TIMER, EV_ADD, NOTE_ABSTIME | NOTE_SECONDS, Long.MAX_VALUE, U);
        assertEquals(List.of(), kq.waitFor(60));
    }

    @Test
    void receiptIsAcknowledgedWithFflagsZeroAndEchoedByEvents() throws Exception {
        List<Kq.Ev> r = kq.change(26, EVFILT_TIMER, EV_ADD | EV_ONESHOT | EV_RECEIPT, NOTE_MSECONDS, 10, U);
        assertEquals(List.of(new Kq.Ev(26, EVFILT_TIMER, EV_ERROR, 0, 0, U)), r);
        assertEv(kq.one(), 26, EVFILT_TIMER, EV_ONESHOT | EV_CLEAR | EV_RECEIPT, 0, 1, U);
    }

    @Test
    void keepudataKeepsUdataAndIsRefusedWithAdd() throws Exception {
        kq.add(27, EVFILT_TIMER, EV_ADD, 0, 20, 1);
        kq.add(27, EVFILT_TIMER, EV_ENABLE | EV_KEEPUDATA, 0, 0, 2);
        assertEquals(1, kq.one().udata());
        assertEquals(errno_h.EINVAL, kq.errnoOf(27, EVFILT_TIMER, EV_ADD | EV_KEEPUDATA, 0, 20));
        kq.add(27, EVFILT_TIMER, EV_ENABLE, 0, 0, 3);
        assertEquals(3, kq.one().udata());
    }

    @Test
    void manyTimersEachFireOnceInDeadlineOrder() throws Exception {
        try (KeventArray ch = KeventArray.allocate(40); KeventArray ev = KeventArray.allocate(40)) {
            for (int i = 0; i < 40; i++) ch.set(i, 100 + i, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 80 - 2L * i, i);
            assertEquals(0, kq.kq.kevent(ch, 40, null, 0, 0));
            Set<Long> seen = new HashSet<>();
            long deadline = System.nanoTime() + 5_000_000_000L;
            long lastIdent = Long.MAX_VALUE / 2;
            while (seen.size() < 40 && System.nanoTime() < deadline) {
                int n = kq.kq.kevent(null, 0, ev, 1, 100_000_000L);
                for (int i = 0; i < n; i++) {
                    assertTrue(seen.add(ev.ident(i)), "fired twice: " + ev.ident(i));
                    assertTrue(ev.ident(i) <= lastIdent + 2, "roughly in deadline order: " + ev.ident(i) + " after " + lastIdent);
                    lastIdent = ev.ident(i);
                }
            }
            assertEquals(40, seen.size());
        }
    }

    @Test
    void timersOfTwoKqueuesAreIndependent() throws Exception {
        try (Kq other = new Kq()) {
            kq.add(30, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 10, 1);
            other.add(30, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 10, 2);
            assertEquals(1, kq.one().udata());
            assertEquals(2, other.one().udata());
        }
    }
}
