// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.complete200;
import static dev.knot.prefork.MasterProcess.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * --aot-cache: trained once, reused by the next master, trained again when the file does not load. The JVM archives
 * classes from jars only, so the masters run on a jar of Knot's classes; the app is compiled into a directory (it is
 * loaded by the app's own class loader, which the cache does not cover).
 */
@Timeout(600)
class AotCacheTest {
    @Test
    void theMasterTrainsTheCacheOnceReusesItAndRetrainsADamagedOne() throws Exception {
        Path dir = Files.createTempDirectory("knot-aot");
        try (AppSources app = new AppSources().compile(Map.of("t.Greeter", AppSources.greeter("t.Greeter", "aot")))) {
            Path jar = dir.resolve("knot.jar");
            MasterProcess.jar(Path.of(System.getProperty("knot.classes")), jar);
            Path cacheDir = dir.resolve("cache");
            String[] options = {"--app", "t.Greeter", "--classpath", app.dir.toString(), "--aot-cache", cacheDir.toString()};
            Path cache;
            try (MasterProcess m = start(jar, "2", options)) {
                awaitLog(m, "AOT cache: workers start with");
                assertTrue(m.logText().contains("AOT cache: trained in"), m.logText());
                List<MasterProcess.WorkerInfo> w = m.awaitReady(2, 1, 60_000);
                assertTrue(AppSources.line(m.port).startsWith("aot slot "));
                cache = single(cacheDir);
                for (MasterProcess.WorkerInfo x : w) {
                    String cmdline = Files.readString(Path.of("/proc/" + x.pid() + "/cmdline")).replace('\0', ' ');
                    assertTrue(cmdline.contains("-XX:AOTCache=" + cache), cmdline);
                }
            }
            try (MasterProcess m = start(jar, "1", options)) {
                awaitLog(m, "AOT cache: workers start with");
                assertTrue(m.logText().contains("AOT cache: workers start with " + cache), m.logText());
                assertFalse(m.logText().contains("training"), m.logText());
                m.awaitReady(1, 1, 60_000);
                assertTrue(AppSources.line(m.port).startsWith("aot slot "));
            }
            Files.write(cache, new byte[4096]);                          // damaged: not a cache any more
            try (MasterProcess m = start(jar, "1", options)) {
                awaitLog(m, "AOT cache: workers start with");
                assertTrue(m.logText().contains("AOT cache: trained in"), m.logText());
                assertTrue(m.logText().contains("AOT cache: the JVM cannot use " + cache + " ("), m.logText());
                assertTrue(m.logText().contains("training it again"), m.logText());
                m.awaitReady(1, 1, 60_000);
                assertTrue(AppSources.line(m.port).startsWith("aot slot "));
                assertEquals(cache, single(cacheDir));
                assertTrue(Files.size(cache) > 1_000_000, "a real cache again");
            }
        } finally {
            AppSources.delete(dir);
        }
    }

    @Test
    void onAClassPathWithDirectoriesTheMasterSaysSoAndRunsWithoutACache() throws Exception {
        Path dir = Files.createTempDirectory("knot-aot");
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--aot-cache", dir.toString())) {
            awaitLog(m, "workers start without a cache");
            assertTrue(m.logText().contains("AOT cache: the JVM archives classes from jars only, and Knot's class path has the directory "),
                    m.logText());
            m.awaitReady(1, 1, 60_000);
            assertTrue(complete200(get(m.port, "/")));
        } finally {
            AppSources.delete(dir);
        }
    }

    private static MasterProcess start(Path jar, String workers, String... options) throws Exception {
        List<String> o = new java.util.ArrayList<>(List.of("--workers", workers));
        o.addAll(List.of(options));
        return MasterProcess.startMain(jar.toString(), "dev.knot.prefork.Master", List.of(), o.toArray(String[]::new));
    }

    private static Path single(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            List<Path> l = s.toList();
            assertEquals(1, l.size(), l.toString());
            assertTrue(l.get(0).getFileName().toString().matches("knot-[0-9a-f]{24}\\.aot"), l.toString());
            return l.get(0);
        }
    }

    private static void awaitLog(MasterProcess m, String text) throws Exception {
        try {
            MasterProcess.await(() -> {
                try {
                    return m.logText().contains(text) || !m.process.isAlive();
                } catch (Exception e) {
                    return false;
                }
            }, 180_000, "'" + text + "' in the master's log");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + m.logText());
        }
        if (!m.logText().contains(text)) throw new AssertionError("the master exited:\n" + m.logText());
        if (!text.startsWith("control socket ")) awaitLog(m, "control socket ");        // knotctl works from here on
    }
}
