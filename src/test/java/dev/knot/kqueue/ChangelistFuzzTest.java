// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.knot.testing.Posix;

import java.nio.ByteBuffer;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Random changelists on a real kqueue (Knot's emulation on Linux): any filter, flags, fflags, data and udata, on a
 * socketpair, a pipe, timers, user events, signals, processes and descriptors that are not open. kevent must
 * answer with events, EV_ERROR receipts or a {@link KqueueException}: never another exception, an Error, a hang
 * (each call polls), or a descriptor left open after close.
 */
class ChangelistFuzzTest {
    static int[] pair, pipe;

    @BeforeAll
    static void open() throws Exception {
        pair = Posix.socketpair();
        pipe = Posix.pipe();
        Posix.write(pair[1], new byte[] {1, 2, 3});
        dev.knot.testing.ChildJvm.warmUp();
        try (Kqueue kq = Kqueue.open()) {
            kq.kevent(null, 0, null, 0, 0);               // load what the first kqueue loads
        }
    }

    @AfterAll
    static void close() {
        for (int fd : new int[] {pair[0], pair[1], pipe[0], pipe[1]}) Posix.rawClose(fd);
    }

    static final int[] FILTERS = {Kevent.EVFILT_READ, Kevent.EVFILT_WRITE, Kevent.EVFILT_TIMER, Kevent.EVFILT_USER,
        Kevent.EVFILT_SIGNAL, Kevent.EVFILT_PROC, Kevent.EVFILT_VNODE, 0, -100, 7};

    static long ident(int choice, int filter) {
        return switch (choice & 7) {
            case 0 -> pair[0];
            case 1 -> pair[1];
            case 2 -> pipe[0];
            case 3 -> pipe[1];
            case 4 -> 900 + (choice >>> 3) % 50;                 // not open
            case 5 -> filter == Kevent.EVFILT_PROC ? ProcessHandle.current().pid() : (choice >>> 3) % 8;
            case 6 -> filter == Kevent.EVFILT_SIGNAL ? 10 + (choice >>> 3) % 3 : (choice >>> 3);
            default -> -1 - (choice >>> 3);
        };
    }

    /** Applies the changes encoded in {@code data} (12 bytes each) on a fresh kqueue, in one or several calls. */
    static void check(byte[] data) throws Exception {
        // Counted per input: Jazzer attaches its agent (two jars in /tmp, a socket) only before the first fuzz input.
        int baseline = Posix.openFdCount();
        ByteBuffer b = ByteBuffer.wrap(data);
        try (Kqueue kq = Kqueue.open(); KeventArray changes = KeventArray.allocate(16); KeventArray events = KeventArray.allocate(32)) {
            while (b.remaining() >= 12) {
                int n = 0;
                while (n < 16 && b.remaining() >= 12) {
                    int filter = FILTERS[Math.floorMod(b.get(), FILTERS.length)];
                    long ident = ident(b.get() & 0xff, filter);
                    int flags = b.getShort() & 0xffff;
                    int fflags = b.getInt();
                    // Short timer periods and data, so the calls never wait long and nothing floods.
                    long d = filter == Kevent.EVFILT_TIMER ? Math.max(1, Math.floorMod(b.getInt(), 50)) : b.getInt();
                    try {
                        changes.set(n++, ident, filter, flags, fflags, d, n);
                    } catch (IllegalArgumentException refusedByTheFlyweight) {
                        n--;
                    }
                }
                try {
                    int r = kq.kevent(changes, n, events, 32, 0);
                    assertTrue(r >= 0 && r <= 32, "kevent returned " + r);
                } catch (KqueueException expected) {
                    // EBADF, EINVAL, ENOENT...: the errno of a changelist kevent(2) refuses
                }
            }
        } catch (KqueueException openFailed) {
            throw new AssertionError("kqueue open failed", openFailed);
        }
        int now = Posix.openFdCount();
        if (now != baseline) throw new AssertionError("descriptors leaked: " + baseline + " before, " + now + " now: " + openDescriptors());
    }

    private static String openDescriptors() {
        StringBuilder sb = new StringBuilder();
        try (var s = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            for (var p : s.sorted().toList()) {
                try {
                    sb.append(p.getFileName()).append("->").append(java.nio.file.Files.readSymbolicLink(p)).append(' ');
                } catch (java.io.IOException gone) {
                    // the listing's own descriptor
                }
            }
        } catch (java.io.IOException e) {
            sb.append(e);
        }
        return sb.toString();
    }

    @FuzzTest(maxDuration = "10s")
    void fuzz(byte[] data) throws Exception {
        check(data);
    }

    @Test
    void randomChangelistsNeverThrowAnythingButKqueueExceptionNorLeak() throws Exception {
        Random rnd = new Random(21);
        for (int i = 0; i < 1_500; i++) {
            byte[] d = new byte[12 * (1 + rnd.nextInt(24))];
            rnd.nextBytes(d);
            // Mostly well-formed flags: EV_ADD/DELETE/ENABLE/DISABLE/ONESHOT/CLEAR/RECEIPT/DISPATCH, sometimes garbage.
            for (int off = 0; off + 12 <= d.length; off += 12) {
                if (rnd.nextInt(4) != 0) {
                    int flags = 0;
                    int[] bits = {Kevent.EV_ADD, Kevent.EV_DELETE, Kevent.EV_ENABLE, Kevent.EV_DISABLE, Kevent.EV_ONESHOT,
                        Kevent.EV_CLEAR, Kevent.EV_RECEIPT, Kevent.EV_DISPATCH};
                    for (int bit : bits) if (rnd.nextInt(3) == 0) flags |= bit;
                    d[off + 2] = (byte) (flags >>> 8);
                    d[off + 3] = (byte) flags;
                }
            }
            check(d);
        }
    }
}
