// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's proportional set size from {@code /proc/PID/smaps_rollup}: each page counted divided by the number
 * of processes sharing it, so pages that workers share (the JDK's mapped CDS archive, libraries) are not counted
 * once per worker as RSS counts them.
 */
final class Pss {
    private Pss() {}

    /** PSS in KiB, or -1 if the process is gone or the kernel has no smaps_rollup (Linux before 4.14). */
    static long kilobytes(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    String v = line.substring(4).strip();
                    int sp = v.indexOf(' ');
                    return Long.parseLong(sp < 0 ? v : v.substring(0, sp));
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            // gone, or not readable
        }
        return -1;
    }
}
