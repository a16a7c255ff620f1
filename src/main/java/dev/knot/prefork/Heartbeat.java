// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * A worker's heartbeat line: {@code hb REQUESTS CONNECTIONS GC_COUNT GC_MILLIS LOOP_LAG_MICROS}. GC figures are the
 * sums over the JVM's collectors since start; the loop lag is how much later than its period this heartbeat ran
 * (a loop busy with long handlers shows it here before the master's heartbeat timeout fires). Loop thread.
 */
final class Heartbeat {
    private final long periodNanos;
    private final List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans();
    private long last = System.nanoTime();

    Heartbeat(long periodMillis) {
        this.periodNanos = periodMillis * 1_000_000L;
    }

    String line(long requests, long connections) {
        long now = System.nanoTime();
        long lag = Math.max(0, now - last - periodNanos);
        last = now;
        long count = 0, millis = 0;
        for (GarbageCollectorMXBean gc : collectors) {
            count += Math.max(0, gc.getCollectionCount());
            millis += Math.max(0, gc.getCollectionTime());
        }
        return "hb " + requests + " " + connections + " " + count + " " + millis + " " + lag / 1000;
    }
}
