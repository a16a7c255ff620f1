// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.system.CallState;
import dev.knot.sys.Platform;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * FreeBSD's and macOS's own kqueue(2) and kevent(2), through the generated bindings. Deliberately thin: the
 * argument checks and the lifecycle live in {@link Kqueue}, the layout in {@link KeventArray}.
 *
 * <p>kevent(2) on these kernels does not wake a thread blocked on a kqueue that another thread closes (the
 * blocked call holds its own reference), so every native kqueue carries one private EVFILT_USER knote, with
 * ident {@link #CLOSE_IDENT}, that {@link #wakeAll} triggers.
 *
 * <p>The three calls that differ between the two kernels' bindings are in {@link FreeBsdBackend} and
 * {@link MacosBackend}; which one runs is decided once, by {@link #open}.
 */
abstract sealed class NativeBackend implements Backend permits FreeBsdBackend, MacosBackend {
    /** The EVFILT_USER ident Knot reserves in native kqueues to wake waiters on close. */
    static final long CLOSE_IDENT = 0x4B4E4F54_434C4F53L;   // "KNOTCLOS"

    private static final boolean MACOS = Platform.CURRENT == Platform.MACOS;

    /** kqueue(2) or kqueuex(2) with Kqueue's flags; the descriptor, or -1 with errno in {@code st}. */
    abstract int kqueue(MemorySegment st, int flags);

    /** The platform's kevent(2). */
    abstract int kevent(MemorySegment st, MemorySegment changes, int nchanges, MemorySegment events, int nevents,
            MemorySegment timeout);

    /** close(2) of the kqueue. */
    abstract void closeFd(MemorySegment st);

    int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment wake;              // one kevent that triggers CLOSE_IDENT

    /** The errno capture and timespec of one calling thread. */
    private record CallScratch(MemorySegment state, MemorySegment timeout) {
        static CallScratch allocate() {
            Arena auto = Arena.ofAuto();
            return new CallScratch(CallState.allocate(auto), auto.allocate(16, 8));
        }
    }

    private static final ThreadLocal<CallScratch> SCRATCH = ThreadLocal.withInitial(CallScratch::allocate);

    NativeBackend() {
        this.wake = arena.allocate(KeventArray.SIZEOF, 8);
    }

    static NativeBackend open(int flags) throws KqueueException {
        MemorySegment st = CallState.forThread();
        NativeBackend b = MACOS ? new MacosBackend() : new FreeBsdBackend();
        b.fd = b.kqueue(st, flags);
        if (b.fd < 0) {
            int errno = CallState.errno(st);
            b.arena.close();
            throw new KqueueException(errno, MACOS ? "kqueue" : "kqueuex(0x" + Integer.toHexString(flags) + ")");
        }
        int r = b.userChange(Kevent.EV_ADD | Kevent.EV_CLEAR, 0);
        if (r < 0) {
            b.close();
            throw new KqueueException(-r, "kevent(EV_ADD wake knote)");
        }
        return b;
    }

    /**
     * Wraps a kqueue descriptor this process inherited (FreeBSD's KQUEUE_CPONFORK copy, kept across exec): checks that
     * it is a kqueue (kevent with nothing to do succeeds only on one) and makes sure the close-wake knote is there
     * (the copy normally has the parent's already; EV_ADD on it only modifies).
     */
    static NativeBackend adopt(int fd) throws KqueueException {
        NativeBackend b = MACOS ? new MacosBackend() : new FreeBsdBackend();
        b.fd = fd;
        int r = b.kevent(MemorySegment.NULL, 0, MemorySegment.NULL, 0, 0);
        if (r < 0) {
            b.arena.close();
            throw new KqueueException(-r, "kevent(descriptor " + fd + "): not a kqueue");
        }
        r = b.userChange(Kevent.EV_ADD | Kevent.EV_CLEAR, 0);
        if (r < 0) {
            b.arena.close();
            throw new KqueueException(-r, "kevent(EV_ADD wake knote) on inherited kqueue " + fd);
        }
        return b;
    }

    /** True when kqueuex(KQUEUE_CPONFORK) is accepted, i.e. the kernel copies kqueues into fork children. */
    static boolean probeCopyOnFork() {
        return !MACOS && FreeBsdBackend.probeCopyOnFork();
    }

    private int userChange(int flags, int fflags) {
        MemorySegment k = wake;
        k.fill((byte) 0);
        k.set(java.lang.foreign.ValueLayout.JAVA_LONG, KeventArray.IDENT, CLOSE_IDENT);
        k.set(java.lang.foreign.ValueLayout.JAVA_SHORT, KeventArray.FILTER, (short) Kevent.EVFILT_USER);
        k.set(java.lang.foreign.ValueLayout.JAVA_SHORT, KeventArray.FLAGS, (short) flags);
        k.set(java.lang.foreign.ValueLayout.JAVA_INT, KeventArray.FFLAGS, fflags);
        return kevent(k, 1, MemorySegment.NULL, 0, 0);
    }

    @Override
    public int kevent(MemorySegment changes, int nchanges, MemorySegment events, int nevents, long timeoutNanos) {
        CallScratch scratch = SCRATCH.get();
        MemorySegment st = scratch.state();
        MemorySegment ts = MemorySegment.NULL;
        if (timeoutNanos >= 0) {
            ts = scratch.timeout();
            // Very long timeouts make some kernels return EINVAL: cap the wait at a day, like Netty does.
            long t = Math.min(timeoutNanos, 86_399_000_000_000L);
            ts.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, t / 1_000_000_000L);
            ts.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, t % 1_000_000_000L);
        }
        int r = kevent(st, changes, nchanges, events, nevents, ts);
        return r < 0 ? -CallState.errno(st) : r;
    }

    @Override
    public int fd() {
        return fd;
    }

    @Override
    public void wakeAll() {
        userChange(0, Kevent.NOTE_TRIGGER);
    }

    @Override
    public void close() {
        closeFd(CallState.forThread());
        arena.close();
    }
}
