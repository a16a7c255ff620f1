// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The snapshot decoder on arbitrary bytes: a {@link SnapshotException} or a snapshot, never another exception. The
 * seeded test mutates real encodings (whose CRC-32C catches most flips, so it also re-seals some with a valid CRC).
 */
class SnapshotFuzzTest {
    static void check(byte[] data) {
        try {
            Snapshot s = Snapshot.decode(data);
            s.entries().forEach(e -> {
                if (e.isFdKnote() && (e.fdIndex() < 0 || e.fdIndex() >= s.handedFds())) throw new AssertionError("fd index out of range: " + e);
            });
        } catch (SnapshotException expected) {
            // refused with a message: fine
        }
    }

    @FuzzTest(maxDuration = "10s")
    void fuzz(byte[] data) {
        check(data);
    }

    @Test
    void randomMutationsOfRealSnapshotsAreRefusedOrDecoded() {
        Random rnd = new Random(8);
        byte[] token = new byte[16];
        for (int i = 0; i < 5_000; i++) {
            rnd.nextBytes(token);
            int n = rnd.nextInt(5);
            java.util.ArrayList<Snapshot.Entry> entries = new java.util.ArrayList<>();
            for (int j = 0; j < n; j++) {
                entries.add(new Snapshot.Entry(rnd.nextInt(100), -1 - rnd.nextInt(11), 1, 0, rnd.nextInt(1000), rnd.nextLong(), rnd.nextBoolean() ? -1 : 0));
            }
            byte[] b;
            try {
                b = new Snapshot(rnd.nextInt(1 << 20), token, 1, List.copyOf(entries)).encode();
            } catch (RuntimeException invalid) {
                continue;                                  // an entry the encoder itself refuses
            }
            for (int m = rnd.nextInt(4); m >= 0; m--) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            if (rnd.nextInt(3) == 0) b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length + 1));
            check(b);
        }
    }
}
