// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.system.Fds;
import dev.knot.testing.ChildJvm;
import dev.knot.testing.Posix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs {@link dev.knot.testing.CopyProbe} as a real child JVM through the Spawner and parses what it printed. */
final class CopyChild {
    private CopyChild() {}

    static List<String> probe(String mode) {
        return ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-XX:TieredStopAtLevel=1"),
                "dev.knot.testing.CopyProbe", mode);
    }

    /** Spawns the probe with the handoff, waits for it and returns its key=value lines; its output file is deleted. */
    static Map<String, String> run(String mode, Handoff h) throws Exception {
        Path out = Files.createTempFile("knot-copy", ".out");
        try {
            int fd = Posix.open(out.toString(), fcntl_h.O_WRONLY | fcntl_h.O_TRUNC);
            int pid;
            try {
                Map<String, String> env = new HashMap<>(h.environment());
                env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
                pid = Spawner.spawn(new Spawner.Spec(probe(mode), env, h.fds(), new int[] {0, fd, fd}, null, h.keepsNumbers()));
            } finally {
                Fds.close(fd);
            }
            int status = Spawner.reap(pid, true);
            String text = Files.readString(out);
            assertEquals(0, Spawner.exitCode(status), "child exit status " + status + ": " + text);
            Map<String, String> m = new HashMap<>();
            for (String l : text.split("\n")) {
                int eq = l.indexOf('=');
                if (eq > 0) m.put(l.substring(0, eq), l.substring(eq + 1));
            }
            m.put("_output", text);
            return m;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
