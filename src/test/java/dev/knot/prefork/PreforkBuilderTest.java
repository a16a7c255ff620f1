// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The embeddable master: a Java program builds and runs the master of its own app. */
@Timeout(120)
class PreforkBuilderTest {
    @Test
    void aProgramIsTheMasterOfItsOwnAppThroughTheBuilder() throws Exception {
        try (MasterProcess m = MasterProcess.startMain(EmbeddedMaster.class.getName(), List.of())) {
            m.awaitReady(2, 1, 30_000);
            for (int i = 0; i < 10; i++) {
                String line = AppSources.line(m.port);
                assertTrue(line.matches("embedded slot [12] args \\[from, the builder\\]"), line);
            }
            assertTrue(m.ctl("status").contains("workers 2/2"));
            assertTrue(m.ctl("stop").startsWith("stopping"));
            assertTrue(m.process.waitFor(30, TimeUnit.SECONDS), m.logText());
            assertEquals(0, m.process.exitValue(), m.logText());
        }
    }

    /** A public WorkerApp without a public no-arg constructor. */
    public static final class NeedsArgument implements WorkerApp {
        public NeedsArgument(int x) {}

        @Override
        public void start(WorkerContext ctx) {}
    }

    @Test
    void listenTakesInetAndUnixAddresses() {
        var b = Prefork.builder().listen(new InetSocketAddress("127.0.0.1", 18000)).listen(new InetSocketAddress("::1", 0))
                .listen(java.net.UnixDomainSocketAddress.of("/tmp/k.sock"));
        assertEquals(List.of("--listen", "127.0.0.1:18000", "--listen", "[0:0:0:0:0:0:0:1]:0", "--listen", "unix:/tmp/k.sock"), b.options());
        assertEquals(3, PreforkConfig.parse(b.options().toArray(String[]::new)).listen().size());
    }

    @Test
    void buildChecksTheAppAndTheSettings() {
        var e = assertThrows(IllegalArgumentException.class, () -> Prefork.builder().app(NeedsArgument.class).build());
        assertEquals("app class " + NeedsArgument.class.getName() + " has no public no-arg constructor", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Prefork.builder().app("no.such.App").build());
        assertTrue(e.getMessage().startsWith("app class no.such.App not found on Knot's class path"), e.getMessage());
        Path missing = Path.of("/nonexistent/knot-app.jar");
        e = assertThrows(IllegalArgumentException.class, () -> Prefork.builder().app("x.App").classpath(missing).build());
        assertEquals("--classpath entry " + missing + " does not exist", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Prefork.builder().workers(-1).build());
        assertTrue(e.getMessage().contains("workers must be in [0, 1024]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Prefork.builder().listen(new InetSocketAddress("127.0.0.1", 0)).options("--bogus").build());
    }
}
