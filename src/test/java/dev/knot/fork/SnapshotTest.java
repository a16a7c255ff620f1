// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

class SnapshotTest {
    static Snapshot sample(int n) {
        List<Snapshot.Entry> e = new ArrayList<>();
        e.add(new Snapshot.Entry(12, EVFILT_READ, EV_ADD, 0, 0, 0x100000001L, 0));
        e.add(new Snapshot.Entry(1, EVFILT_TIMER, EV_CLEAR, 0, 50, 0x100000002L, -1));
        for (int i = 0; i < n; i++) e.add(new Snapshot.Entry(100 + i, EVFILT_USER, EV_CLEAR, 0x42, i, 3 + i, -1));
        byte[] token = new byte[16];
        Arrays.fill(token, (byte) 7);
        return new Snapshot(4242, token, 1, e);
    }

    @Test
    void roundTrips() throws Exception {
        Snapshot s = sample(10);
        Snapshot d = Snapshot.decode(s.encode());
        assertEquals(s.entries(), d.entries());
        assertEquals(4242, d.parentPid());
        assertEquals(1, d.handedFds());
        assertTrue(Arrays.equals(s.token(), d.token()));
    }

    @Test
    void stateRoundTripsAndVersionOneIsStillReadWithoutState() throws Exception {
        List<Snapshot.Entry> e = List.of(
                new Snapshot.Entry(1, EVFILT_TIMER, 0, 0, 200, 9, -1, Snapshot.STATE_CAPTURED | Snapshot.STATE_ACTIVE | Snapshot.STATE_EXPIRY,
                        0, 3, 123_456_789_000L),
                new Snapshot.Entry(7, EVFILT_USER, EV_CLEAR, 0, 0, 10, -1, Snapshot.STATE_CAPTURED | Snapshot.STATE_DISABLED, 0x1234, 99, 0));
        Snapshot s = new Snapshot(1, new byte[16], 0, e);
        assertEquals(e, Snapshot.decode(s.encode()).entries());
        assertEquals(Snapshot.HEADER + 2 * Snapshot.ENTRY + Snapshot.TRAILER, s.encode().length);
        // A version 1 snapshot (what an older parent writes) is read as registrations without state.
        List<Snapshot.Entry> v1 = Snapshot.decode(s.encode(1)).entries();
        assertEquals(2, v1.size());
        assertEquals(new Snapshot.Entry(1, EVFILT_TIMER, 0, 0, 200, 9, -1), v1.get(0));
        assertTrue(v1.stream().noneMatch(Snapshot.Entry::hasState));
        // State bits without STATE_CAPTURED, or unknown ones, are refused.
        List<Snapshot.Entry> bad = List.of(new Snapshot.Entry(7, EVFILT_USER, 0, 0, 0, 0, -1, Snapshot.STATE_ACTIVE, 0, 0, 0));
        assertTrue(refusal(new Snapshot(1, new byte[16], 0, bad).encode()).contains("unknown state bits"));
    }

    private static String refusal(byte[] bytes) {
        return assertThrows(SnapshotException.class, () -> Snapshot.decode(bytes)).getMessage();
    }

    @Test
    void truncatedCorruptForeignAndMalformedSnapshotsAreRefusedWithAReason() {
        byte[] good = sample(3).encode();
        assertTrue(refusal(Arrays.copyOf(good, 10)).contains("truncated"));
        assertTrue(refusal(Arrays.copyOf(good, good.length - 7)).contains("truncated"));
        assertTrue(refusal(null).contains("truncated"));
        byte[] flipped = good.clone();
        flipped[60] ^= 1;
        assertTrue(refusal(flipped).contains("checksum"));
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertTrue(refusal(magic).contains("magic"));
        byte[] version = good.clone();
        version[8] = 3;
        assertTrue(refusal(version).contains("version 3"));
        byte[] longer = Arrays.copyOf(good, good.length + 40);
        assertTrue(refusal(longer).contains("too long"));
        // Entries that pass the checksum but make no sense are refused too (a bug or a hostile writer).
        List<Snapshot.Entry> bad = List.of(new Snapshot.Entry(1, -99, EV_ADD, 0, 0, 0, -1));
        assertTrue(refusal(new Snapshot(1, new byte[16], 0, bad).encode()).contains("unknown filter"));
        List<Snapshot.Entry> fd = List.of(new Snapshot.Entry(5, EVFILT_READ, EV_ADD, 0, 0, 0, 3));
        assertTrue(refusal(new Snapshot(1, new byte[16], 1, fd).encode()).contains("handed descriptor 3 of 1"));
        List<Snapshot.Entry> del = List.of(new Snapshot.Entry(5, EVFILT_USER, dev.knot.kqueue.Kevent.EV_DELETE, 0, 0, 0, -1));
        assertTrue(refusal(new Snapshot(1, new byte[16], 0, del).encode()).contains("not a registration"));
    }
}
