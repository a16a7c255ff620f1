// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.alive;
import static dev.knot.prefork.MasterProcess.complete200;
import static dev.knot.prefork.MasterProcess.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.signal_h;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Supervision with real master and worker JVMs: what halts the master, what it survives, and dying with it. */
@Timeout(120)
class SupervisionTest {
    private static final Pattern READY = Pattern.compile("(?m)^ready (\\d+)$");

    static int readyCount(MasterProcess m) throws Exception {
        Matcher r = READY.matcher(m.ctl("status"));
        if (!r.find()) throw new AssertionError("no ready line in status");
        return Integer.parseInt(r.group(1));
    }

    @Test
    void twentySigkillsOfRunningWorkersHalfASecondApartNeverHaltTheMasterAndAWorkerIsAlwaysReady() throws Exception {
        // --crash-loop 3/60000: three boot failures would halt; twenty deaths of workers that ran must not.
        try (MasterProcess m = MasterProcess.start("--workers", "3", "--crash-loop", "3/60000", "--backoff-ms", "50",
                "--backoff-max-ms", "400")) {
            m.awaitReady(3, 1, 30_000);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), samples = new AtomicInteger();
            AtomicInteger minReady = new AtomicInteger(Integer.MAX_VALUE);
            // Own threads, not the common pool: on two cores it has one thread, and the sampler would never run.
            Thread client = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        if (complete200(get(m.port, "/"))) ok.incrementAndGet();
                        else failed.incrementAndGet();
                    } catch (Exception e) {
                        failed.incrementAndGet();     // a request on the connection of a killed worker
                    }
                }
            });
            Thread sampler = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        minReady.accumulateAndGet(readyCount(m), Math::min);
                        samples.incrementAndGet();
                        Thread.sleep(20);
                    } catch (Exception e) {
                        minReady.set(-1);             // the master stopped answering
                        return;
                    }
                }
            });
            // Every 0.5 s kill the ready worker that has run longest, as long as another one is ready: the point is
            // that the master replaces each in time and never halts, not that the test kills the last worker.
            int kills = 0, skipped = 0;
            long next = System.nanoTime();
            while (kills < 20) {
                long wait = next - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                next += 500_000_000L;
                List<MasterProcess.WorkerInfo> ready = m.workers().stream().filter(w -> w.state().equals("ready"))
                        .sorted(Comparator.comparingInt(MasterProcess.WorkerInfo::pid)).toList();      // the oldest first
                if (ready.size() < 2) {
                    skipped++;             // a loaded machine boots JVMs slowly: wait for the replacements
                    continue;
                }
                int victim = ready.get(0).pid();
                MasterProcess.kill(victim, signal_h.SIGKILL);
                kills++;
            }
            m.awaitReady(3, 1, 30_000);
            running.set(false);
            client.join(30_000);
            sampler.join(30_000);
            assertTrue(samples.get() >= 100, "only " + samples + " status samples");
            assertTrue(m.process.isAlive(), m.logText());
            assertFalse(m.logText().contains("halted"), m.logText());
            assertTrue(minReady.get() >= 1, "sampled ready count fell to " + minReady.get() + "\n" + m.logText());
            assertTrue(failed.get() <= kills, failed + " failed requests for " + kills + " kills");
            System.out.println(kills + " SIGKILLs (" + skipped + " ticks skipped with one ready worker), " + samples + " status samples,"
                    + " min ready " + minReady + "/3, " + ok + " requests ok, " + failed + " failed on killed workers");
        }
    }

    @Test
    void spawnFailuresForLackOfDescriptorsAreRetriedAndNeverCountAsCrashes() throws Exception {
        // From jars, as deployed: from a class directory every class loaded for the first time needs a descriptor of
        // its own, so the shortage would break the master's first exit handling with a NoClassDefFoundError.
        Path jars = Files.createTempDirectory("knot-jars");
        try (MasterProcess m = MasterProcess.startMain(MasterProcess.jarredClassPath(jars), "dev.knot.prefork.Master", List.of(),
                "--workers", "2", "--crash-loop", "2/60000", "--backoff-ms", "50", "--backoff-max-ms", "200")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 30_000);
            int master = (int) m.process.pid();
            String soft = limit(master);
            String hard = hard(master);
            long open;
            try (var s = Files.list(Path.of("/proc/" + master + "/fd"))) {
                open = s.count();
            }
            // Below what the master holds now: every descriptor the respawn needs (socketpair, pidfd) is refused.
            prlimit(master, (open - 4) + ":" + hard);
            try {
                MasterProcess.kill(w.get(0).pid(), signal_h.SIGKILL);
                try {
                    MasterProcess.await(() -> count(m, "a shortage of resources, not counted as a crash") >= 3, 30_000, "three refused respawns");
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "\n" + m.logText(), e);
                }
            } finally {
                // A master that died must not hide why behind a failed restore of its limit.
                if (m.process.isAlive()) prlimit(master, soft + ":" + hard);
            }
            assertTrue(m.process.isAlive(), m.logText());
            m.awaitReady(2, 1, 30_000);
            String log = m.logText();
            assertTrue(log.contains("EMFILE"), log);
            assertFalse(log.contains("halted"), log);
            assertTrue(m.process.isAlive());
        } finally {
            AppSources.delete(jars);
        }
    }

    @Test
    void aWorkerWhoseLoopIsStuckDiesWithinTwoSecondsOfItsMastersSigkill() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--heartbeat-timeout-ms", "60000", "--worker-arg", "--hang-after-ms",
                "--worker-arg", "300")) {
            int worker = m.awaitReady(1, 1, 30_000).get(0).pid();
            MasterProcess.await(() -> count(m, "hanging (test hook)") == 1, 10_000, "the worker's loop to block");
            MasterProcess.kill((int) m.process.pid(), signal_h.SIGKILL);
            long t0 = System.nanoTime();
            MasterProcess.await(() -> !alive(worker), 2000, "the stuck worker to die with its master (PR_SET_PDEATHSIG)");
            System.out.println("stuck worker gone " + (System.nanoTime() - t0) / 1_000_000 + " ms after its master's SIGKILL");
        }
    }

    static int count(MasterProcess m, String text) {
        try {
            String log = m.logText();
            int n = 0;
            for (int i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + 1)) n++;
            return n;
        } catch (Exception e) {
            return 0;
        }
    }

    private static String limit(int pid) throws Exception {
        return limits(pid)[0];
    }

    private static String hard(int pid) throws Exception {
        return limits(pid)[1];
    }

    private static String[] limits(int pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new String[] {f[0], f[1]};
            }
        }
        throw new AssertionError("no open-file limit for " + pid);
    }

    private static void prlimit(int pid, String nofile) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Integer.toString(pid), "--nofile=" + nofile).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "prlimit: " + out);
    }

    /** The master's open descriptors counted by kind (socket, pidfd, eventpoll, a path), /proc reads left out. */
    private static java.util.Map<String, Integer> descriptorKinds(int pid) throws Exception {
        java.util.Map<String, Integer> kinds = new java.util.TreeMap<>();
        try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : (Iterable<Path>) s::iterator) {
                String t;
                try {
                    t = Files.readSymbolicLink(fd).toString();
                } catch (java.io.IOException e) {
                    continue;                        // the listing's own descriptor, closed by now
                }
                // The master reads workers' /proc/PID/smaps_rollup once a second: a transient, not a holding.
                if (t.startsWith("/proc/")) continue;
                kinds.merge(t.startsWith("socket:") || t.startsWith("pipe:") ? t.substring(0, t.indexOf(':')) : t, 1, Integer::sum);
            }
        }
        return kinds;
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void theMastersDescriptorsReturnToTheirCountAfterWorkerKillsReloadsAndScaling() throws Exception {
        // A guard for the soak's "master fds flat": every worker the master replaces leaves it a socketpair end
        // and a pidfd to close; one forgotten per replacement is a leak that only a long run would show.
        try (MasterProcess m = MasterProcess.start("--workers", "2", "--backoff-ms", "50", "--backoff-max-ms", "200")) {
            m.awaitReady(2, 1, 60_000);
            int master = (int) m.process.pid();
            java.util.Map<String, Integer> before = descriptorKinds(master);
            int generation = 1;
            for (int round = 0; round < 2; round++) {
                MasterProcess.kill(m.workers().get(0).pid(), signal_h.SIGKILL);
                m.awaitReady(2, generation, 60_000);
                m.ctl("reload");
                m.awaitReady(2, ++generation, 60_000);
                m.ctl("scale 3");
                m.awaitReady(3, 0, 60_000);
                m.ctl("scale 2");
                m.awaitReady(2, 0, 60_000);
            }
            try {
                MasterProcess.await(() -> {
                    try {
                        return descriptorKinds(master).equals(before);
                    } catch (Exception e) {
                        return false;
                    }
                }, 10_000, "the master's descriptors to return to their count");
            } catch (AssertionError e) {
                throw new AssertionError("before " + before + ", after " + descriptorKinds(master) + "\n" + m.logText(), e);
            }
        }
    }
}
