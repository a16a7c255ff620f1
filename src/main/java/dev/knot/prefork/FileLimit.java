// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.sys.ErrnoException;
import dev.knot.system.OpenFileLimit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The descriptor limit (RLIMIT_NOFILE) of the master and its workers. Each raises its soft limit to the hard one at
 * start: HotSpot on Linux already does so ({@code -XX:+MaxFDLimit}, the default), but not under {@code -XX:-MaxFDLimit}
 * or in a JVM launched some other way, and a worker holding many connections must not stop at a soft 1024. The
 * master reads each worker's limit from {@code /proc/PID/limits} for {@code status}.
 */
final class FileLimit {
    private FileLimit() {}

    /**
     * Raises this process's soft limit to its hard limit and says so when it changed anything.
     *
     * @param who "master" or "worker N", for the log
     * @param log where a change or a failure is told
     * @return the soft limit now in force ({@link #UNLIMITED} for none, which Linux does not allow for descriptors),
     *         or -1 if it cannot be read
     */
    static long raise(String who, Consumer<String> log) {
        try {
            OpenFileLimit.Limits before = OpenFileLimit.get();
            OpenFileLimit.Limits now = OpenFileLimit.raiseToHard();
            if (now.soft() != before.soft()) log.accept(who + ": raised the descriptor limit from " + before + " to " + now);
            return of(now.soft());
        } catch (ErrnoException | RuntimeException e) {
            log.accept(who + ": could not raise the descriptor limit: " + e.getMessage());
            try {
                return of(OpenFileLimit.get().soft());
            } catch (ErrnoException | RuntimeException again) {
                return -1;
            }
        }
    }

    /** The soft "Max open files" of another process: {@link #UNLIMITED} for none, -1 if unknown. */
    static long softOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).strip().split("\\s+")[0];
                    return soft.equals("unlimited") ? UNLIMITED : Long.parseLong(soft);
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            // gone, or not readable
        }
        return -1;
    }

    /** For reports: the number, "unlimited" or "unknown". */
    static String name(long v) {
        return v == UNLIMITED ? "unlimited" : v < 0 ? "unknown" : Long.toString(v);
    }

    /** No limit, in this class's values (RLIM_INFINITY is -1 as a Java long, which here means "unknown"). */
    static final long UNLIMITED = Long.MAX_VALUE;

    private static long of(long rlim) {
        return rlim == OpenFileLimit.UNLIMITED ? UNLIMITED : rlim;
    }
}
