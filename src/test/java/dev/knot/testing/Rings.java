// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import dev.knot.system.Uring;

/**
 * Knot's io_uring rings are pooled for the life of the process and never closed. A loop holds one for its kqueue and
 * another for its connections' batched I/O (a server with its own batch a third): tests that count descriptors open
 * them before counting, so that the pool's growth is not taken for a leak.
 */
public final class Rings {
    private Rings() {}

    /** Makes sure the pool holds at least three idle rings (nothing where io_uring is unavailable). */
    public static void warmPool() {
        if (dev.knot.sys.Platform.CURRENT != dev.knot.sys.Platform.LINUX || !Uring.available()) return;
        Uring[] held = new Uring[3];
        try {
            for (int i = 0; i < held.length; i++) held[i] = Uring.acquire();
        } finally {
            for (Uring r : held) if (r != null) Uring.release(r);
        }
    }
}
