// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EVFILT_VNODE;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_FLAG1;
import static dev.knot.kqueue.Kevent.EV_KEEPUDATA;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.signal_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * kevent(2) change processing (FreeBSD kqueue_kevent/kqueue_register, kqueue-facts.md 5.1-5.2,
 * freebsd-kevent-semantics.md 1 and 3): receipts and per-change errors as EV_ERROR entries, what happens without
 * room, ignored and stripped input, the error codes, and the changelist/eventlist interplay.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class ChangelistTest {
    Kq kq;
    KeventArray ch;
    KeventArray ev;
    @RegisterExtension final TrackedFds fds = new TrackedFds();
    static final long U = 0xC4A;

    @BeforeEach
    void open() throws Exception {
        ch = KeventArray.allocate(16);
        ev = KeventArray.allocate(16);
    }

    @AfterEach
    void close() {
        ch.close();
        ev.close();
    }

    int[] pair() throws Exception {
        return fds.add(Posix.socketpair());
    }

    List<Kq.Ev> entries(int n) {
        List<Kq.Ev> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(new Kq.Ev(ev.ident(i), ev.filter(i), ev.flags(i), ev.fflags(i), ev.data(i), ev.udata(i)));
        return l;
    }

    boolean userExists(long ident) {
        return kq.errnoOf(ident, EVFILT_USER, EV_ENABLE, 0, 0) == 0;
    }

    @Test
    void receiptEntriesHaveFlagsExactlyEvErrorAndDataZero() throws Exception {
        int[] sp = pair();
        ch.set(0, 1, EVFILT_USER, EV_ADD | EV_CLEAR | EV_RECEIPT, 0x77, 5, 1);
        ch.set(1, sp[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, 2);
        ch.set(2, 3, EVFILT_TIMER, EV_ADD | EV_RECEIPT, 0, 1000, 3);
        assertEquals(3, kq.kq.kevent(ch, 3, ev, 16, 0));
        assertEquals(List.of(
                new Kq.Ev(1, EVFILT_USER, EV_ERROR, 0, 0, 1),             // fflags zeroed for a new knote
                new Kq.Ev(sp[0], EVFILT_READ, EV_ERROR, 0, 0, 2),
                new Kq.Ev(3, EVFILT_TIMER, EV_ERROR, 0, 0, 3)), entries(3));
    }

    @Test
    void errorsWithRoomAreEntriesInOrderAndLaterChangesStillApply() throws Exception {
        ch.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 1);
        ch.set(1, 2, EVFILT_USER, EV_DELETE, 0, 0, 2);
        ch.set(2, 0x8000_0000L, EVFILT_READ, EV_ADD, 0, 0, 3);
        ch.set(3, 4, EVFILT_USER, EV_ADD, 0, 0, 4);
        int n = kq.kq.kevent(ch, 4, ev, 16, 0);                      // no exception: kevent(2) succeeded
        assertEquals(2, n);
        assertEquals(List.of(
                new Kq.Ev(2, EVFILT_USER, EV_ERROR, 0, errno_h.ENOENT, 2),
                new Kq.Ev(0x8000_0000L, EVFILT_READ, EV_ERROR, 0, errno_h.EBADF, 3)), entries(2));
        assertTrue(userExists(1) && userExists(4), "the successful changes were applied");
    }

    @Test
    void whenEntriesAreWrittenThereIsNoScan() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, U);
        ch.set(0, 99, EVFILT_USER, EV_DELETE, 0, 0, 0);
        assertEquals(1, kq.kq.kevent(ch, 1, ev, 16, 0));
        assertEquals(EV_ERROR, ev.flags(0));
        ch.set(0, 98, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 0);
        assertEquals(1, kq.kq.kevent(ch, 1, ev, 16, 5_000_000_000L), "a receipt returns at once, without waiting");
        assertEv(kq.one(), 1, EVFILT_USER, EV_CLEAR, 0, 0, U);       // the pending event is still there
    }

    @Test
    void anErrorWithoutRoomFailsTheCallAndLaterChangesAreNotApplied() throws Exception {
        ch.set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0);
        ch.set(1, 2, EVFILT_USER, EV_DELETE, 0, 0, 0);
        ch.set(2, 3, EVFILT_USER, EV_ADD, 0, 0, 0);
        KqueueException e = assertThrows(KqueueException.class, () -> kq.kq.kevent(ch, 3, null, 0, 0));
        assertEquals(errno_h.ENOENT, e.errno());
        assertEquals("ENOENT", e.errnoName());
        assertTrue(userExists(1), "earlier changes stay applied");
        assertTrue(!userExists(3), "later changes are not processed");
    }

    @Test
    void runningOutOfRoomMidwayFailsWithTheNextError() throws Exception {
        ch.set(0, 1, EVFILT_USER, EV_DELETE, 0, 0, 0);
        ch.set(1, 2, EVFILT_TIMER, EV_ADD, 0, -1, 0);
        ch.set(2, 3, EVFILT_USER, EV_ADD, 0, 0, 0);
        KqueueException e = assertThrows(KqueueException.class, () -> kq.kq.kevent(ch, 3, ev, 1, 0));
        assertEquals(errno_h.EINVAL, e.errno(), "the error that found no room is the one reported");
        assertEquals(new Kq.Ev(1, EVFILT_USER, EV_ERROR, 0, errno_h.ENOENT, 0), entries(1).get(0));
        assertTrue(!userExists(3));
    }

    @Test
    void aReceiptWithoutRoomReturnsZeroAndStopsProcessing() throws Exception {
        ch.set(0, 7, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 0);
        ch.set(1, 8, EVFILT_USER, EV_ADD, 0, 0, 0);
        assertEquals(0, kq.kq.kevent(ch, 2, null, 0, 0));
        assertTrue(userExists(7));
        assertTrue(!userExists(8), "kqueue.2: subsequent changes will not get processed");
        // With room for one: the second receipt finds none, so the call returns 0 although an entry was written.
        ch.set(0, 9, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 0);
        ch.set(1, 10, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 0);
        ch.set(2, 11, EVFILT_USER, EV_ADD, 0, 0, 0);
        assertEquals(0, kq.kq.kevent(ch, 3, ev, 1, 0));
        assertTrue(userExists(9) && userExists(10) && !userExists(11));
    }

    @Test
    void filterZeroIsIgnored() throws Exception {
        ch.set(0, 1, 0, EV_ADD | EV_RECEIPT, 0, 0, 0);
        ch.set(1, 2, 0, 0xFFFF, -1, -1, 0);
        ch.set(2, 3, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 3);
        assertEquals(1, kq.kq.kevent(ch, 3, ev, 16, 0));
        assertEquals(new Kq.Ev(3, EVFILT_USER, EV_ERROR, 0, 0, 3), entries(1).get(0));
        assertEquals(0, kq.kq.kevent(ch, 2, null, 0, 0));
    }

    @Test
    void systemFlagsInInputAreStripped() throws Exception {
        // EV_SYSFLAGS (EV_EOF, EV_ERROR, EV_FLAG1, EV_DROP) are removed from user input before registration.
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR | EV_EOF | EV_ERROR | EV_FLAG1 | 0x1000, 0, 0, U);
        kq.add(1, EVFILT_USER, EV_ERROR | EV_EOF, NOTE_TRIGGER, 0, U);
        assertEv(kq.one(), 1, EVFILT_USER, EV_CLEAR, 0, 0, U);
        ch.set(0, 2, EVFILT_USER, EV_ADD | EV_RECEIPT | EV_EOF, 0, 0, U);
        assertEquals(1, kq.kq.kevent(ch, 1, ev, 16, 0));
        assertEquals(EV_ERROR, ev.flags(0));
        assertEquals(0, ev.data(0));
    }

    @Test
    void enableTogetherWithDisableIsEinval() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        assertEquals(errno_h.EINVAL, kq.errnoOf(1, EVFILT_USER, EV_ENABLE | EV_DISABLE, NOTE_TRIGGER, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(2, EVFILT_USER, EV_ADD | EV_ENABLE | EV_DISABLE, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(1, -99, EV_ENABLE | EV_DISABLE, 0, 0));
        kq.assertNoEvents();                                          // the trigger was not applied
        assertTrue(!userExists(2));
    }

    @Test
    void addWithKeepudataIsEinvalForNewAndExistingKnotes() throws Exception {
        assertEquals(errno_h.EINVAL, kq.errnoOf(1, EVFILT_USER, EV_ADD | EV_KEEPUDATA, 0, 0));
        assertTrue(!userExists(1));
        kq.add(1, EVFILT_USER, EV_ADD, 0, 0, U);
        assertEquals(errno_h.EINVAL, kq.errnoOf(1, EVFILT_USER, EV_ADD | EV_KEEPUDATA, NOTE_TRIGGER, 0));
        kq.assertNoEvents();
    }

    @Test
    void unknownFiltersAreEinval() throws Exception {
        for (int filter : new int[] {1, 5, 100, -99, -20, Short.MIN_VALUE, Short.MAX_VALUE}) {
            assertEquals(errno_h.EINVAL, kq.errnoOf(1, filter, EV_ADD, 0, 0), "filter " + filter);
            assertEquals(errno_h.EINVAL, kq.errnoOf(1, filter, EV_DELETE, 0, 0), "filter " + filter);
        }
    }

    @Test
    void changesToMissingKnotesAreEnoentForEveryFilter(@TempDir Path dir) throws Exception {
        int[] sp = pair();
        int file = Posix.open(Files.writeString(dir.resolve("f"), "x").toString(), fcntl_h.O_RDONLY);
        fds.add(file);
        Object[][] cases = {
            {(long) sp[0], EVFILT_READ}, {(long) sp[0], EVFILT_WRITE}, {(long) file, EVFILT_VNODE},
            {1L, EVFILT_TIMER}, {1L, EVFILT_USER}, {(long) Posix.getpid(), EVFILT_PROC}, {(long) signal_h.SIGWINCH, EVFILT_SIGNAL},
        };
        for (Object[] c : cases) {
            long ident = (Long) c[0];
            int filter = (Integer) c[1];
            for (int flags : new int[] {EV_DELETE, EV_ENABLE, EV_DISABLE, 0}) {
                assertEquals(errno_h.ENOENT, kq.errnoOf(ident, filter, flags, 0, 0), Kevent.filterName(filter) + " flags " + flags);
            }
            // With room: an EV_ERROR entry carrying ENOENT.
            List<Kq.Ev> r = kq.change(ident, filter, EV_DELETE, 0, 0, U);
            assertEquals(List.of(new Kq.Ev(ident, filter, EV_ERROR, 0, errno_h.ENOENT, U)), r, Kevent.filterName(filter));
        }
    }

    @Test
    void badDescriptorIdentsAreEbadf() throws Exception {
        int[] sp = Posix.socketpair();
        Posix.rawClose(sp[1]);
        Posix.rawClose(sp[0]);                                        // a closed number (nothing else opens here)
        long[] idents = {sp[0], 0x8000_0000L, 0xFFFF_FFFFL, -1L, Long.MAX_VALUE, Long.MIN_VALUE};
        for (long ident : idents) {
            for (int filter : new int[] {EVFILT_READ, EVFILT_WRITE, EVFILT_VNODE}) {
                assertEquals(errno_h.EBADF, kq.errnoOf(ident, filter, EV_ADD, 0, 0), Kevent.filterName(filter) + " ident " + ident);
                assertEquals(errno_h.EBADF, kq.errnoOf(ident, filter, EV_DELETE, 0, 0), Kevent.filterName(filter) + " ident " + ident);
            }
        }
    }

    @Test
    void aLargeClosedDescriptorNumberIsEbadfNotAnOutOfMemoryError() throws Exception {
        // FreeBSD checks the descriptor (fget -> EBADF) before kqueue_expand grows the knote table.
        for (int filter : new int[] {EVFILT_READ, EVFILT_WRITE, EVFILT_VNODE}) {
            assertEquals(errno_h.EBADF, kq.errnoOf(0x7fff_fff0L, filter, EV_ADD, 0, 0), Kevent.filterName(filter));
            assertEquals(errno_h.EBADF, kq.errnoOf(Integer.MAX_VALUE, filter, EV_ADD, 0, 0), Kevent.filterName(filter));
        }
    }

    @Test
    void aKqueueCannotWatchItsOwnDescriptor() throws Exception {
        int self = kq.kq.fd();
        assertEquals(errno_h.EINVAL, kq.errnoOf(self, EVFILT_READ, EV_ADD, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(self, EVFILT_WRITE, EV_ADD, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(self, EVFILT_VNODE, EV_ADD, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(self, EVFILT_READ, EV_DELETE, 0, 0), "even EV_DELETE");
    }

    @Test
    void changelistAndEventlistMayBeTheSameArray() throws Exception {
        ch.set(0, 1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 1);
        ch.set(1, 2, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 2);
        ch.set(2, 3, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 3);
        int n = kq.kq.kevent(ch, 3, ch, 3, 0);
        assertEquals(2, n);
        Set<Long> got = new HashSet<>();
        for (int i = 0; i < n; i++) got.add(ch.ident(i));
        assertEquals(Set.of(1L, 2L), got);
        // Receipts overwrite entries of the same array only after those were read.
        ch.set(0, 11, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 11);
        ch.set(1, 12, EVFILT_USER, EV_DELETE, 0, 0, 12);
        ch.set(2, 13, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, 13);
        assertEquals(3, kq.kq.kevent(ch, 3, ch, 3, 0));
        assertEquals(new Kq.Ev(11, EVFILT_USER, EV_ERROR, 0, 0, 11), new Kq.Ev(ch.ident(0), ch.filter(0), ch.flags(0), ch.fflags(0), ch.data(0), ch.udata(0)));
        assertEquals(errno_h.ENOENT, ch.data(1));
        assertEquals(13, ch.ident(2));
        assertTrue(userExists(13));
    }

    @Test
    void changesAreAppliedBeforeEventsAreCollected() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 1);
        ch.set(0, 1, EVFILT_USER, EV_DELETE, 0, 0, 0);                // removes the pending event
        ch.set(1, 2, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 2);
        ch.set(2, 2, EVFILT_USER, 0, NOTE_TRIGGER, 0, 2);             // created and triggered in the same call
        assertEquals(1, kq.kq.kevent(ch, 3, ev, 16, 0));
        assertEquals(new Kq.Ev(2, EVFILT_USER, EV_CLEAR, 0, 0, 2), entries(1).get(0));
    }

    @Test
    void multipleTriggersCoalesceIntoOneEvent() throws Exception {
        int[] sp = pair();
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U);
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, U);
        for (int i = 0; i < 3; i++) {
            Posix.write(sp[1], "x");
            kq.add(1, EVFILT_USER, 0, NOTE_TRIGGER, 0, U);
        }
        List<Kq.Ev> got = kq.poll();
        assertEquals(2, got.size(), got.toString());
        assertTrue(got.contains(new Kq.Ev(sp[0], EVFILT_READ, EV_CLEAR, 0, 3, U)), got.toString());
    }

    @Test
    void addWithDeleteCreatesAMissingKnoteAndDeletesAnExistingOne() throws Exception {
        // kqueue_register: on creation EV_DELETE is ignored; on an existing knote EV_DELETE wins.
        kq.add(5, EVFILT_USER, EV_ADD | EV_DELETE, 0, 0, U);
        assertTrue(userExists(5));
        kq.add(5, EVFILT_USER, EV_ADD | EV_DELETE, NOTE_TRIGGER, 0, U);
        assertTrue(!userExists(5));
        kq.assertNoEvents();
    }

    @Test
    void aLevelKnoteIsReturnedOncePerCallAndLevelKnotesTakeTurns() throws Exception {
        for (int i = 1; i <= 5; i++) kq.add(i, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, i);
        assertEquals(5, kq.kq.kevent(null, 0, ev, 16, 0), "each once, though they stay triggered");
        Set<Long> seen = new HashSet<>();
        for (int call = 0; call < 3; call++) {
            int n = kq.kq.kevent(null, 0, ev, 2, 0);
            assertEquals(2, n);
            assertTrue(ev.ident(0) != ev.ident(1));
            seen.add(ev.ident(0));
            seen.add(ev.ident(1));
        }
        assertEquals(Set.of(1L, 2L, 3L, 4L, 5L), seen, "re-queued at the tail: nobody starves");
    }

    @Test
    void manyReadyDescriptorsAreAllReportedOnceAndTakeTurns() throws Exception {
        int n = 100;
        List<int[]> pairs = new ArrayList<>();
        try (KeventArray out = KeventArray.allocate(2 * n)) {
            for (int i = 0; i < n; i++) {
                int[] sp = pair();
                pairs.add(sp);
                kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, i);
                Posix.write(sp[1], "x");
            }
            int got = kq.kq.kevent(null, 0, out, 2 * n, 1_000_000_000L);
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < got; i++) assertTrue(seen.add(out.udata(i)), "twice in one call: " + out.udata(i));
            assertEquals(n, got, "all ready level knotes in one call");
            seen.clear();
            for (int call = 0; call < 5; call++) {
                int k = kq.kq.kevent(null, 0, out, 30, 0);
                assertEquals(30, k);
                for (int i = 0; i < k; i++) seen.add(out.udata(i));
            }
            assertEquals(n, seen.size(), "150 slots over 5 calls reach all 100 level knotes: nobody starves");
        }
    }

    @Test
    void extFieldsAreEchoedFromTheCreation() throws Exception {
        ch.set(0, 1, EVFILT_USER, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, 0, U);
        for (int k = 0; k < 4; k++) ch.segment().set(ValueLayout.JAVA_LONG, KeventArray.EXT + 8L * k, 100 + k);
        assertEquals(1, kq.kq.kevent(ch, 1, ev, 16, 0));
        for (int k = 0; k < 4; k++) assertEquals(100 + k, ev.ext(0, k), "receipt echoes ext[" + k + "]");
        ch.set(0, 1, EVFILT_USER, 0, NOTE_TRIGGER, 0, U);              // a modify with ext zeroed
        assertEquals(0, kq.kq.kevent(ch, 1, null, 0, 0));
        assertEquals(1, kq.kq.kevent(null, 0, ev, 16, 0));
        for (int k = 0; k < 4; k++) assertEquals(100 + k, ev.ext(0, k), "event carries the creation's ext[" + k + "]");
    }

    @Test
    void nothingToCollectMeansNoWait() throws Exception {
        long t = System.nanoTime();
        assertEquals(0, kq.kq.kevent(null, 0, ev, 0, 5_000_000_000L), "nevents 0 returns at once");
        assertEquals(0, kq.kq.kevent(null, 0, null, 0, -1), "even with an infinite timeout");
        assertTrue(System.nanoTime() - t < 1_000_000_000L);
        t = System.nanoTime();
        assertEquals(0, kq.kq.kevent(null, 0, ev, 16, 60_000_000L), "timeout expiry returns 0");
        long el = System.nanoTime() - t;
        assertTrue(el >= 59_000_000L && el < 1_000_000_000L, "waited " + el / 1_000_000 + " ms for a 60 ms timeout");
    }
}
