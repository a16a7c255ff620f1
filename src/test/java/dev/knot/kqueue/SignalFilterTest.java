// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
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
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.signal_h;
import dev.knot.testing.ChildJvm;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * EVFILT_SIGNAL (FreeBSD filt_signal, kqueue-facts.md 5.4, freebsd-kevent-semantics.md 4.9, FreeBSD and libkqueue
 * signal.c). The JVM owns signal handling, so Knot counts deliveries with a handler that replaces the JVM's while a
 * knote is registered (TERM then no longer shuts the JVM down; checked in a child JVM), and the signals the JVM
 * refuses (QUIT, KILL, STOP) are EINVAL: Knot's documented choices.
 *
 * <p>Signals are delivered asynchronously (the JVM's dispatcher thread runs the handler), so a second kqueue watching
 * the same signal serves as a probe. It registers after the knote under test (the handler counts on the watchers in
 * registration order), so once the probe has its event the signal was counted on the knote under test too. Only
 * signals whose default action is harmless (WINCH, URG, CONT) are sent when no knote may be watching them.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
@KqueueTest
class SignalFilterTest {
    static final int WINCH = signal_h.SIGWINCH;
    static final int URG = signal_h.SIGURG;
    static final long U = 0x516L;
    Kq kq;
    Kq probe;



    final java.util.Set<Integer> probed = new java.util.HashSet<>();

    /** Sends {@code sig} to this process and waits until the probe (watching it from now on) has counted it. */
    void raise(int sig) throws Exception {
        if (probed.add(sig)) probe.add(sig, EVFILT_SIGNAL, EV_ADD);
        Posix.kill(Posix.getpid(), sig);
        probe.awaitEvent(sig, EVFILT_SIGNAL);
    }

    @Test
    void aSignalIsCountedWithEvClear() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        kq.assertNoEvents();
        Posix.kill(Posix.getpid(), WINCH);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 1, U);
        kq.assertNoEvents();
    }

    @Test
    void signalsBeforeRetrievalCoalesceIntoOneEventWithTheCount() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        raise(WINCH);
        raise(WINCH);
        raise(WINCH);
        assertEquals(List.of(new Kq.Ev(WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 3, U)), kq.poll());
    }

    @Test
    void aDisabledKnoteKeepsCountingAndEnableReportsTheTotal() throws Exception {
        // FreeBSD signal.c: one signal while disabled, one after EV_ENABLE -> data 2.
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        kq.add(WINCH, EVFILT_SIGNAL, EV_DISABLE, 0, 0, U);
        raise(WINCH);
        kq.assertNoEvents();
        kq.add(WINCH, EVFILT_SIGNAL, EV_ENABLE, 0, 0, U);
        raise(WINCH);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 2, U);
    }

    @Test
    void oneshotFiresOnceAndIsGone() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD | EV_ONESHOT, 0, 0, U);
        raise(WINCH);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_ONESHOT | EV_CLEAR, 0, 1, U);
        raise(WINCH);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(WINCH, EVFILT_SIGNAL, EV_DELETE, 0, 0));
    }

    @Test
    void deleteStopsCountingAndDiscardsAPendingCount() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        raise(WINCH);
        kq.add(WINCH, EVFILT_SIGNAL, EV_DELETE);
        kq.assertNoEvents();
        raise(WINCH);
        kq.assertNoEvents();
        assertEquals(errno_h.ENOENT, kq.errnoOf(WINCH, EVFILT_SIGNAL, EV_DELETE, 0, 0));
    }

    @Test
    void dispatchDisablesAfterDeliveryAndEnableReportsWhatCameMeanwhile() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD | EV_DISPATCH, 0, 0, U);
        raise(WINCH);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_DISPATCH | EV_CLEAR, 0, 1, U);
        raise(WINCH);
        kq.assertNoEvents();
        kq.add(WINCH, EVFILT_SIGNAL, EV_ENABLE, 0, 0, U);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_DISPATCH | EV_CLEAR, 0, 1, U);
    }

    @Test
    void eachKnoteCountsOnlyItsOwnSignal() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, 1);
        kq.add(URG, EVFILT_SIGNAL, EV_ADD, 0, 0, 2);
        raise(URG);
        assertEquals(List.of(new Kq.Ev(URG, EVFILT_SIGNAL, EV_CLEAR, 0, 1, 2)), kq.poll());
    }

    @Test
    void twoKqueuesEachCountTheSignal() throws Exception {
        try (Kq other = new Kq()) {
            kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, 1);
            other.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, 2);
            raise(WINCH);
            assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 1, 1);
            assertEv(other.one(), WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 1, 2);
        }
    }

    @Test
    void sigcontIsCounted() throws Exception {
        kq.add(signal_h.SIGCONT, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        Posix.kill(Posix.getpid(), signal_h.SIGCONT);
        Kq.Ev e = kq.one();
        assertEquals(signal_h.SIGCONT, e.ident());
        assertTrue(e.data() >= 1, e.toString());
    }

    @Test
    void sigchldFromAnExitingChildIsCounted() throws Exception {
        // The prefork master's case: the kernel, not kill(2), sends the signal.
        kq.add(signal_h.SIGCHLD, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        int pid = Posix.spawn("/bin/sh", "-c", "exit 0");
        try {
            Kq.Ev e = kq.one();
            assertEquals(signal_h.SIGCHLD, e.ident());
            assertTrue(e.data() >= 1, e.toString());
        } finally {
            Posix.waitpid(pid);
        }
    }

    @Test
    void addOnAnExistingKnoteModifiesItAndKeepsTheCount() throws Exception {
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, 1);
        raise(WINCH);
        kq.add(WINCH, EVFILT_SIGNAL, EV_ADD, 0, 0, 2);
        assertEquals(List.of(new Kq.Ev(WINCH, EVFILT_SIGNAL, EV_CLEAR, 0, 1, 2)), kq.poll());
    }

    @Test
    void receiptAndKeepudata() throws Exception {
        List<Kq.Ev> r = kq.change(WINCH, EVFILT_SIGNAL, EV_ADD | EV_RECEIPT, 0, 0, 1);
        assertEquals(List.of(new Kq.Ev(WINCH, EVFILT_SIGNAL, EV_ERROR, 0, 0, 1)), r);
        kq.add(WINCH, EVFILT_SIGNAL, EV_ENABLE | EV_KEEPUDATA, 0, 0, 2);
        assertEquals(errno_h.EINVAL, kq.errnoOf(WINCH, EVFILT_SIGNAL, EV_ADD | EV_KEEPUDATA, 0, 0));
        raise(WINCH);
        assertEv(kq.one(), WINCH, EVFILT_SIGNAL, EV_CLEAR | EV_RECEIPT, 0, 1, 1);
    }

    @Test
    void signalsTheJvmRefusesAreEinval() throws Exception {
        // Knot's documented choice: QUIT belongs to the JVM (thread dumps), KILL and STOP cannot be caught.
        assertEquals(errno_h.EINVAL, kq.errnoOf(signal_h.SIGQUIT, EVFILT_SIGNAL, EV_ADD, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(signal_h.SIGKILL, EVFILT_SIGNAL, EV_ADD, 0, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(signal_h.SIGSTOP, EVFILT_SIGNAL, EV_ADD, 0, 0));
        List<Kq.Ev> r = kq.change(signal_h.SIGKILL, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        assertEquals(List.of(new Kq.Ev(signal_h.SIGKILL, EVFILT_SIGNAL, EV_ERROR, 0, errno_h.EINVAL, U)), r);
        assertEquals(errno_h.ENOENT, kq.errnoOf(signal_h.SIGKILL, EVFILT_SIGNAL, EV_DELETE, 0, 0));
    }

    @Test
    void identsThatAreNoSignalAreAcceptedAndNeverFire() throws Exception {
        // filt_sigattach does not validate the ident.
        kq.add(0, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        kq.add(9999, EVFILT_SIGNAL, EV_ADD, 0, 0, U);
        raise(WINCH);
        kq.assertNoEvents();
        kq.add(0, EVFILT_SIGNAL, EV_DELETE);
        kq.add(9999, EVFILT_SIGNAL, EV_DELETE);
    }

    @Test
    void aSignalInterruptingAWaitIsEintrAndTheChangesWereApplied() throws Exception {
        // kqueue_scan: a signal during the sleep gives EINTR (never restarted), after all changes were applied. The
        // probe kqueue watches WINCH so that the JVM has a handler for it (its default action is to ignore it).
        probe.add(WINCH, EVFILT_SIGNAL, EV_ADD);
        probed.add(WINCH);
        java.util.concurrent.atomic.AtomicInteger tid = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CompletableFuture<Integer> waiter = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            tid.set(Posix.gettid());
            try (KeventArray ch = KeventArray.allocate(1); KeventArray out = KeventArray.allocate(4)) {
                ch.set(0, 5, Kevent.EVFILT_USER, EV_ADD, 0, 0, 0);
                kq.kq.kevent(ch, 1, out, 4, -1);
                return 0;
            } catch (KqueueException e) {
                return e.errno();
            }
        }, r -> new Thread(r).start());
        Kq.sleep(150);
        assertTrue(!waiter.isDone(), "blocked");
        Posix.tgkill(tid.get(), WINCH);
        assertEquals(errno_h.EINTR, waiter.get(5, TimeUnit.SECONDS));
        assertEquals(0, kq.errnoOf(5, Kevent.EVFILT_USER, EV_DELETE, 0, 0), "the change was applied before the wait");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"delete", "close"})
    void whileWatchedTermDoesNotShutDownTheJvmAndAfterwardsItDoesAgain(String how) throws Exception {
        ChildJvm.Result r = ChildJvm.run(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Xshare:auto"),
                SignalChild.class.getName(), how), 60);
        assertTrue(r.stdout().contains("term-event data=1"), "TERM became an event: " + r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("alive after TERM"), "the JVM survived TERM while watched: " + r.stdout());
        assertTrue(!r.stdout().contains("alive after second TERM"), "TERM shuts down again once the knote is gone: " + r.stdout());
        assertEquals(143, r.exit(), "killed by the second TERM: " + r.stdout() + r.stderr());
    }
}
