// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EVFILT_VNODE;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.NOTE_ATTRIB;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static dev.knot.kqueue.Kevent.NOTE_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.system.Fds;
import dev.knot.testing.ChildJvm;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lifetimes (kqueue-facts.md 5.5, freebsd-kevent-semantics.md 5): closing a descriptor drops its knotes and a
 * reused number never delivers stale events (libkqueue kqueue_fd_reuse_no_stale_events), also when the descriptor
 * was closed behind Knot's back; closing the kqueue wakes blocked threads with EBADF (Knot's documented choice,
 * macOS/libkqueue behaviour); concurrent kevent calls; no descriptor or native memory leak over many cycles.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@KqueueTest
class LifecycleTest {
    Kq kq;
    @RegisterExtension final TrackedFds fds = new TrackedFds();

    // ------------------------------------------------------------------------------- descriptor close and reuse

    @Test
    void closingADescriptorThroughKnotDropsItsKnotesInEveryKqueue() throws Exception {
        try (Kq other = new Kq()) {
            int[] sp = fds.add(Posix.socketpair());
            kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 1);
            kq.add(sp[0], EVFILT_WRITE, EV_ADD, 0, 0, 2);
            other.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 3);
            Posix.write(sp[1], "pending");
            assertEquals(2, kq.waitFor(1000).size());
            fds.forget(sp[0]);
            Fds.close(sp[0]);
            kq.assertNoEvents();
            other.assertNoEvents();
            assertEquals(errno_h.EBADF, kq.errnoOf(sp[0], EVFILT_READ, EV_DELETE, 0, 0), "closed number: EBADF");
            int[] again = fds.add(Posix.socketpair());
            assumeTrue(again[0] == sp[0], "the number was reused");
            assertEquals(errno_h.ENOENT, kq.errnoOf(sp[0], EVFILT_READ, EV_DELETE, 0, 0), "reused number: ENOENT");
            assertEquals(errno_h.ENOENT, kq.errnoOf(sp[0], EVFILT_WRITE, EV_ENABLE, 0, 0));
        }
    }

    @Test
    void aReusedNumberNeverDeliversStaleEvents() throws Exception {
        // libkqueue kqueue_fd_reuse_no_stale_events: READ on a pipe, both ends closed (behind Knot's back), the
        // number reused by a new socket: nothing for 100 ms, and the new descriptor has no knote.
        int[] p = Posix.pipe();
        kq.add(p[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        Posix.write(p[1], "old");
        Posix.rawClose(p[0]);
        Posix.rawClose(p[1]);
        int[] sp = fds.add(Posix.socketpair());
        assumeTrue(sp[0] == p[0] || sp[1] == p[0], "the number was reused");
        int reused = p[0];
        assertEquals(List.of(), kq.waitFor(100));
        Posix.write(sp[0] == reused ? sp[1] : sp[0], "new");
        assertEquals(List.of(), kq.waitFor(100));
        kq.add(reused, EVFILT_READ, EV_ADD, 0, 0, 2);                  // a fresh knote works
        assertEquals(List.of(new Kq.Ev(reused, EVFILT_READ, 0, 0, 3, 2)), kq.waitFor(1000));
    }

    @Test
    void aReusedNumberOfARegularFileDeliversNothing(@TempDir Path dir) throws Exception {
        int a = Posix.open(Files.writeString(dir.resolve("a"), "aaaa").toString(), fcntl_h.O_RDONLY);
        kq.add(a, EVFILT_READ, EV_ADD, 0, 0, 1);
        assertEquals(1, kq.waitFor(1000).size());
        Posix.rawClose(a);
        int b = Posix.open(Files.writeString(dir.resolve("b"), "bbbbbbbb").toString(), fcntl_h.O_RDONLY);
        fds.add(b);
        assumeTrue(a == b, "the number was reused");
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    void aReusedNumberOfAWatchedFileDeliversNothing(@TempDir Path dir) throws Exception {
        Path fa = Files.writeString(dir.resolve("a"), "a");
        int a = Posix.open(fa.toString(), fcntl_h.O_RDONLY);
        kq.add(a, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE | NOTE_ATTRIB, 0, 1);
        Posix.rawClose(a);
        int b = Posix.open(Files.writeString(dir.resolve("b"), "b").toString(), fcntl_h.O_RDONLY);
        fds.add(b);
        assumeTrue(a == b, "the number was reused");
        Files.writeString(fa, "more", StandardOpenOption.APPEND);
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    void aDupKeptAliveAfterARawCloseNeitherSpinsNorDeliversStaleEvents() throws Exception {
        // epoll keeps the registration while the dup keeps the file open, and no epoll_ctl can reach it any more;
        // the emulation must notice and rebuild its epoll instance.
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        int dup = Posix.dup(sp[0]);
        fds.add(dup);
        Posix.write(sp[1], "x");
        assertEquals(1, kq.waitFor(1000).size());
        fds.forget(sp[0]);
        Posix.rawClose(sp[0]);                                        // behind Knot's back
        for (int i = 0; i < 3; i++) {
            long t = System.nanoTime();
            List<Kq.Ev> got = kq.waitFor(150);
            long el = (System.nanoTime() - t) / 1_000_000;
            assertEquals(List.of(), got, "no stale event");
            assertTrue(el >= 140, "kevent must block, not spin: returned after " + el + " ms");
        }
        assertTrue(kq.kq.emulation().rebuilds() >= 1, "the epoll instance holding the orphan was rebuilt");
        Posix.write(sp[1], "y");                                      // the orphaned file stays readable through the dup
        assertEquals(List.of(), kq.waitFor(100));
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: descriptors closed behind Knot's back): telling a reused number's file from the old one would cost a system call per event")
    void aNumberReusedBeforeTheEmulationNoticesDeliversNothing() throws Exception {
        int[] sp = Posix.socketpair();
        fds.add(sp[1]);
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        int dup = Posix.dup(sp[0]);
        fds.add(dup);
        Posix.rawClose(sp[0]);                                        // behind Knot's back, the dup keeps the file
        int[] again = fds.add(Posix.socketpair());
        assumeTrue(again[0] == sp[0], "the number was reused");
        Posix.write(sp[1], "x");                                      // the OLD file becomes readable
        assertEquals(List.of(), kq.waitFor(100), "FreeBSD dropped the knote at close; the new socket has none");
    }

    @Test
    void aNewKnoteOnAReusedNumberComputesDataForTheNewDescriptor(@TempDir Path dir) throws Exception {
        String path = dir.resolve("l").toString();
        int l = Posix.unixListener(path, 4);
        fds.add(l);
        kq.add(l, EVFILT_READ, EV_ADD, 0, 0, 1);
        kq.add(l, EVFILT_WRITE, EV_ADD, 0, 0, 2);                     // never fires on a listener, keeps the record
        fds.add(Posix.unixConnect(path));
        kq.awaitEvent(l, EVFILT_READ);                                // the emulation has learnt: "listener, data 1"
        fds.forget(l);
        Posix.rawClose(l);                                            // behind Knot's back
        int[] sp = fds.add(Posix.socketpair());
        assumeTrue(sp[0] == l, "the number was reused");
        kq.add(sp[0], EVFILT_READ, EV_ADD, 0, 0, 3);
        Posix.write(sp[1], "abc");
        List<Kq.Ev> got = kq.waitFor(1000);
        assertTrue(got.contains(new Kq.Ev(sp[0], EVFILT_READ, 0, 0, 3, 3)), "READ data of the new socket: " + got);
    }

    @Test
    void aNewKnoteOnANumberOnceHeldByAListenerFires() throws Exception {
        int[] l = Posix.tcpListener(4);
        fds.add(l[0]);
        kq.add(l[0], EVFILT_READ, EV_ADD, 0, 0, 1);
        kq.add(l[0], EVFILT_WRITE, EV_ADD, 0, 0, 2);
        int c = Posix.tcpConnect(l[1]);
        fds.add(c);
        kq.awaitEvent(l[0], EVFILT_READ);
        fds.forget(l[0]);
        Posix.rawClose(l[0]);                                         // behind Knot's back
        int[] p = fds.add(Posix.pipe());
        assumeTrue(p[0] == l[0], "the number was reused");
        kq.add(p[0], EVFILT_READ, EV_ADD, 0, 0, 3);
        Posix.write(p[1], "abc");
        assertEquals(List.of(new Kq.Ev(p[0], EVFILT_READ, 0, 0, 3, 3)), kq.waitFor(1000));
        assertEquals(List.of(new Kq.Ev(p[0], EVFILT_READ, 0, 0, 3, 3)), kq.waitFor(1000));
    }

    // --------------------------------------------------------------------------------------- kqueue close

    @Test
    void closeWakesEveryBlockedThreadWithEbadf() throws Exception {
        int fdsBefore = Posix.openFdCount();
        Kqueue k = Kqueue.open();
        k.kevent(KeventArray.allocate(1).set(0, 1, EVFILT_USER, EV_ADD, 0, 0, 0), 1, null, 0, 0);
        int n = 3;
        CountDownLatch started = new CountDownLatch(n);
        ConcurrentLinkedQueue<Integer> errnos = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try (KeventArray out = KeventArray.allocate(4)) {
                    started.countDown();
                    k.kevent(null, 0, out, 4, -1);
                    errnos.add(0);
                } catch (KqueueException e) {
                    errnos.add(e.errno());
                }
            });
            t.start();
            threads.add(t);
        }
        started.await();
        Kq.sleep(100);
        for (Thread t : threads) assertTrue(t.isAlive(), "blocked before the close");
        k.close();
        for (Thread t : threads) t.join(2000);
        assertEquals(List.of(errno_h.EBADF, errno_h.EBADF, errno_h.EBADF), List.copyOf(errnos));
        assertFalse(k.isOpen());
        try (KeventArray out = KeventArray.allocate(1)) {
            Kq.assertErrno(errno_h.EBADF, () -> k.kevent(null, 0, out, 1, 0));
        }
        assertTrue(Posix.openFdCount() <= fdsBefore, "the kqueue's descriptors were released after the waiters left");
    }

    // ------------------------------------------------------------------------------------------ threads

    /** Registers a knote whose condition holds (or soon will) from this thread while another waits forever. */
    long wokenBy(Kq.ThrowingRunnable register) throws Exception {
        java.util.concurrent.CompletableFuture<Long> waiter = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try (KeventArray out = KeventArray.allocate(4)) {
                int n = kq.kq.kevent(null, 0, out, 4, -1);
                return n == 1 ? out.ident(0) : -n;
            } catch (KqueueException e) {
                throw new RuntimeException(e);
            }
        }, r -> new Thread(r).start());
        Kq.sleep(80);
        assertFalse(waiter.isDone(), "the waiter blocks before the change");
        register.run();
        return waiter.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aChangeFromAnotherThreadWakesAThreadBlockedInKevent(@TempDir Path dir) throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        Posix.write(sp[1], "ready");
        assertEquals(sp[0], wokenBy(() -> kq.add(sp[0], EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, 0)), "READ");
        int[] p = fds.add(Posix.pipe());
        assertEquals(p[1], wokenBy(() -> kq.add(p[1], EVFILT_WRITE, EV_ADD | EV_ONESHOT, 0, 0, 0)), "WRITE");
        assertEquals(77, wokenBy(() -> kq.add(77, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 20, 0)), "TIMER");
        assertEquals(78, wokenBy(() -> kq.add(78, EVFILT_USER, EV_ADD | EV_ONESHOT, NOTE_TRIGGER, 0, 0)), "USER");
        int child = Posix.spawn("/bin/sh", "-c", "exit 0");
        try {
            Posix.awaitZombie(child);
            assertEquals(child, wokenBy(() -> kq.add(child, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 0)), "PROC");
        } finally {
            Posix.waitpid(child);
        }
        Path f = Files.writeString(dir.resolve("v"), "v");
        int vfd = Posix.open(f.toString(), fcntl_h.O_RDONLY);
        fds.add(vfd);
        assertEquals(vfd, wokenBy(() -> {
            kq.add(vfd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, 0);
            Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(1_000_000_000_000L));
        }), "VNODE");
    }

    /** Four threads wait on the kqueue; returns the events each round produced, in total across the threads. */
    static final class Waiters implements AutoCloseable {
        final Kqueue k;
        final AtomicInteger delivered = new AtomicInteger();
        final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> threads = new ArrayList<>();

        Waiters(Kqueue k, int n) {
            this.k = k;
            for (int i = 0; i < n; i++) {
                Thread t = new Thread(() -> {
                    try (KeventArray out = KeventArray.allocate(8)) {
                        while (!stop.get()) delivered.addAndGet(k.kevent(null, 0, out, 8, 20_000_000L));
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                t.start();
                threads.add(t);
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) t.join(5000);
        }
    }

    void assertSingleDelivery(String what, Kq.ThrowingRunnable fire) throws Exception {
        try (Waiters w = new Waiters(kq.kq, 4)) {
            Kq.sleep(50);
            for (int round = 1; round <= 20; round++) {
                fire.run();
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (w.delivered.get() < round && System.nanoTime() < deadline) Kq.sleep(1);
                Kq.sleep(15);
                assertEquals(round, w.delivered.get(), what + ": exactly one of the waiters gets each event");
            }
            w.close();
            assertEquals(List.of(), List.copyOf(w.errors));
        }
    }

    @Test
    void aClearUserEventGoesToExactlyOneOfFourWaiters() throws Exception {
        kq.add(1, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0);
        assertSingleDelivery("USER EV_CLEAR", () -> kq.add(1, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0));
    }

    @Test
    void aOneshotUserEventGoesToExactlyOneOfFourWaiters() throws Exception {
        AtomicInteger ident = new AtomicInteger();
        assertSingleDelivery("USER EV_ONESHOT",
                () -> kq.add(ident.incrementAndGet(), EVFILT_USER, EV_ADD | EV_ONESHOT, NOTE_TRIGGER, 0, 0));
    }

    @Test
    void aOneshotTimerGoesToExactlyOneOfFourWaiters() throws Exception {
        AtomicInteger ident = new AtomicInteger();
        assertSingleDelivery("TIMER EV_ONESHOT", () -> kq.add(ident.incrementAndGet(), EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 1, 0));
    }

    @Test
    void aClearReadEventGoesToExactlyOneOfFourWaiters() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        kq.add(sp[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, 0);
        assertSingleDelivery("READ EV_CLEAR", () -> Posix.write(sp[1], "x"));
    }

    @Test
    void aOneshotWriteEventGoesToExactlyOneOfFourWaiters() throws Exception {
        int[] p = fds.add(Posix.pipe());
        assertSingleDelivery("WRITE EV_ONESHOT", () -> kq.add(p[1], EVFILT_WRITE, EV_ADD | EV_ONESHOT, 0, 0, 0));
    }

    @Test
    void concurrentChurnWhileOthersWaitIsSafe() throws Exception {
        // libkqueue threading_multi_waiter_delete_race: add+trigger in one changelist, then delete, 200 times.
        try (Waiters w = new Waiters(kq.kq, 4); KeventArray ch = KeventArray.allocate(2)) {
            for (int i = 0; i < 200; i++) {
                ch.set(0, 1000 + i, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0);
                ch.set(1, 1000 + i, EVFILT_USER, EV_ENABLE, NOTE_TRIGGER, 0, 0);
                kq.kq.kevent(ch, 2, null, 0, 0);
                try {
                    kq.add(1000 + i, EVFILT_USER, EV_DELETE);
                } catch (KqueueException e) {
                    throw new AssertionError("the knote must still exist until deleted", e);
                }
            }
            w.close();
            assertEquals(List.of(), List.copyOf(w.errors));
            assertTrue(w.delivered.get() <= 200, "never more than one event per trigger: " + w.delivered.get());
        }
    }

    // ------------------------------------------------------------------------------------------ leaks

    /**
     * One open/use/close cycle per iteration: a Kqueue with USER, TIMER, READ, WRITE and PROC knotes (timerfd, pidfd
     * and an epoll nested in epoll behind them), two KeventArrays, an event collected, everything closed with
     * knotes still registered.
     */
    static void cycles(int[] sp, int n) throws Exception {
        int self = Posix.getpid();
        for (int i = 0; i < n; i++) {
            try (Kqueue k = Kqueue.open(); KeventArray ch = KeventArray.allocate(8); KeventArray ev = KeventArray.allocate(8)) {
                ch.set(0, 1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_TRIGGER, 0, 0);
                ch.set(1, 2, EVFILT_TIMER, EV_ADD, 0, 60_000, 0);
                ch.set(2, sp[0], EVFILT_READ, EV_ADD, 0, 0, 0);
                ch.set(3, sp[0], EVFILT_WRITE, EV_ADD, 0, 0, 0);
                ch.set(4, self, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, 0);
                int got = k.kevent(ch, 5, ev, 8, 0);
                if (got < 2) throw new AssertionError("cycle " + i + ": " + got + " events");
            }
        }
    }

    @Test
    void tenThousandCyclesLeaveTheDescriptorCountWhereItWas() throws Exception {
        int[] sp = fds.add(Posix.socketpair());
        cycles(sp, 200);
        int before = Posix.openFdCount();
        cycles(sp, 10_000);
        int after = Posix.openFdCount();
        assertTrue(after <= before, "descriptors before " + before + ", after " + after);
    }

    private static final Pattern OTHER = Pattern.compile("Other \\(reserved=\\d+KB(?: ([+-]\\d+)KB)?, committed=\\d+KB(?: ([+-]\\d+)KB)?\\)");

    @Test
    void tenThousandCyclesLeaveNativeMemoryWhereItWas() throws Exception {
        ChildJvm.Result r = ChildJvm.run(ChildJvm.command(
                List.of("--enable-native-access=ALL-UNNAMED", "-XX:NativeMemoryTracking=summary", "-XX:+UseSerialGC", "-Xmx256m"),
                LeakChild.class.getName(), "10000"), 120);
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        String out = r.stdout();
        assertTrue(out.contains("NMT-DIFF-BEGIN"), out + r.stderr());
        String diff = out.substring(out.indexOf("NMT-DIFF-BEGIN"), out.indexOf("NMT-DIFF-END"));
        Matcher m = OTHER.matcher(diff);
        long otherDelta = m.find() && m.group(2) != null ? Long.parseLong(m.group(2)) : 0;
        // FFM arenas (KeventArrays, each kqueue's scratch buffers) are malloc'ed under NMT's "Other". A KeventArray
        // alone is 512 bytes: a per-cycle leak of even 100 bytes would show as ~1000 KB. (The total malloc figure is
        // not used: the JIT's arena chunks move it by megabytes either way.)
        assertTrue(otherDelta < 512, "NMT Other (off-heap arenas) grew by " + otherDelta + " KB over 10,000 cycles:\n" + diff);
        Matcher f = Pattern.compile("fds before=(\\d+) after=(\\d+)").matcher(out);
        assertTrue(f.find(), out);
        assertTrue(Integer.parseInt(f.group(2)) <= Integer.parseInt(f.group(1)), f.group());
    }
}
