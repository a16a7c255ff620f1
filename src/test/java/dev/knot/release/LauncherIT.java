// SPDX-License-Identifier: Apache-2.0
package dev.knot.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.knot.testing.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The built jar's launcher: an old Java gets one clear line, a supported one gets Knot. */
class LauncherIT {
    private static final Path JAR = Path.of(System.getProperty("knot.jar", "target/knot.jar"));

    @Test
    void java17GetsOneClearLineAndAFailingExit() throws Exception {
        Optional<Path> java17 = jdk(17);
        assumeTrue(java17.isPresent(), "no JDK 17 under /usr/lib/jvm (or $KNOT_JVM_DIRS) to run the jar with");
        ChildJvm.Result r = ChildJvm.run(List.of(java17.get().resolve("bin/java").toString(), "-jar", JAR.toString()), 60);
        assertNotEquals(0, r.exit(), "exit status");
        assertEquals("", r.stdout());
        assertEquals("Knot needs Java 25 or newer; this is 17\n", r.stderr());
    }

    @Test
    void aSupportedJavaRunsMainThroughTheLauncher() throws Exception {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            assertEquals("dev.knot.Launcher", jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        ChildJvm.Result r = ChildJvm.run(List.of(ChildJvm.java(), "-jar", JAR.toString(), "--help"), 60);
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stdout().contains("--workers"), r.stdout());
    }

    /** A JDK of that feature release, from its {@code release} file, as scripts/lib/jdk.sh finds them. */
    static Optional<Path> jdk(int feature) throws IOException {
        String dirs = System.getenv().getOrDefault("KNOT_JVM_DIRS", "/usr/lib/jvm");
        Path root = Path.of(dirs);
        if (!Files.isDirectory(root)) return Optional.empty();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(d -> Files.isExecutable(d.resolve("bin/java")))
                    .filter(d -> feature(d) == feature)
                    .sorted()
                    .findFirst();
        }
    }

    private static int feature(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=\"")) {
                    String v = line.substring("JAVA_VERSION=\"".length());
                    int end = 0;
                    while (end < v.length() && Character.isDigit(v.charAt(end))) end++;
                    return end == 0 ? -1 : Integer.parseInt(v.substring(0, end));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
