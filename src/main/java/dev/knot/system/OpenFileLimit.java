// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.resource_h;
import dev.knot.bindings.linux.rlimit;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * RLIMIT_NOFILE of this process (Linux): how many descriptors it may hold. HotSpot on Linux raises the soft limit to
 * the hard one at start ({@code -XX:+MaxFDLimit}, on by default); a JVM started with {@code -XX:-MaxFDLimit} or
 * embedded differently does not, so a server that holds many connections raises it itself ({@link #raiseToHard}).
 * Values are {@code long}; {@link #UNLIMITED} stands for RLIM_INFINITY.
 */
public final class OpenFileLimit {
    private OpenFileLimit() {}

    /** RLIM_INFINITY: no limit. */
    public static final long UNLIMITED = resource_h.RLIM_INFINITY;

    /** A soft and a hard limit. */
    public record Limits(long soft, long hard) {
        @Override
        public String toString() {
            return name(soft) + "/" + name(hard);
        }

        private static String name(long v) {
            return v == UNLIMITED ? "unlimited" : Long.toString(v);
        }
    }

    /** getrlimit(RLIMIT_NOFILE). @throws ErrnoException if it fails (it does not for this resource) */
    public static Limits get() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(rlimit.LAYOUT);
            MemorySegment st = CallState.forThread();
            if (resource_h.getrlimit(st, resource_h.RLIMIT_NOFILE, r) != 0) {
                throw new ErrnoException("getrlimit(RLIMIT_NOFILE)", CallState.errno(st));
            }
            return new Limits(rlimit.rlim_cur(r), rlimit.rlim_max(r));
        }
    }

    /**
     * Raises the soft limit to the hard one (an unprivileged process may). Does nothing if they are equal.
     *
     * @return the limits now in force
     * @throws ErrnoException if setrlimit fails (EPERM where a hard limit above {@code fs.nr_open} is refused)
     */
    public static Limits raiseToHard() throws ErrnoException {
        Limits l = get();
        if (l.soft() == l.hard()) return l;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(rlimit.LAYOUT);
            rlimit.rlim_cur(r, l.hard());
            rlimit.rlim_max(r, l.hard());
            MemorySegment st = CallState.forThread();
            if (resource_h.setrlimit(st, resource_h.RLIMIT_NOFILE, r) != 0) {
                throw new ErrnoException("setrlimit(RLIMIT_NOFILE, " + l.hard() + ")", CallState.errno(st));
            }
        }
        return get();
    }
}
