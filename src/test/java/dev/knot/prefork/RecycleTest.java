// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.complete200;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Worker recycling after a number of requests, under load, with real worker JVMs. */
@Timeout(180)
class RecycleTest {
    /** One request on its own connection; a generous read timeout, since a loaded machine boots JVMs slowly. */
    static String get(int port) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    static List<Long> numbers(String log, Pattern p) {
        List<Long> out = new ArrayList<>();
        Matcher m = p.matcher(log);
        while (m.find()) out.add(Long.parseLong(m.group(1)));
        return out;
    }

    @Test
    void maxRequestsWithJitterRecyclesEveryWorkerBetweenTheLimitsWithNoFailedRequest() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "2", "--max-requests", "100", "--max-requests-jitter", "20")) {
            m.awaitReady(2, 1, 60_000);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                clients.add(Thread.ofPlatform().start(() -> {
                    while (running.get()) {
                        try {
                            String r = get(m.port);
                            if (complete200(r)) ok.incrementAndGet();
                            else failures.add(r);
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                }));
            }
            Pattern recycled = Pattern.compile("exited: exit code 0, after (\\d+) requests \\(recycle\\)");
            MasterProcess.await(() -> {
                try {
                    return numbers(m.logText(), recycled).size() >= 6;
                } catch (Exception e) {
                    return false;
                }
            }, 150_000, "six recycled workers");
            running.set(false);
            for (Thread t : clients) t.join(70_000);
            String log = m.logText();
            List<Long> served = numbers(log, recycled);
            List<Long> limits = numbers(log, Pattern.compile("max (\\d+) requests"));
            assertEquals(List.of(), failures, log);
            for (long n : served) assertTrue(n >= 100 && n <= 120, "a worker recycled after " + n + " requests: " + served + "\n" + log);
            for (long n : limits) assertTrue(n >= 100 && n <= 120, "a limit of " + n + ": " + limits);
            assertTrue(limits.stream().distinct().count() > 1, "jitter spreads the limits: " + limits);
            assertTrue(m.process.isAlive());
            // Per worker: its limit and what it served (exact with one request per connection).
            java.util.Map<String, String> pairs = new java.util.LinkedHashMap<>();
            Matcher spawned = Pattern.compile("pid (\\d+), \\d+ registrations copied, max (\\d+) requests").matcher(log);
            while (spawned.find()) pairs.put(spawned.group(1), spawned.group(2));
            StringBuilder sb = new StringBuilder();
            Matcher exit = Pattern.compile("\\(pid (\\d+)\\) exited: exit code 0, after (\\d+) requests \\(recycle\\)").matcher(log);
            while (exit.find()) sb.append(' ').append(pairs.get(exit.group(1))).append("->").append(exit.group(2));
            System.out.println(ok + " requests, " + failures.size() + " failed; recycled (limit->served):" + sb);
        }
    }

    @Test
    void aWorkerAboveTheMemoryLimitIsReplacedAndDrainsOnlyOnceTheReplacementIsReady() throws Exception {
        // 1 MiB: every JVM is above it, so the first worker is replaced within a second of its first PSS reading.
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--max-worker-memory", "1")) {
            int first = m.awaitReady(1, 1, 60_000).get(0).pid();
            MasterProcess.await(() -> !MasterProcess.alive(first), 60_000, "the first worker to be replaced");
            String log = m.logText();
            Matcher r = Pattern.compile("replacing worker 1 \\(pid " + first + "\\): PSS (\\d+) MiB over the limit of 1 MiB").matcher(log);
            assertTrue(r.find(), log);
            Matcher next = Pattern.compile("spawned worker 1 \\(generation 1, pid (\\d+), [^)]*replacing pid " + first + "\\)").matcher(log);
            assertTrue(next.find(), log);
            int ready = log.indexOf("worker 1 (pid " + next.group(1) + ") ready");
            int exited = log.indexOf("(pid " + first + ") exited");
            assertTrue(ready > 0 && exited > ready, "the replacement is ready before the old worker leaves:\n" + log);
            assertTrue(log.substring(exited).startsWith("(pid " + first + ") exited: exit code 0"), log);
            assertTrue(complete200(MasterProcess.get(m.port, "/")));
        }
    }
}
