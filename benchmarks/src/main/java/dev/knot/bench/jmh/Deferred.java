// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import java.util.ArrayList;
import java.util.List;

/**
 * Releases benchmark resources outside every measured iteration.
 *
 * <p>JMH runs {@code @TearDown(Level.Trial)} on the benchmark thread before it closes the last iteration, so the
 * garbage of closing 512 sockets (about 170 KB) would be counted in that iteration's {@code gc.alloc.rate.norm}.
 * Instead the states register their cleanup here during setup; it runs at the start of the next trial's setup in
 * the same JVM (with {@code -f 0}) or never, when the forked JVM exits and the kernel closes the descriptors.
 */
final class Deferred {
    private Deferred() {}

    private static final List<AutoCloseable> PENDING = new ArrayList<>();

    static synchronized void add(AutoCloseable c) {
        PENDING.add(c);
    }

    /** Closes everything registered so far (outside measurement: called from setups and from non-JMH drivers). */
    static synchronized void closeAll() {
        for (AutoCloseable c : PENDING) {
            try {
                c.close();
            } catch (Exception e) {
                System.err.println("benchmark cleanup: " + e);
            }
        }
        PENDING.clear();
    }
}
