// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The control-socket command parser ({@link Command#parse}, the master's entry point for every line it is sent) on
 * arbitrary text: a command or a {@link Command.BadCommand} with a message, never another exception.
 */
class CommandFuzzTest {
    static void check(String line) {
        try {
            Command c = Command.parse(line);
            assertTrue(c.verb() != null && !c.verb().isEmpty());
            if (c.verb().equals("scale")) assertTrue(c.count() >= 0 && c.count() <= 1024, "count " + c.count());
        } catch (Command.BadCommand refused) {
            assertTrue(refused.getMessage() != null && !refused.getMessage().isEmpty());
        }
    }

    @FuzzTest(maxDuration = "10s")
    void fuzz(byte[] data) {
        check(new String(data, StandardCharsets.UTF_8));
    }

    static final String[] WORDS = {"status", "workers", "reload", "restart", "stop", "scale", "upgrade", "--json", "--fast",
        "--phased", "--fats", "4", "-1", "99999999999", "1025", "", " ", "\t", "\n", "\u0000", "é", "--jar", "x"};

    @Test
    void randomLinesOfCommandWordsAreParsedOrRefused() {
        Random rnd = new Random(5);
        for (int i = 0; i < 50_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int w = rnd.nextInt(5); w >= 0; w--) {
                b.append(rnd.nextInt(8) == 0 ? Character.toString(rnd.nextInt(0x3000)) : WORDS[rnd.nextInt(WORDS.length)]);
                b.append(rnd.nextInt(4) == 0 ? "\t" : " ");
            }
            check(b.toString());
        }
    }
}
