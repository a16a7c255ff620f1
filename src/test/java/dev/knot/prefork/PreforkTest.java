// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.alive;
import static dev.knot.prefork.MasterProcess.complete200;
import static dev.knot.prefork.MasterProcess.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.signal_h;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The prefork server with real master and worker JVMs. */
@Timeout(120)
class PreforkTest {
    @Test
    void startsTheWorkersServesAndReportsStatusAndPerWorkerStats() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 30_000);
            for (int i = 0; i < 20; i++) assertTrue(complete200(get(m.port, "/")));
            String status = m.ctl("status");
            assertTrue(status.contains("workers 2/2"), status);
            assertTrue(status.contains("state running"), status);
            assertTrue(status.contains("listen /127.0.0.1:" + m.port), status);
            MasterProcess.await(() -> {
                try {
                    return m.workers().stream().mapToLong(MasterProcess.WorkerInfo::requests).sum() == 20;
                } catch (Exception e) {
                    return false;
                }
            }, 5000, "the workers' heartbeats to report 20 requests");
            assertEquals(2, w.stream().map(MasterProcess.WorkerInfo::pid).distinct().count());
            assertTrue(m.logText().contains("REREGISTER"), "workers start from the master's copied registrations");
            assertTrue(m.ctl("bogus").startsWith("error: unknown command"));
        }
    }

    @Test
    void aWorkerKilledWithSigkillIsReplacedAndThePortKeepsAnswering() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> before = m.awaitReady(2, 1, 30_000);
            int victim = before.get(0).pid();
            MasterProcess.kill(victim, signal_h.SIGKILL);
            MasterProcess.await(() -> !alive(victim), 5000, "the worker to die");
            for (int i = 0; i < 50; i++) assertTrue(complete200(get(m.port, "/")), "request " + i + " after the kill");
            List<MasterProcess.WorkerInfo> after = m.awaitReady(2, 1, 30_000);
            assertFalse(after.stream().anyMatch(x -> x.pid() == victim));
            assertTrue(m.logText().contains("pid " + victim + ") exited: killed by signal 9, unexpectedly"), m.logText());
            assertTrue(m.logText().contains("respawning worker"), m.logText());
        }
    }

    @Test
    void whenTheMasterIsKilledEveryWorkerExitsWithinTwoSeconds() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 30_000);
            MasterProcess.kill((int) m.process.pid(), signal_h.SIGKILL);
            long t0 = System.nanoTime();
            for (MasterProcess.WorkerInfo x : w) {
                MasterProcess.await(() -> !alive(x.pid()), 2000, "worker " + x.pid() + " to exit after its master");
            }
            System.out.println("workers gone " + (System.nanoTime() - t0) / 1_000_000 + " ms after the master's SIGKILL");
        }
    }

    @Test
    void reloadWhileAClientSendsRequestsContinuouslyCompletesEveryRequest() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> old = m.awaitReady(2, 1, 30_000);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = new ArrayList<>();
            CompletableFuture<Void> client = CompletableFuture.runAsync(() -> {
                while (running.get()) {
                    try {
                        String r = get(m.port, "/plaintext");
                        if (complete200(r)) ok.incrementAndGet();
                        else synchronized (failures) { failures.add(r); }
                    } catch (Exception e) {
                        synchronized (failures) { failures.add(e.toString()); }
                    }
                }
            });
            MasterProcess.await(() -> ok.get() >= 10, 30_000, "requests before the reload");
            assertTrue(m.ctl("reload").startsWith("reloading: generation 2"));
            m.awaitReady(2, 2, 30_000);
            for (MasterProcess.WorkerInfo x : old) MasterProcess.await(() -> !alive(x.pid()), 10_000, "old worker " + x.pid() + " to drain");
            int before = ok.get();
            MasterProcess.await(() -> ok.get() >= before + 10, 30_000, "requests served by generation 2 alone");
            running.set(false);
            client.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), failures);
            assertTrue(ok.get() > 20, "only " + ok.get() + " requests during the reload");
            assertTrue(m.ctl("status").contains("generation 2"));
            System.out.println(ok.get() + " requests, all complete, across a reload");
        }
    }

    @Test
    void gracefulStopLetsInFlightRequestsFinish() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1")) {
            m.awaitReady(1, 1, 30_000);
            CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> {
                try {
                    return get(m.port, "/sleep?ms=1500");
                } catch (Exception e) {
                    return e.toString();
                }
            });
            awaitOpenConnection(m);
            assertEquals("stopping (graceful)\n", m.ctl("stop"));
            String r = slow.get(20, TimeUnit.SECONDS);
            assertTrue(complete200(r), r);
            assertTrue(r.contains("Connection: close"), "a drained connection says it closes: " + r);
            assertTrue(m.process.waitFor(15, TimeUnit.SECONDS));
            assertEquals(0, m.process.exitValue(), m.logText());
        }
    }

    @Test
    void fastStopDoesNotWaitForRequests() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1")) {
            m.awaitReady(1, 1, 30_000);
            CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> {
                try {
                    return get(m.port, "/sleep?ms=10000");
                } catch (Exception e) {
                    return e.toString();
                }
            });
            awaitOpenConnection(m);
            long t0 = System.nanoTime();
            assertEquals("stopping (fast)\n", m.ctl("stop --fast"));
            assertTrue(m.process.waitFor(5, TimeUnit.SECONDS), "the fast stop waited");
            assertTrue((System.nanoTime() - t0) < 3_000_000_000L);
            String r = slow.get(10, TimeUnit.SECONDS);
            assertFalse(complete200(r), "the in-flight request should have been cut: " + r);
        }
    }

    @Test
    void noDescriptorOfTheMasterOtherThanTheChosenOnesIsOpenInAWorker() throws Exception {
        Path sentinel = Files.createTempFile("knot-master-secret", ".txt");
        // fd 9 is opened before the master starts, without close-on-exec: only closefrom keeps it from workers.
        try (MasterProcess m = MasterProcess.start(List.of("exec 9<" + sentinel), "--workers", "2")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 30_000);
            Set<String> masterLinks = links((int) m.process.pid());
            assertTrue(masterLinks.contains(sentinel.toString()), "the master should hold the sentinel: " + masterLinks);
            Set<String> masterSockets = new HashSet<>();
            for (String l : masterLinks) if (l.startsWith("socket:")) masterSockets.add(l);
            for (MasterProcess.WorkerInfo x : w) {
                Set<String> workerLinks = links(x.pid());
                assertFalse(workerLinks.contains(sentinel.toString()), "the master's fd 9 leaked into worker " + x.pid());
                Set<String> shared = new HashSet<>();
                for (String l : workerLinks) if (masterSockets.contains(l)) shared.add(l);
                // The only socket a worker shares with its master is the listener; its control channel end is its own.
                assertEquals(1, shared.size(), "worker " + x.pid() + " shares sockets " + shared + " with the master");
                assertEquals(Files.readSymbolicLink(Path.of("/proc/" + x.pid() + "/fd/4")).toString(), shared.iterator().next(),
                        "fd 4 of the worker is the listener");
            }
        } finally {
            Files.delete(sentinel);
        }
    }

    private static Set<String> links(int pid) throws Exception {
        Set<String> out = new HashSet<>();
        try (var ds = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : ds) {
                try {
                    out.add(Files.readSymbolicLink(p).toString());
                } catch (Exception ignored) {
                    // closed while listing
                }
            }
        }
        return out;
    }

    @Test
    void aCrashLoopHaltsTheMasterWithAClearMessage() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2", "--worker-arg", "--crash-on-start", "--crash-loop", "4/20000",
                "--backoff-ms", "20")) {
            assertTrue(m.process.waitFor(60, TimeUnit.SECONDS), m.logText());
            assertEquals(3, m.process.exitValue());
            assertTrue(m.logText().contains("halted: workers fail to boot: 4 boot failures within 20000 ms"), m.logText());
            assertTrue(m.logText().contains("respawning worker 1 in 20 ms") || m.logText().contains("respawning worker 2 in 20 ms"), m.logText());
            assertTrue(m.logText().contains(" ms") && m.logText().contains("in 40 ms"), "the backoff doubles: " + m.logText());
        }
    }

    @Test
    void aHungWorkerIsKilledAfterTheHeartbeatTimeoutAndReplaced() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--heartbeat-timeout-ms", "1500", "--worker-arg", "--hang-after-ms",
                "--worker-arg", "1000", "--crash-loop", "100/60000")) {
            int first = m.awaitReady(1, 1, 30_000).get(0).pid();
            MasterProcess.await(() -> !alive(first), 15_000, "the hung worker to be killed");
            assertTrue(m.logText().contains("worker 1 (pid " + first + ") silent for"), m.logText());
            List<MasterProcess.WorkerInfo> next = m.awaitReady(1, 1, 30_000);
            assertNotEquals(first, next.get(0).pid());
        }
    }

    @Test
    void theWorkerCountChangesAtRunTime() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1")) {
            m.awaitReady(1, 1, 30_000);
            assertEquals("scaling to 3 workers\n", m.ctl("scale 3"));
            m.awaitReady(3, 1, 30_000);
            List<MasterProcess.WorkerInfo> three = m.workers();
            assertEquals("scaling to 1 workers\n", m.ctl("scale 1"));
            List<MasterProcess.WorkerInfo> one = m.awaitReady(1, 1, 30_000);
            for (MasterProcess.WorkerInfo x : three) if (x.slot() > 1) MasterProcess.await(() -> !alive(x.pid()), 10_000, "worker " + x.slot() + " to drain");
            assertEquals(1, one.get(0).slot());
            assertTrue(complete200(get(m.port, "/")));
            assertTrue(m.ctl("scale x").startsWith("error"));
        }
    }

    @Test
    void reusePortGivesEachWorkerItsOwnListeningSocket() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2", "--reuseport")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 30_000);
            String a = Files.readSymbolicLink(Path.of("/proc/" + w.get(0).pid() + "/fd/4")).toString();
            String b = Files.readSymbolicLink(Path.of("/proc/" + w.get(1).pid() + "/fd/4")).toString();
            assertTrue(a.startsWith("socket:") && b.startsWith("socket:"));
            assertNotEquals(a, b, "each worker has its own SO_REUSEPORT socket");
            for (int i = 0; i < 20; i++) assertTrue(complete200(get(m.port, "/")));
        }
    }

    /** Until a worker's heartbeat counts the slow request's connection: the request is in flight. */
    private static void awaitOpenConnection(MasterProcess m) throws Exception {
        MasterProcess.await(() -> {
            try {
                return m.workers().stream().anyMatch(x -> x.connections() > 0);
            } catch (Exception e) {
                return false;
            }
        }, 10_000, "the slow request's connection to show in the worker's heartbeat");
    }
}
