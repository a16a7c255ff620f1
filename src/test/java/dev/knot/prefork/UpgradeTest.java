// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.alive;
import static dev.knot.prefork.MasterProcess.complete200;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.system.Processes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** knotctl upgrade with real master and worker JVMs: the new master inherits the listeners, the old one leaves. */
@Timeout(180)
class UpgradeTest {
    private static long masterPid(MasterProcess m) throws Exception {
        return (Long) MiniJson.object(m.ctl("status --json")).get("master_pid");
    }

    /** Kills a successor master (not a child of the test) and, by PR_SET_PDEATHSIG, its workers. */
    private static void killMaster(long pid) throws Exception {
        if (pid <= 0 || !alive((int) pid)) return;
        Processes.kill((int) pid, Processes.SIGKILL);
        MasterProcess.await(() -> !alive((int) pid), 10_000, "master " + pid + " to die");
    }

    @Test
    void upgradeUnderContinuousRequestsCompletesEveryOneAndTheNewMastersWorkersAnswer() throws Exception {
        long successor = -1;
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> old = m.awaitReady(2, 1, 60_000);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread client = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        String r = RecycleTest.get(m.port);          // a refused connect throws: a failure
                        if (complete200(r)) ok.incrementAndGet();
                        else failures.add(r);
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            });
            String answer = m.ctl("upgrade");
            Matcher a = Pattern.compile("upgrading: new master pid (\\d+)\n").matcher(answer);
            assertTrue(a.matches(), answer);
            successor = Long.parseLong(a.group(1));
            assertTrue(m.ctl("upgrade").startsWith("error: an upgrade is in flight"), "one upgrade at a time");
            assertTrue(m.process.waitFor(120, TimeUnit.SECONDS), "the old master did not leave:\n" + m.logText());
            assertEquals(0, m.process.exitValue(), m.logText());
            for (MasterProcess.WorkerInfo x : old) MasterProcess.await(() -> !alive(x.pid()), 10_000, "old worker " + x.pid());
            // knotctl reaches the new master at the same path; its workers serve.
            assertEquals(successor, masterPid(m));
            List<MasterProcess.WorkerInfo> fresh = m.awaitReady(2, 0, 30_000);
            int before = ok.get();
            MasterProcess.await(() -> ok.get() >= before + 50, 30_000, "50 requests answered by the new master's workers");
            running.set(false);
            client.join(70_000);
            String log = m.logText();
            assertEquals(List.of(), failures, log);
            for (MasterProcess.WorkerInfo x : fresh) {
                assertTrue(old.stream().noneMatch(o -> o.pid() == x.pid()));
                assertTrue(alive(x.pid()));
            }
            MasterProcess.await(() -> {
                try {
                    return (Long) MiniJson.object(m.ctl("status --json")).get("requests") > 0;
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "the new master's workers to report requests");
            assertTrue(log.contains("upgrade: taking over from master " + m.process.pid() + " with its 1 listeners"), log);
            assertFalse(log.contains("cannot listen"), log);
            System.out.println("upgrade: " + ok + " requests, " + failures.size() + " failed; master " + m.process.pid() + " -> " + successor
                    + ", workers " + old.stream().map(MasterProcess.WorkerInfo::pid).toList() + " -> "
                    + fresh.stream().map(MasterProcess.WorkerInfo::pid).toList());
            Map<String, Object> st = MiniJson.object(m.ctl("status --json"));
            assertEquals("running", st.get("state"));
        } finally {
            killMaster(successor);
        }
    }

    @Test
    void aNewVersionWhoseWorkersCannotStartLeavesTheOldMasterServing() throws Exception {
        long successor = -1;
        try (MasterProcess m = MasterProcess.start("--workers", "1")) {
            int worker = m.awaitReady(1, 1, 60_000).get(0).pid();
            String answer = m.ctl("upgrade --worker-arg --crash-on-start --crash-loop 2/60000 --backoff-ms 20");
            Matcher a = Pattern.compile("upgrading: new master pid (\\d+)\n").matcher(answer);
            assertTrue(a.matches(), answer);
            successor = Long.parseLong(a.group(1));
            long s = successor;
            MasterProcess.await(() -> SupervisionTest.count(m, "upgrade failed: new master pid " + s + " exited (exit code 3)") == 1, 90_000,
                    "the broken new master to give up");
            assertTrue(m.process.isAlive());
            assertEquals(m.process.pid(), masterPid(m));
            assertEquals(worker, m.awaitReady(1, 1, 10_000).get(0).pid());
            for (int i = 0; i < 20; i++) assertTrue(complete200(MasterProcess.get(m.port, "/")));
            assertTrue(m.ctl("upgrade --no-such-option").startsWith("error: unknown option --no-such-option"));
            assertTrue(m.ctl("upgrade --jar /nonexistent/knot.jar").startsWith("error: --jar: no such file"));
            assertNotEquals(-1, successor);
            // USR2 starts an upgrade too; this one is cut short, and the old master serves on.
            MasterProcess.kill((int) m.process.pid(), Processes.SIGUSR2);
            Pattern started = Pattern.compile("SIGUSR2: upgrade.*?upgrading: new master pid (\\d+)", Pattern.DOTALL);
            MasterProcess.await(() -> {
                try {
                    return started.matcher(m.logText()).find();
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "USR2 to start an upgrade");
            Matcher u = started.matcher(m.logText());
            assertTrue(u.find());
            long second = Long.parseLong(u.group(1));
            killMaster(second);
            MasterProcess.await(() -> SupervisionTest.count(m, "upgrade failed: new master pid " + second + " exited (killed by signal 9)") == 1,
                    10_000, "the cut upgrade to be noticed");
            assertEquals(m.process.pid(), masterPid(m));
            assertTrue(complete200(MasterProcess.get(m.port, "/")));
        } finally {
            killMaster(successor);
        }
    }
}
