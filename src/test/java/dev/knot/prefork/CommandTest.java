// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Control-socket command parsing: every unknown word or extra argument is refused with a message. */
class CommandTest {
    @Test
    void knownCommandsParse() {
        assertEquals("status", Command.parse("status").verb());
        assertTrue(Command.parse("  workers   --json ").has("--json"));
        assertTrue(Command.parse("stop --fast").has("--fast"));
        assertEquals(3, Command.parse("scale 3").count());
        assertTrue(Command.parse("restart --phased").has("--phased"));
        assertEquals(List.of("--jar", "/x.jar"), Command.parse("upgrade --jar /x.jar").args());
    }

    @Test
    void typosAndExtraWordsAreErrorsNotDefaults() {
        String m = assertThrows(Command.BadCommand.class, () -> Command.parse("stop --fats")).getMessage();
        assertTrue(m.contains("'--fats'") && m.contains("--fast"), m);
        for (String bad : new String[] {"", "bogus", "status now", "status --json --json", "reload now", "restart", "restart --phase",
                "scale", "scale 1 2", "scale x", "scale -1", "scale 1025", "stop --fast --fast", "workers -j"}) {
            assertThrows(Command.BadCommand.class, () -> Command.parse(bad), "'" + bad + "' should be refused");
        }
    }
}
