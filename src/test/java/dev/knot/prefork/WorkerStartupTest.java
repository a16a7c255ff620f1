// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.complete200;
import static dev.knot.prefork.MasterProcess.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A worker's start-up diagnostics (-Dknot.worker.marks) and its prelink thread's switch (-Dknot.worker.prelink). */
@Timeout(180)
class WorkerStartupTest {
    private static final List<String> STEPS = List.of("start", "parent", "limit", "inheritance", "loop", "restore", "adopt",
            "loop thread", "app loaded", "app started", "ready sent");

    @Test
    void withMarksOnAWorkerLogsEveryStartUpStepInOrderWithTimesThatAddUp() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--worker-jvm-arg", "-D" + WorkerMain.MARKS_PROPERTY + "=true")) {
            m.awaitReady(1, 1, 120_000);
            assertTrue(complete200(get(m.port, "/")));
            // The worker logs its marks just after it told the master it is ready.
            MasterProcess.await(() -> {
                try {
                    return m.logText().contains("start-up marks");
                } catch (java.io.IOException e) {
                    return false;
                }
            }, 60_000, "the worker's start-up marks in the master's log");
            String log = m.logText();
            Matcher line = Pattern.compile("start-up marks, ms since main: (.*)").matcher(log);
            assertTrue(line.find(), log);
            Matcher step = Pattern.compile("([a-z ]+) (\\d+\\.\\d) \\((\\d+\\.\\d)\\)(, |$)").matcher(line.group(1));
            List<String> names = new java.util.ArrayList<>();
            double sum = 0, last = 0;
            while (step.find()) {
                names.add(step.group(1));
                double delta = Double.parseDouble(step.group(2)), total = Double.parseDouble(step.group(3));
                sum += delta;
                assertTrue(total >= last, line.group(1));
                assertEquals(total, sum, 0.1 * names.size(), line.group(1));       // each rounded to 0.1 ms
                last = total;
            }
            assertEquals(STEPS, names, line.group(1));
        }
    }

    @Test
    void withoutMarksNothingIsLoggedAndWithoutPrelinkAWorkerStillStartsAndServes() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "1", "--worker-jvm-arg", "-D" + WorkerMain.PRELINK_PROPERTY + "=false")) {
            m.awaitReady(1, 1, 120_000);
            assertTrue(complete200(get(m.port, "/")));
            assertFalse(m.logText().contains("start-up marks"), m.logText());
        }
    }
}
