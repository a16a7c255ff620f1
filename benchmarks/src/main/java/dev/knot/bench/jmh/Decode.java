// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import dev.knot.kqueue.KeventArray;

import org.openjdk.jmh.infra.Blackhole;

/** The decode half of a batch op, shared by the batch benchmarks so that both decode exactly alike. */
final class Decode {
    private Decode() {
    }

    /** Reads every field a caller of kevent(2) looks at from the first {@code n} events; returns {@code n}. */
    static int all(KeventArray ev, int n, Blackhole bh) {
        for (int i = 0; i < n; i++) {
            bh.consume(ev.ident(i));
            bh.consume(ev.filter(i));
            bh.consume(ev.flags(i));
            bh.consume(ev.fflags(i));
            bh.consume(ev.data(i));
            bh.consume(ev.udata(i));
        }
        return n;
    }
}
