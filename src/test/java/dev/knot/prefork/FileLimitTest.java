// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 14, descriptor limits, with real master and worker JVMs started under a lowered limit: both raise their
 * soft RLIMIT_NOFILE to the hard one even where HotSpot does not ({@code -XX:-MaxFDLimit}), {@code status} reports
 * the limits, and the HTTP example's default connection cap stays below the limit, so a worker that runs out of room
 * closes idle connections instead of failing accept with EMFILE.
 */
@Timeout(180)
class FileLimitTest {
    static long hardLimit() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) return Long.parseLong(line.substring(14).strip().split("\\s+")[1]);
        }
        throw new AssertionError("no Max open files in /proc/self/limits");
    }

    @Test
    void masterAndWorkersRaiseALoweredSoftLimitAndStatusShowsIt() throws Exception {
        long hard = hardLimit();
        // HotSpot itself raises the soft limit on Linux unless told not to: tell it not to, master and worker alike.
        try (MasterProcess m = MasterProcess.start(List.of("ulimit -Sn 256", "export JAVA_TOOL_OPTIONS=-XX:-MaxFDLimit"),
                "--workers", "1", "--worker-jvm-arg", "-XX:-MaxFDLimit")) {
            m.awaitReady(1, 0, 60_000);
            String want = "open files " + hard + " (master), " + hard + " (worker 1)";
            MasterProcess.await(() -> {
                try {
                    return m.ctl("status").contains(want);
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "'" + want + "' in status");
            Map<String, Object> status = MiniJson.object(m.ctl("status --json"));
            assertEquals(hard, status.get("open_files_limit"));
            @SuppressWarnings("unchecked")
            List<Object> workers = (List<Object>) MiniJson.object(m.ctl("workers --json")).get("workers");
            @SuppressWarnings("unchecked")
            Map<String, Object> w = (Map<String, Object>) workers.get(0);
            assertEquals(hard, w.get("open_files_limit"));
            String log = m.logText();
            assertTrue(log.contains("master: raised the descriptor limit from 256/" + hard + " to " + hard + "/" + hard), log);
            // The worker inherits the master's raised limit (its own raise, for a worker started some other way, has
            // nothing to do here).
            assertFalse(log.contains("could not raise"), log);
        }
    }

    @Test
    void theHttpConnectionCapDefaultsBelowTheLimit() throws Exception {
        // Hard and soft 200: nothing to raise. The cap is 200 less a reserve of 64; 180 clients exceed it but not the
        // limit's room, and each is answered: the worker closes the longest-idle ones to make room.
        try (MasterProcess m = MasterProcess.start(List.of("ulimit -n 200"), "--workers", "1")) {
            m.awaitReady(1, 0, 60_000);
            MasterProcess.await(() -> {
                try {
                    return m.ctl("status").contains("open files 200 (master), 200 (worker 1)");
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "the lowered limit in status");
            List<Socket> clients = new ArrayList<>();
            try {
                byte[] get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < 180; i++) {
                    Socket s = new Socket("127.0.0.1", m.port);
                    clients.add(s);
                    s.setSoTimeout(20_000);
                    s.getOutputStream().write(get);
                    assertTrue(readsHello(s.getInputStream()), "client " + i + " was answered");
                }
                int closedByServer = 0;
                for (Socket s : clients) {
                    s.setSoTimeout(1);
                    try {
                        if (s.getInputStream().read() < 0) closedByServer++;
                    } catch (java.net.SocketTimeoutException stillOpen) {
                        // idle and open
                    } catch (java.net.SocketException reset) {
                        closedByServer++;
                    }
                }
                assertTrue(closedByServer >= 180 - (200 - 64), closedByServer + " idle connections closed for room");
            } finally {
                for (Socket s : clients) s.close();
            }
            String log = m.logText();
            assertFalse(log.contains("EMFILE"), log);
        }
    }

    /** Reads one Hello response; false if the connection ended first. */
    static boolean readsHello(InputStream in) throws Exception {
        byte[] want = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
        int matched = 0, b;
        while (matched < want.length && (b = in.read()) >= 0) matched = b == want[matched] ? matched + 1 : (b == want[0] ? 1 : 0);
        return matched == want.length;
    }
}
