// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.knot.testing.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A listener whose process runs out of descriptors stays readable (the connections wait in its queue), so a naive
 * accept loop spins. {@link ListenSocket#acceptAll} pauses instead, reports it, and resumes. Runs in a child JVM
 * ({@link AcceptPauseChild}), whose descriptor limit is lowered with prlimit(1): a JVM out of descriptors cannot
 * load classes from a directory, and must not be the one running the other tests.
 */
@Timeout(90)
class AcceptPauseTest {
    @Test
    void runningOutOfDescriptorsPausesAcceptingThenResumes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "needs prlimit(1) to lower the child's descriptor limit");
        ChildJvm.Result r = ChildJvm.run(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED"),
                AcceptPauseChild.class.getName()), 60);
        String out = r.stdout();
        assertEquals(0, r.exit(), out + r.stderr());
        assertTrue(out.contains("paused: EMFILE"), out);
        var iterations = java.util.regex.Pattern.compile("iterations while out of descriptors: (\\d+) in 300 ms").matcher(out);
        assertTrue(iterations.find(), out);
        assertTrue(Long.parseLong(iterations.group(1)) < 50, "the loop spun while out of descriptors: " + out);
        var accepted = java.util.regex.Pattern.compile("accepted before the pause: (\\d+) of (\\d+)").matcher(out);
        assertTrue(accepted.find(), out);
        assertTrue(Integer.parseInt(accepted.group(1)) < Integer.parseInt(accepted.group(2)), out);
        assertTrue(out.contains("resumed: all accepted"), out);
    }
}
