// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.alive;
import static dev.knot.prefork.MasterProcess.complete200;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.signal_h;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Phased restart, staggered start and the JSON stats, with real master and worker JVMs. */
@Timeout(180)
class LifecycleTest {
    @Test
    void aPhasedRestartUnderLoadFailsNoRequestAndNeverHasFewerThanNMinusOneReady() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "3")) {
            List<MasterProcess.WorkerInfo> old = m.awaitReady(3, 1, 60_000);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger(), samples = new AtomicInteger(), minReady = new AtomicInteger(Integer.MAX_VALUE);
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread client = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        String r = RecycleTest.get(m.port);
                        if (complete200(r)) ok.incrementAndGet();
                        else failures.add(r);
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            });
            Thread sampler = Thread.ofPlatform().start(() -> {
                while (running.get()) {
                    try {
                        minReady.accumulateAndGet(SupervisionTest.readyCount(m), Math::min);
                        samples.incrementAndGet();
                        Thread.sleep(10);
                    } catch (Exception e) {
                        minReady.set(-1);
                        return;
                    }
                }
            });
            assertEquals("phased restart: generation 2\n", m.ctl("restart --phased"));
            assertTrue(m.ctl("restart --phased").startsWith("error: a phased restart needs a running master"), "one at a time");
            MasterProcess.await(() -> SupervisionTest.count(m, "phased restart complete: generation 2") == 1, 120_000, "the phased restart");
            for (MasterProcess.WorkerInfo x : old) MasterProcess.await(() -> !alive(x.pid()), 30_000, "old worker " + x.pid() + " to leave");
            running.set(false);
            client.join(70_000);
            sampler.join(10_000);
            String log = m.logText();
            assertEquals(List.of(), failures, log);
            assertTrue(samples.get() >= 50, "only " + samples + " samples");
            assertTrue(minReady.get() >= 2, "sampled ready fell to " + minReady + "\n" + log);
            m.awaitReady(3, 2, 30_000);
            // One slot at a time: each replacement is spawned only after the previous one was ready.
            List<Integer> order = new ArrayList<>();
            Matcher r = Pattern.compile("replacing worker (\\d) \\(pid \\d+\\): phased restart").matcher(log);
            while (r.find()) order.add(Integer.parseInt(r.group(1)));
            assertEquals(List.of(1, 2, 3), order, log);
            System.out.println("phased restart: " + ok + " requests, 0 failed, " + samples + " samples, min ready " + minReady + "/3");
        }
    }

    @Test
    void startConcurrencyStartsAtMostKWorkersAtATime() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "3", "--start-concurrency", "1")) {
            m.awaitReady(3, 1, 90_000);
            String log = m.logText();
            int starting = 0, max = 0;
            Matcher e = Pattern.compile("knot-master\\[\\d+\\]: (spawned worker|worker \\d \\(pid \\d+\\) ready)").matcher(log);
            int events = 0;
            while (e.find()) {
                starting += e.group(1).startsWith("spawned") ? 1 : -1;
                max = Math.max(max, starting);
                events++;
            }
            assertEquals(6, events, log);
            assertEquals(1, max, "workers starting at once:\n" + log);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void workersAndStatusAsJsonCarryEveryFigure() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2")) {
            List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 60_000);
            int victim = w.get(0).pid();
            MasterProcess.kill(victim, signal_h.SIGKILL);
            MasterProcess.await(() -> {
                try {
                    return m.workers().stream().noneMatch(x -> x.pid() == victim);
                } catch (Exception e) {
                    return false;
                }
            }, 30_000, "the master to see the kill");
            m.awaitReady(2, 1, 60_000);
            for (int i = 0; i < 30; i++) assertTrue(complete200(MasterProcess.get(m.port, "/")));
            // Heartbeats (200 ms) carry the requests; PSS is read once a second.
            MasterProcess.await(() -> {
                try {
                    List<Object> ws = (List<Object>) MiniJson.object(m.ctl("workers --json")).get("workers");
                    return ws.stream().mapToLong(x -> (Long) ((Map<String, Object>) x).get("requests")).sum() == 30
                            && ws.stream().allMatch(x -> (Long) ((Map<String, Object>) x).get("pss_kb") > 0);
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "30 requests and PSS in the JSON stats");
            Map<String, Object> doc = MiniJson.object(m.ctl("workers --json"));
            List<Object> workers = (List<Object>) doc.get("workers");
            assertEquals(2, workers.size());
            boolean sawRestart = false;
            for (Object o : workers) {
                Map<String, Object> x = (Map<String, Object>) o;
                for (String k : List.of("pid", "slot", "generation", "uptime_ms", "requests", "connections", "pss_kb", "gc_count", "gc_ms",
                        "loop_lag_us", "restarts", "max_requests", "heartbeat_age_ms")) {
                    assertInstanceOf(Long.class, x.get(k), k + " in " + x);
                    assertTrue((Long) x.get(k) >= 0, k + " in " + x);
                }
                assertEquals("ready", x.get("state"));
                assertTrue(alive(((Long) x.get("pid")).intValue()));
                assertTrue(x.containsKey("last_restart_reason"));
                if ((Long) x.get("restarts") == 1) {
                    sawRestart = true;
                    assertEquals("crashed: killed by signal 9", x.get("last_restart_reason"));
                } else {
                    assertEquals(0L, x.get("restarts"));
                    assertEquals(null, x.get("last_restart_reason"));
                }
            }
            assertTrue(sawRestart, doc.toString());
            Map<String, Object> st = MiniJson.object(m.ctl("status --json"));
            assertEquals(m.process.pid(), st.get("master_pid"));
            assertEquals("running", st.get("state"));
            assertEquals(2L, st.get("workers_ready"));
            assertEquals(2L, st.get("workers_target"));
            assertEquals(30L, st.get("requests"));
            List<Object> ls = (List<Object>) st.get("listeners");
            assertEquals("/127.0.0.1:" + m.port, ((Map<String, Object>) ls.get(0)).get("address"));
            assertFalse(m.ctl("workers --jsn").startsWith("{"));
        }
    }
}
