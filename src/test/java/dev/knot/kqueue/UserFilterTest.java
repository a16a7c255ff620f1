// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_USER;
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
import static dev.knot.kqueue.Kevent.NOTE_FFAND;
import static dev.knot.kqueue.Kevent.NOTE_FFCOPY;
import static dev.knot.kqueue.Kevent.NOTE_FFLAGSMASK;
import static dev.knot.kqueue.Kevent.NOTE_FFNOP;
import static dev.knot.kqueue.Kevent.NOTE_FFOR;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * EVFILT_USER (FreeBSD filt_user*, kqueue-facts.md 5.4, freebsd-kevent-semantics.md 4.7, libkqueue test/user.c).
 * Knot's documented choices: NOTE_TRIGGER on the creating EV_ADD triggers (macOS/libkqueue; FreeBSD ignores it), and
 * the output fflags/data are the stored low 24 bits and the stored data, for EV_ONESHOT knotes too (FreeBSD's
 * oneshot path returns zeros).
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class UserFilterTest {
    Kq kq;
    static final long U = 0x05E5L;



    void trigger(long ident, int fflags, long data, long udata) throws Exception {
        kq.add(ident, EVFILT_USER, 0, NOTE_TRIGGER | fflags, data, udata);
    }

    @Test
    void addedKnoteIsSilentAndDeleteRemovesIt() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        kq.add(1, EVFILT_USER, EV_DELETE);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(1, EVFILT_USER, EV_DELETE, 0, 0));
        assertEquals(errno_h.ENOENT, kq.errnoOf(1, EVFILT_USER, 0, NOTE_TRIGGER, 0), "a bare trigger needs a knote");
    }

    @Test
    void triggerFiresAClearKnoteOnceWithZeroFflagsAndData() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        trigger(1, 0, 0, U);
        assertEv(kq.one(), 1, EVFILT_USER, EV_CLEAR, 0, 0, U);
        kq.assertNoEvents();                                          // EV_CLEAR un-triggers after delivery
    }

    @Test
    void triggerOnTheCreatingAddTriggers() throws Exception {
        // Knot's choice (macOS, libkqueue): FreeBSD ignores NOTE_TRIGGER on the EV_ADD that creates the knote.
        kq.add(2, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, U);
        assertEv(kq.one(), 2, EVFILT_USER, EV_CLEAR, 0, 0, U);
        kq.assertNoEvents();
    }

    @Test
    void withoutEvClearAKnoteStaysTriggeredUntilAChangeCarriesEvClear() throws Exception {
        kq.add(3, EVFILT_USER, EV_ADD, 0, 0, U);
        trigger(3, 0, 0, U);
        for (int i = 0; i < 3; i++) assertEv(kq.one(), 3, EVFILT_USER, 0, 0, 0, U);
        kq.add(3, EVFILT_USER, EV_CLEAR, 0, 0, U);                   // a change with EV_CLEAR un-triggers it
        kq.assertNoEvents();
        trigger(3, 0, 0, U);
        assertEv(kq.one(), 3, EVFILT_USER, 0, 0, 0, U);               // the stored flags did not gain EV_CLEAR
        assertEv(kq.one(), 3, EVFILT_USER, 0, 0, 0, U);
    }

    @Test
    void manyTriggersCoalesceIntoOneEvent() throws Exception {
        kq.add(4, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        for (int i = 0; i < 10; i++) trigger(4, 0, 0, U);
        assertEquals(1, kq.poll().size());
        kq.assertNoEvents();
    }

    @Test
    void ffcopyReplacesTheStoredFlags() throws Exception {
        kq.add(5, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0xAA, 0, U);
        trigger(5, NOTE_FFCOPY | 0xBB, 0, U);
        assertEv(kq.one(), 5, EVFILT_USER, EV_CLEAR, 0xBB, 0, U);
    }

    @Test
    void ffandMasksTheStoredFlags() throws Exception {
        kq.add(6, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        kq.add(6, EVFILT_USER, 0, NOTE_FFCOPY | 0x0F, 0, U);
        trigger(6, NOTE_FFAND | 0x0C, 0, U);
        assertEv(kq.one(), 6, EVFILT_USER, EV_CLEAR, 0x0C, 0, U);
    }

    @Test
    void fforAddsToTheStoredFlagsAndTriggersMerge() throws Exception {
        kq.add(7, EVFILT_USER, EV_ADD | EV_CLEAR, 0x01, 0, U);
        trigger(7, NOTE_FFOR | 0x02, 0, U);
        trigger(7, NOTE_FFOR | 0x04, 0, U);
        assertEv(kq.one(), 7, EVFILT_USER, EV_CLEAR, 0x07, 0, U);
        trigger(7, 0, 0, U);                                          // the stored flags survive the delivery
        assertEv(kq.one(), 7, EVFILT_USER, EV_CLEAR, 0x07, 0, U);
    }

    @Test
    void ffnopLeavesTheStoredFlags() throws Exception {
        kq.add(8, EVFILT_USER, EV_ADD | EV_CLEAR, 0x42, 0, U);
        trigger(8, NOTE_FFNOP | 0xFF, 0, U);
        assertEv(kq.one(), 8, EVFILT_USER, EV_CLEAR, 0x42, 0, U);
    }

    @Test
    void outputFflagsAreOnlyTheLow24Bits() throws Exception {
        kq.add(9, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        trigger(9, NOTE_FFCOPY | 0x01FFFFFF, 0, U);
        assertEv(kq.one(), 9, EVFILT_USER, EV_CLEAR, NOTE_FFLAGSMASK, 0, U);
        // Created with control bits: stored raw by FreeBSD, but Knot outputs only the low 24 bits.
        kq.add(10, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0x5, 0, U);
        trigger(10, 0, 0, U);
        assertEv(kq.one(), 10, EVFILT_USER, EV_CLEAR, 0x5, 0, U);
    }

    @Test
    void dataIsTheLastDataWritten() throws Exception {
        kq.add(11, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 5, U);
        trigger(11, 0, 42, U);
        assertEv(kq.one(), 11, EVFILT_USER, EV_CLEAR, 0, 42, U);
        trigger(11, 0, 0, U);                                         // every change replaces the stored data
        assertEv(kq.one(), 11, EVFILT_USER, EV_CLEAR, 0, 0, U);
    }

    @Test
    void disabledKnoteRemembersATriggerAndEnableDeliversIt() throws Exception {
        kq.add(12, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        kq.add(12, EVFILT_USER, EV_DISABLE, 0, 0, U);
        trigger(12, 0, 0, U);
        kq.assertNoEvents();
        kq.add(12, EVFILT_USER, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), 12, EVFILT_USER, EV_CLEAR, 0, 0, U);
        kq.assertNoEvents();
    }

    @Test
    void addOnADisabledKnoteDoesNotEnableIt() throws Exception {
        kq.add(13, EVFILT_USER, EV_ADD | EV_CLEAR | EV_DISABLE, 0, 0, U);
        kq.add(13, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, U);
        kq.assertNoEvents();
        kq.add(13, EVFILT_USER, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), 13, EVFILT_USER, EV_CLEAR, 0, 0, U);
    }

    @Test
    void dispatchDeliversOnceThenNeedsEnableAndATrigger() throws Exception {
        kq.add(14, EVFILT_USER, EV_ADD | EV_CLEAR | EV_DISPATCH, 0, 0, U);
        trigger(14, 0, 0, U);
        assertEv(kq.one(), 14, EVFILT_USER, EV_CLEAR | EV_DISPATCH, 0, 0, U);
        trigger(14, 0, 0, U);
        kq.assertNoEvents();                                          // disabled, but the trigger is remembered
        kq.add(14, EVFILT_USER, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), 14, EVFILT_USER, EV_CLEAR | EV_DISPATCH, 0, 0, U);
        kq.add(14, EVFILT_USER, EV_ENABLE, 0, 0, U);
        kq.assertNoEvents();                                          // enabled, nothing pending
        kq.add(14, EVFILT_USER, EV_ENABLE, NOTE_TRIGGER, 0, U);       // re-arm and trigger in one change
        assertEv(kq.one(), 14, EVFILT_USER, EV_CLEAR | EV_DISPATCH, 0, 0, U);
        kq.add(14, EVFILT_USER, EV_DELETE);
    }

    @Test
    void oneshotFiresOnceWithTheStoredFflagsAndDataThenIsGone() throws Exception {
        kq.add(15, EVFILT_USER, EV_ADD | EV_ONESHOT, 0x3, 0, U);
        trigger(15, NOTE_FFOR | 0x4, 9, U);
        assertEv(kq.one(), 15, EVFILT_USER, EV_ONESHOT, 0x7, 9, U);   // Knot: stored values, also for ONESHOT
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(15, EVFILT_USER, EV_DELETE, 0, 0));
    }

    @Test
    void keepudataKeepsUdataOnATriggerAndEveryOtherModifyReplacesIt() throws Exception {
        kq.add(16, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0xAAAA);
        kq.add(16, EVFILT_USER, EV_KEEPUDATA, NOTE_TRIGGER, 0, 0);
        assertEv(kq.one(), 16, EVFILT_USER, EV_CLEAR, 0, 0, 0xAAAA);
        kq.add(16, EVFILT_USER, EV_DISABLE | EV_KEEPUDATA, 0, 0, 0);
        kq.add(16, EVFILT_USER, EV_KEEPUDATA, NOTE_TRIGGER, 0, 0);
        kq.assertNoEvents();
        kq.add(16, EVFILT_USER, EV_ENABLE | EV_KEEPUDATA, 0, 0, 0);
        assertEv(kq.one(), 16, EVFILT_USER, EV_CLEAR, 0, 0, 0xAAAA);
        kq.add(16, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0xBBBB);         // a bare trigger clobbers udata
        assertEv(kq.one(), 16, EVFILT_USER, EV_CLEAR, 0, 0, 0xBBBB);
        assertEquals(errno_h.EINVAL, kq.errnoOf(16, EVFILT_USER, EV_ADD | EV_KEEPUDATA, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(17, EVFILT_USER, EV_ADD | EV_KEEPUDATA, 0, 0));
    }

    @Test
    void receiptIsAcknowledgedAndStaysInTheKnotesFlags() throws Exception {
        List<Kq.Ev> r = kq.change(18, EVFILT_USER, EV_ADD | EV_CLEAR | EV_RECEIPT, 0x12, 0, U);
        assertEquals(List.of(new Kq.Ev(18, EVFILT_USER, EV_ERROR, 0, 0, U)), r, "fflags zeroed for a new knote");
        trigger(18, 0, 0, U);
        assertEv(kq.one(), 18, EVFILT_USER, EV_CLEAR | EV_RECEIPT, 0x12, 0, U);
        // The receipt of a modify carries the change's fflags masked to 24 bits.
        List<Kq.Ev> r2 = kq.change(18, EVFILT_USER, EV_RECEIPT, NOTE_FFOR | 0x1, 0, U);
        assertEquals(List.of(new Kq.Ev(18, EVFILT_USER, EV_ERROR, 0x1, 0, U)), r2);
    }

    @Test
    void modifyKeepsTheStoredFlagsOfTheCreation() throws Exception {
        kq.add(19, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        kq.add(19, EVFILT_USER, EV_ADD | EV_ONESHOT, 0, 0, U);
        trigger(19, 0, 0, U);
        assertEv(kq.one(), 19, EVFILT_USER, EV_CLEAR, 0, 0, U);
        trigger(19, 0, 0, U);
        assertEv(kq.one(), 19, EVFILT_USER, EV_CLEAR, 0, 0, U);       // not deleted: it never became ONESHOT
    }

    @Test
    void deleteDiscardsAPendingTrigger() throws Exception {
        kq.add(20, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, U);
        kq.add(20, EVFILT_USER, EV_DELETE);
        kq.assertNoEvents();
    }

    @Test
    void disableDrainsAPendingTrigger() throws Exception {
        kq.add(21, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, U);
        kq.add(21, EVFILT_USER, EV_DISABLE, 0, 0, U);
        kq.assertNoEvents();
    }

    @Test
    void knotesOfTwoKqueuesAreIndependent() throws Exception {
        try (Kq other = new Kq()) {
            kq.add(22, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
            other.add(22, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
            trigger(22, 0, 0, U);
            assertEquals(1, kq.poll().size());
            assertEquals(List.of(), other.waitFor(30));
        }
    }

    @Test
    void aTriggerFromAnotherThreadWakesABlockedKevent() throws Exception {
        kq.add(23, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        try (KeventArray ev = KeventArray.allocate(4)) {
            CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    long t = System.nanoTime();
                    int n = kq.kq.kevent(null, 0, ev, 4, -1);             // waits forever
                    assertEquals(1, n);
                    assertEquals(23, ev.ident(0));
                    return System.nanoTime() - t;
                } catch (KqueueException e) {
                    throw new RuntimeException(e);
                }
            });
            Kq.sleep(100);
            assertTrue(!waiter.isDone(), "the waiter must be blocked");
            try (KeventArray ch = KeventArray.allocate(1)) {
                ch.set(0, 23, EVFILT_USER, 0, NOTE_TRIGGER, 0, U);
                kq.kq.kevent(ch, 1, null, 0, 0);
            }
            long waited = waiter.get(2, TimeUnit.SECONDS);
            assertTrue(waited >= 90_000_000L, "woken by the trigger, not before: " + waited);
        }
    }
}
