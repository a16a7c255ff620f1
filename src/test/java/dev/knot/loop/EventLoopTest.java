// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.system.Fds;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class EventLoopTest {
    @Test
    @Timeout(60)
    void hundredThousandCrossThreadTasksFromFourThreadsEachRunOnce() throws Exception {
        EventLoop loop = EventLoop.open();
        Thread t = loop.start("loop");
        int perThread = 25_000, threads = 4;
        BitSet seen = new BitSet(perThread * threads);
        AtomicInteger duplicates = new AtomicInteger();
        AtomicInteger ran = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(perThread * threads);
        List<Thread> producers = new ArrayList<>();
        for (int p = 0; p < threads; p++) {
            int base = p * perThread;
            producers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    int id = base + i;
                    loop.execute(() -> {
                        // Runs on the loop thread only, so the BitSet needs no lock.
                        if (seen.get(id)) duplicates.incrementAndGet();
                        seen.set(id);
                        ran.incrementAndGet();
                        done.countDown();
                    });
                }
            }));
        }
        for (Thread p : producers) p.join();
        assertTrue(done.await(30, TimeUnit.SECONDS), "only " + ran.get() + " tasks ran");
        CountDownLatch last = new CountDownLatch(1);
        loop.execute(last::countDown);                 // runs after every task submitted before it
        assertTrue(last.await(10, TimeUnit.SECONDS));
        assertEquals(perThread * threads, ran.get());
        assertEquals(0, duplicates.get());
        assertEquals(perThread * threads, seen.cardinality());
        assertEquals(0, loop.metrics().taskQueueDepth());
        loop.shutdownGracefully();
        assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
        t.join();
    }

    @Test
    @Timeout(60)
    void timersFireInOrderWithinTwoMillisecondsOfTheirDeadlineOnAnIdleLoop() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.start("loop");
        // Warm the loop and the JIT first, so the timers do not measure class loading.
        CountDownLatch warm = new CountDownLatch(200);
        for (int i = 0; i < 200; i++) loop.schedule(warm::countDown, i % 5, TimeUnit.MILLISECONDS);
        assertTrue(warm.await(5, TimeUnit.SECONDS));
        // The bound holds on an idle machine; a shared host (hypervisor steal, other builds) may keep any thread off a
        // CPU for milliseconds. A round in which the loop thread waited on a run queue for 5 ms or more in all (its
        // schedstat; about 1 ms for its 40 wake-ups on an idle host) or a plain thread parking to the same deadlines
        // was late by a millisecond or more measured the host, not the loop, and does not count (the benchmarks' rule:
        // rerun disturbed rounds). Order must hold in every round.
        long worst = Long.MAX_VALUE, noisiest = 0;
        int counted = 0;
        for (int round = 0; round < 12 && counted < 3 && worst >= 2_000_000; round++) {
            long[] r = timerRound(loop, new java.util.Random(42 + round));
            if (r[1] >= 1_000_000 || r[2] >= 5_000_000) {
                noisiest = Math.max(noisiest, Math.max(r[1], r[2]));
                continue;
            }
            counted++;
            worst = Math.min(worst, r[0]);
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(counted > 0,
                "every round was disturbed: the loop thread waited for a CPU, or a parked thread was late, for up to "
                        + noisiest / 1000 + " us");
        assertTrue(worst < 2_000_000, "in every undisturbed round a timer fired late; the best round's worst: " + worst / 1000 + " us");
        loop.close();
    }

    /**
     * Schedules 40 timers 20-420 ms ahead and parks a plain thread to the same deadlines; checks the timers' order and
     * returns {the timers' worst lateness, the parked thread's worst lateness, the loop thread's run-queue wait} in ns.
     */
    private static long[] timerRound(EventLoop loop, java.util.Random r) throws Exception {
        int n = 40;
        long[] deadline = new long[n];
        long[] fired = new long[n];
        List<Integer> order = new ArrayList<>();
        CountDownLatch scheduled = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(n);
        long[] queued = new long[2];
        loop.execute(() -> {
            queued[0] = runQueueWait();
            for (int i = 0; i < n; i++) {
                int id = i;
                long delay = 20_000_000L + r.nextInt(400) * 1_000_000L + r.nextInt(1000) * 1000L;
                Timer t = loop.schedule(() -> {
                    fired[id] = System.nanoTime();
                    order.add(id);
                    done.countDown();
                }, delay, TimeUnit.NANOSECONDS);
                // The loop's own deadline: one taken here could differ by however long this thread was preempted.
                deadline[id] = t.deadline;
            }
            scheduled.countDown();
        });
        assertTrue(scheduled.await(10, TimeUnit.SECONDS));
        long[] sorted = deadline.clone();
        java.util.Arrays.sort(sorted);
        AtomicLong reference = new AtomicLong();
        Thread parker = Thread.ofPlatform().start(() -> {
            long worstRef = 0;
            for (long d : sorted) {
                for (long now; (now = System.nanoTime()) < d; ) java.util.concurrent.locks.LockSupport.parkNanos(d - now);
                worstRef = Math.max(worstRef, System.nanoTime() - d);
            }
            reference.set(worstRef);
        });
        assertTrue(done.await(10, TimeUnit.SECONDS));
        CountDownLatch measured = new CountDownLatch(1);
        loop.execute(() -> {
            queued[1] = runQueueWait();
            measured.countDown();
        });
        assertTrue(measured.await(10, TimeUnit.SECONDS));
        parker.join(10_000);
        for (int k = 1; k < n; k++) {
            assertTrue(deadline[order.get(k - 1)] <= deadline[order.get(k)], "timers ran out of deadline order: " + order);
        }
        long worst = 0;
        for (int i = 0; i < n; i++) {
            long late = fired[i] - deadline[i];
            assertTrue(late >= -100_000, "timer " + i + " fired " + (-late) + " ns early");
            worst = Math.max(worst, late);
        }
        long waited = queued[1] - queued[0];
        System.out.println("timer round: worst lateness " + worst / 1000 + " us; a parked thread's " + reference.get() / 1000
                + " us; the loop thread waited " + waited / 1000 + " us for a CPU");
        return new long[] {worst, reference.get(), waited};
    }

    /** The calling thread's time runnable but not running, in ns (the second field of its schedstat). */
    private static long runQueueWait() {
        try {
            return Long.parseLong(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/thread-self/schedstat")).trim().split(" ")[1]);
        } catch (java.io.IOException | RuntimeException e) {
            return 0;                                   // no schedstat (a kernel without it): count the round
        }
    }

    @Test
    @Timeout(30)
    void fixedRateTimersRepeatAndCancel() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.start("loop");
        AtomicInteger runs = new AtomicInteger();
        long t0 = System.nanoTime();
        Timer t = loop.scheduleAtFixedRate(runs::incrementAndGet, 0, 10, TimeUnit.MILLISECONDS);
        long deadline = t0 + TimeUnit.SECONDS.toNanos(10);
        while (runs.get() < 15 && System.nanoTime() < deadline) Thread.sleep(1);
        t.cancel();
        long periods = (System.nanoTime() - t0) / 10_000_000L + 1;    // periods begun, the first at 0
        int atCancel = runs.get();
        assertTrue(atCancel >= 15, "only " + atCancel + " runs in 10 s at a 10 ms period");
        // Late runs catch up, but a fixed-rate timer never runs more often than its periods have begun.
        assertTrue(atCancel <= periods, atCancel + " runs in " + periods + " periods");
        Thread.sleep(60);                              // an observation window: six periods in which nothing may run
        assertTrue(runs.get() <= atCancel + 1, "ran after cancel");
        assertTrue(loop.metrics().timersFired() >= atCancel);
        loop.close();
    }

    @Test
    @Timeout(30)
    void wakeupFromAnotherThreadInterruptsAnIndefiniteSelect() throws Exception {
        try (Selector s = Selector.open()) {
            AtomicLong returned = new AtomicLong();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    s.select(-1);
                    returned.set(System.nanoTime());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            Thread.sleep(100);
            assertEquals(0, returned.get(), "select returned without a wakeup");
            long t0 = System.nanoTime();
            s.wakeup();
            waiter.join(5000);
            assertFalse(waiter.isAlive());
            assertTrue(returned.get() - t0 < 500_000_000L);
        }
        // A wakeup before a select makes that select return at once (a new selector: the waiter owned the first).
        try (Selector s = Selector.open()) {
            s.wakeup();
            long t1 = System.nanoTime();
            s.select(5_000_000_000L);
            assertTrue(System.nanoTime() - t1 < 1_000_000_000L);
        }
    }

    @Test
    @Timeout(30)
    void shutdownClosesWhatTheLoopOwnsAndLeavesNoDescriptorOpen() throws Exception {
        List<Integer> before = Fds.openDescriptors();
        EventLoop loop = EventLoop.open();
        Thread t = loop.start("loop");
        CountDownLatch registered = new CountDownLatch(1);
        List<dev.knot.net.StreamSocket> owned = new ArrayList<>();
        loop.execute(() -> {
            try {
                for (int i = 0; i < 10; i++) {
                    dev.knot.net.StreamSocket[] pair = dev.knot.net.StreamSocket.pair();
                    for (dev.knot.net.StreamSocket s : pair) {
                        owned.add(s);
                        loop.register(s, Selector.OP_READ, k -> { });
                    }
                }
                loop.schedule(() -> { }, 1, TimeUnit.HOURS);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            registered.countDown();
        });
        assertTrue(registered.await(5, TimeUnit.SECONDS));
        assertTrue(Fds.openDescriptors().size() >= before.size() + 20);
        loop.shutdownGracefully();
        assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS));
        t.join();
        for (dev.knot.net.StreamSocket s : owned) assertFalse(s.isOpen());
        assertEquals(before, Fds.openDescriptors());
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> { }));
    }

    @Test
    @Timeout(30)
    void gracefulShutdownRunsQueuedTasksAndShutdownNowDropsThem() throws Exception {
        EventLoop loop = EventLoop.open();
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 100; i++) loop.execute(ran::incrementAndGet);
        Thread t = Thread.ofPlatform().unstarted(loop::run);
        loop.shutdownGracefully();
        t.start();
        assertTrue(loop.awaitTermination(5, TimeUnit.SECONDS));
        assertEquals(100, ran.get());

        EventLoop now = EventLoop.open();
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger later = new AtomicInteger();
        now.start("now");
        now.execute(() -> {
            blocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(blocked.await(5, TimeUnit.SECONDS));
        for (int i = 0; i < 100; i++) now.execute(later::incrementAndGet);
        now.shutdownNow();
        release.countDown();
        assertTrue(now.awaitTermination(5, TimeUnit.SECONDS));
        assertEquals(0, later.get());
    }

    @Test
    @Timeout(30)
    void metricsCountIterationsKeventCallsChangesAndEvents() throws Exception {
        EventLoop loop = EventLoop.open();
        loop.start("loop");
        dev.knot.net.StreamSocket[] pair = dev.knot.net.StreamSocket.pair();
        CountDownLatch got = new CountDownLatch(1);
        loop.execute(() -> loop.register(pair[0], Selector.OP_READ, k -> {
            pair[0].read(java.lang.foreign.Arena.ofAuto().allocate(64));
            got.countDown();
        }));
        Thread.sleep(50);
        pair[1].write(java.lang.foreign.Arena.ofAuto().allocateFrom("x"));
        assertTrue(got.await(5, TimeUnit.SECONDS));
        EventLoop.Metrics m = loop.metrics();
        assertTrue(m.iterations() >= 1, m.toString());
        assertTrue(m.keventCalls() >= 2, m.toString());
        assertTrue(m.changes() >= 1, m.toString());
        assertTrue(m.events() >= 2, m.toString());      // the wakeup for execute, then the read
        assertEquals(1, m.registered());
        assertTrue(m.blockedNanos() > 0 && m.busyNanos() > 0, m.toString());
        loop.close();
        pair[1].close();
    }

    @Test
    @Timeout(30)
    void roundHooksRunAroundTheDispatchInOrderSurviveTheirErrorsAndHearOfTermination() throws Exception {
        EventLoop loop = EventLoop.open();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        loop.onError(errors::add);
        List<String> trace = java.util.Collections.synchronizedList(new ArrayList<>());
        dev.knot.net.StreamSocket[] pair = dev.knot.net.StreamSocket.pair();
        CountDownLatch handled = new CountDownLatch(1), terminated = new CountDownLatch(2);
        EventLoop.RoundHook first = new EventLoop.RoundHook() {
            @Override
            public int beforeDispatch(Selector selector, int from, int to) {
                // A hook sees the ready keys and their handlers before the dispatch hands them out.
                for (int i = from; i < to; i++) {
                    Key k = selector.readyKey(i);
                    if (k.fd() == pair[0].fd()) trace.add("before " + (loop.handler(k) != null));
                }
                return to;
            }

            @Override
            public void afterDispatch() {
                if (!trace.isEmpty() && !trace.getLast().startsWith("after")) trace.add("after");
                throw new IllegalStateException("a failing hook");
            }

            @Override
            public void loopTerminated() {
                terminated.countDown();
            }
        };
        EventLoop.RoundHook second = new EventLoop.RoundHook() {
            @Override
            public void afterDispatch() {
                if (!trace.isEmpty() && trace.getLast().equals("after")) trace.add("second after");
            }

            @Override
            public void loopTerminated() {
                terminated.countDown();
            }
        };
        EventLoop.RoundHook removed = new EventLoop.RoundHook() {
            @Override
            public int beforeDispatch(Selector selector, int from, int to) {
                trace.add("removed hook ran");
                return to;
            }
        };
        CountDownLatch registered = new CountDownLatch(1);
        loop.execute(() -> {
            loop.addRoundHook(first);
            loop.addRoundHook(second);
            loop.addRoundHook(removed);
            loop.removeRoundHook(removed);
            loop.register(pair[0], Selector.OP_READ, k -> {
                pair[0].read(java.lang.foreign.Arena.ofAuto().allocate(64));
                trace.add("ready");
                handled.countDown();
            });
            registered.countDown();
        });
        loop.start("hooks");
        assertTrue(registered.await(5, TimeUnit.SECONDS));
        assertThrows(IllegalStateException.class, () -> loop.addRoundHook(second), "hooks are added on the loop thread");
        pair[1].write(java.lang.foreign.Arena.ofAuto().allocateFrom("x"));
        assertTrue(handled.await(5, TimeUnit.SECONDS));
        CountDownLatch round = new CountDownLatch(1);
        loop.execute(round::countDown);                // tasks run after the round's afterDispatch
        assertTrue(round.await(5, TimeUnit.SECONDS));
        assertEquals(List.of("before true", "ready", "after", "second after"), List.copyOf(trace).subList(0, 4));
        assertFalse(trace.contains("removed hook ran"));
        assertTrue(errors.stream().anyMatch(t -> "a failing hook".equals(t.getMessage())), "a hook's error goes to the error handler");
        loop.close();
        assertTrue(terminated.await(5, TimeUnit.SECONDS), "every hook hears the loop terminate");
        pair[1].close();
    }

    @Test
    @Timeout(30)
    void aHookThatEndsRunsEarlyGetsEveryReadyKeyInRunsOfItsLength() throws Exception {
        EventLoop loop = EventLoop.open();
        int pairs = 6;
        dev.knot.net.StreamSocket[][] sockets = new dev.knot.net.StreamSocket[pairs][];
        for (int i = 0; i < pairs; i++) sockets[i] = dev.knot.net.StreamSocket.pair();
        AtomicInteger inRun = new AtomicInteger(), runs = new AtomicInteger(), handled = new AtomicInteger();
        List<String> broken = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch all = new CountDownLatch(pairs);
        loop.execute(() -> {
            loop.addRoundHook(new EventLoop.RoundHook() {
                @Override
                public int beforeDispatch(Selector selector, int from, int to) {
                    if (inRun.getAndSet(0) != 0) broken.add("a run began before the last one ended");
                    inRun.set(-1);
                    return Math.min(to, from + 2);       // runs of two keys
                }

                @Override
                public void afterDispatch() {
                    int n = -inRun.getAndSet(0) - 1;
                    if (n < 1 || n > 2) broken.add("a run of " + n + " keys");
                    runs.incrementAndGet();
                }
            });
            for (dev.knot.net.StreamSocket[] p : sockets) {
                loop.register(p[0], Selector.OP_READ, k -> {
                    p[0].read(java.lang.foreign.Arena.ofAuto().allocate(64));
                    inRun.decrementAndGet();
                    handled.incrementAndGet();
                    all.countDown();
                });
            }
            // All six become ready before the next select: one iteration, three runs.
            for (dev.knot.net.StreamSocket[] p : sockets) {
                try {
                    p[1].write(java.lang.foreign.Arena.ofAuto().allocateFrom("x"));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        loop.start("runs");
        assertTrue(all.await(5, TimeUnit.SECONDS));
        CountDownLatch round = new CountDownLatch(1);
        loop.execute(round::countDown);
        assertTrue(round.await(5, TimeUnit.SECONDS));
        assertEquals(List.of(), List.copyOf(broken));
        assertEquals(pairs, handled.get());
        assertTrue(runs.get() >= pairs / 2, runs.get() + " runs for " + pairs + " keys in runs of two");
        loop.close();
        for (dev.knot.net.StreamSocket[] p : sockets) {
            p[0].close();
            p[1].close();
        }
    }
}
