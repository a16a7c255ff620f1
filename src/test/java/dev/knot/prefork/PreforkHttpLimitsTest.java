// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.Socket;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP limits reach every prefork worker through the master's command line. */
@Timeout(120)
class PreforkHttpLimitsTest {
    @Test
    void theMastersHttpOptionsAreHandedToItsWorkers() throws Exception {
        AppConfig c = AppConfig.parse(new String[] {"--idle-timeout-ms", "300", "--max-connections", "50"}).app();
        assertEquals(List.of("--idle-timeout-ms", "300", "--max-connections", "50"), c.args());
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--header-timeout-ms", "500")) {
            m.awaitReady(1, 1, 30_000);
            try (Socket s = new Socket("127.0.0.1", m.port)) {
                s.setSoTimeout(15_000);
                long t0 = System.nanoTime();
                InputStream in = s.getInputStream();
                assertEquals(-1, in.read(), "a connection that sends nothing is closed by the worker's header timeout");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 5000, "closed after " + ms + " ms; header timeout 500 ms");
            }
        }
    }
}
