// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.bindings.macos.event_h;
import dev.knot.bindings.macos.fcntl_h;
import dev.knot.bindings.macos.unistd_h;

import java.lang.foreign.MemorySegment;

/** macOS's kqueue(2) (no kqueuex: close-on-exec is set with fcntl), kevent(2) and close(2) under {@link NativeBackend}. */
final class MacosBackend extends NativeBackend {
    @Override
    int kqueue(MemorySegment st, int flags) {
        int fd = event_h.kqueue(st);
        if (fd >= 0 && (flags & Kqueue.CLOEXEC) != 0) fcntl_h.fcntl(st, fd, fcntl_h.F_SETFD, fcntl_h.FD_CLOEXEC);
        return fd;
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
}
