// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.testing.ChildJvm;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The README's run command: the demo prints the three kinds of events, with no restricted-method warning. */
class KqueueDemoTest {
    @Test
    void demoPrintsTimerUserAndReadEventsWithoutWarnings() throws Exception {
        var r = ChildJvm.run(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED"), "dev.knot.examples.KqueueDemo"), 60);
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stdout().contains("EVFILT_TIMER"), r.stdout());
        assertTrue(r.stdout().contains("EVFILT_USER"), r.stdout());
        assertTrue(r.stdout().contains("EVFILT_READ"), r.stdout());
        assertTrue(r.stdout().contains("all three events arrived"), r.stdout());
        assertFalse(r.stderr().contains("WARNING"), "stderr: " + r.stderr());
    }

    @Test
    void withoutNativeAccessTheJdkWarns() throws Exception {
        // Shows that the check above can fail: the flag (or the jar's Enable-Native-Access) is what silences it.
        var r = ChildJvm.run(ChildJvm.command(List.of(), "dev.knot.examples.KqueueDemo"), 60);
        assertTrue(r.stderr().contains("restricted method"), "stderr: " + r.stderr());
    }
}
