// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The key-value example (dev.knot.examples.kv.KvApp) under a real master, driven over TCP. */
@Timeout(120)
class KvAppTest {
    @Test
    void setGetDelAnswerInOrderAndTheStoreOutlivesTheConnection() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--app", "dev.knot.examples.kv.KvApp", "--app-arg", "max-keys=3")) {
            m.awaitReady(1, 1, 30_000);
            // Pipelined: every command in one write, CRLF and LF mixed.
            assertEquals(List.of("OK", "OK", "VALUE 1", "VALUE hello kv world", "DELETED", "NONE", "NONE",
                            "ERROR unknown command (SET key value, GET key, DEL key)", "ERROR GET takes one key", "OK", "OK", "ERROR full"),
                    talk(m.port, "SET a 1\r\nSET b hello kv world\nGET a\nGET b\nDEL a\nGET a\nDEL a\nBOGUS\nGET\nSET c 3\nSET a again\nSET d 4\n", 12));
            assertEquals(List.of("VALUE hello kv world", "VALUE again"), talk(m.port, "GET b\nGET a\n", 2));
            MasterProcess.await(() -> {
                try {
                    return m.workers().get(0).requests() == 14;
                } catch (Exception e) {
                    return false;
                }
            }, 5000, "the heartbeat to report 14 commands");
        }
    }

    @Test
    void anUnknownAppArgFailsTheWorkersStartWithItsMessage() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--app", "dev.knot.examples.kv.KvApp", "--app-arg", "colour=blue",
                "--crash-loop", "2/60000", "--backoff-ms", "50")) {
            m.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(3, m.process.exitValue(), m.logText());
            org.junit.jupiter.api.Assertions.assertTrue(m.logText().contains(
                    "app dev.knot.examples.kv.KvApp failed to start: java.lang.IllegalArgumentException: KvApp: unknown --app-arg colour=blue"), m.logText());
        }
    }

    private static List<String> talk(int port, String commands, int answers) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(commands.getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            List<String> l = new ArrayList<>();
            for (int i = 0; i < answers; i++) l.add(in.readLine());
            return l;
        }
    }
}
