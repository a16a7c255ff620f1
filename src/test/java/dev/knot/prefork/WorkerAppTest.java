// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.testing.ChildJvm;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The user's app in real worker JVMs: compiled at test time into a temporary directory, loaded with --app/--classpath. */
@Timeout(120)
class WorkerAppTest {
    @Test
    void anAppCompiledOutsideKnotServesFromTwoWorkersAndAReloadServesItsNewVersion() throws Exception {
        try (AppSources app = new AppSources().compile(Map.of("t.Greeter", AppSources.greeter("t.Greeter", "v1")));
             MasterProcess m = MasterProcess.start("--workers", "2", "--app", "t.Greeter", "--classpath", app.dir.toString(),
                     "--app-arg", "alpha", "--app-arg", "two words")) {
            m.awaitReady(2, 1, 30_000);
            Set<String> slots = new HashSet<>();
            for (int i = 0; i < 40 && slots.size() < 2; i++) {
                String line = AppSources.line(m.port);
                assertTrue(line.matches("v1 slot [12] args \\[alpha, two words\\]"), line);
                slots.add(line.split(" ")[2]);
            }
            assertTrue(m.logText().contains("app t.Greeter from [" + app.dir + "]"), m.logText());

            app.compile(Map.of("t.Greeter", AppSources.greeter("t.Greeter", "v2")));       // same class, new answer
            assertTrue(m.ctl("reload").startsWith("reloading: generation 2"));
            m.awaitReady(2, 2, 30_000);
            for (int i = 0; i < 10; i++) {
                String line = AppSources.line(m.port);
                assertTrue(line.startsWith("v2 slot "), "after the reload: " + line);
            }
        }
    }

    @Test
    void anAppWhoseStartThrowsHaltsTheMasterWithTheAppsExceptionInItsLog() throws Exception {
        String thrower = """
            package t;
            public class Thrower implements dev.knot.prefork.WorkerApp {
                public void start(dev.knot.prefork.WorkerContext ctx) {
                    throw new IllegalStateException("the database is not there");
                }
            }
            """;
        try (AppSources app = new AppSources().compile(Map.of("t.Thrower", thrower));
             MasterProcess m = MasterProcess.start("--workers", "1", "--app", "t.Thrower", "--classpath", app.dir.toString(),
                     "--crash-loop", "3/60000", "--backoff-ms", "50")) {
            assertTrue(m.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the master did not halt:\n" + m.logText());
            assertEquals(3, m.process.exitValue(), m.logText());
            String log = m.logText();
            assertTrue(log.contains("app t.Thrower failed to start: java.lang.IllegalStateException: the database is not there"), log);
            assertTrue(log.contains("t.Thrower.start(Thrower.java:4)"), log);
            assertTrue(log.contains("halted: workers fail to boot"), log);
            assertTrue(!log.contains(") ready"), log);
        }
    }

    @Test
    void anAppThatBlocksItsLoopIsKilledWhenItsHeartbeatsStop() throws Exception {
        String blocker = """
            package t;
            public class Blocker implements dev.knot.prefork.WorkerApp {
                public void start(dev.knot.prefork.WorkerContext ctx) {
                    ctx.loop().schedule(() -> {
                        while (true) Thread.onSpinWait();
                    }, 300, java.util.concurrent.TimeUnit.MILLISECONDS);
                }
            }
            """;
        try (AppSources app = new AppSources().compile(Map.of("t.Blocker", blocker));
             MasterProcess m = MasterProcess.start("--workers", "1", "--app", "t.Blocker", "--classpath", app.dir.toString(),
                     "--heartbeat-timeout-ms", "1500")) {
            int pid = m.awaitReady(1, 1, 30_000).get(0).pid();
            m.seenWorkers.add(pid);
            MasterProcess.await(() -> {
                try {
                    return m.logText().contains("worker 1 (pid " + pid + ") silent for");
                } catch (Exception e) {
                    return false;
                }
            }, 20_000, "the master to kill the blocked worker");
            MasterProcess.await(() -> {
                try {
                    return m.logText().contains("pid " + pid + ") exited: killed by signal 9");
                } catch (Exception e) {
                    return false;
                }
            }, 10_000, "the master to reap the blocked worker");
            assertTrue(!MasterProcess.alive(pid));
        }
    }

    @Test
    void badAppsAreRefusedByTheMasterWithOneLineAndExitStatus64() throws Exception {
        String notAnApp = "package t; public class NotAnApp { }";
        String noCtor = """
            package t;
            public class NoCtor implements dev.knot.prefork.WorkerApp {
                public NoCtor(String s) { }
                public void start(dev.knot.prefork.WorkerContext ctx) { }
            }
            """;
        try (AppSources app = new AppSources().compile(Map.of("t.NotAnApp", notAnApp, "t.NoCtor", noCtor))) {
            String cp = app.dir.toString();
            Path missing = app.dir.resolve("no-such.jar");
            assertRefused(List.of("--app", "t.NoCtor", "--classpath", cp + ":" + missing), "knot: --classpath entry " + missing + " does not exist");
            assertRefused(List.of("--app", "t.Nope", "--classpath", cp), "knot: app class t.Nope not found on the class path " + cp);
            assertRefused(List.of("--app", "t.NotAnApp", "--classpath", cp), "knot: app class t.NotAnApp does not implement dev.knot.prefork.WorkerApp");
            assertRefused(List.of("--app", "t.NoCtor", "--classpath", cp), "knot: app class t.NoCtor has no public no-arg constructor");
            assertRefused(List.of("--app"), "knot: --app needs a value");
        }
    }

    private static void assertRefused(List<String> options, String message) throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory("knot-ctl");
        try {
            List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0", "--control-dir", dir.toString()));
            args.addAll(options);
            long t0 = System.nanoTime();
            var r = ChildJvm.run(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1"),
                    "dev.knot.prefork.Master", args.toArray(String[]::new)), 30);
            assertEquals(64, r.exit(), r.stderr());
            assertTrue(r.stderr().lines().anyMatch(l -> l.equals(message)), "expected the line '" + message + "' in:\n" + r.stderr());
            assertTrue(!r.stderr().contains("spawned worker"), r.stderr());
            System.out.println(options + " refused in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } finally {
            AppSources.delete(dir);
        }
    }
}
