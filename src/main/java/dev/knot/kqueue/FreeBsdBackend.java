// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.bindings.freebsd.event_h;
import dev.knot.bindings.freebsd.unistd_h;
import dev.knot.system.CallState;

import java.lang.foreign.MemorySegment;

/** FreeBSD's kqueuex(2), kevent(2) and close(2) under {@link NativeBackend}. */
final class FreeBsdBackend extends NativeBackend {
    @Override
    int kqueue(MemorySegment st, int flags) {
        return event_h.kqueuex(st, flags);
    }

    @Override
    int kevent(MemorySegment st, MemorySegment changes, int nchanges, MemorySegment events, int nevents,
            MemorySegment timeout) {
        return event_h.kevent(st, fd, changes, nchanges, events, nevents, timeout);
    }

    @Override
    void closeFd(MemorySegment st) {
        unistd_h.close(st, fd);
    }

    /** True when kqueuex(KQUEUE_CPONFORK) is accepted, i.e. the kernel copies kqueues into fork children. */
    static boolean probeCopyOnFork() {
        MemorySegment st = CallState.forThread();
        try {
            int fd = event_h.kqueuex(st, Kqueue.CLOEXEC | Kqueue.CPONFORK);
            if (fd < 0) return false;
            unistd_h.close(st, fd);
            return true;
        } catch (UnsatisfiedLinkError noKqueuex) {
            return false;
        }
    }
}
