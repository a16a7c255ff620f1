// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;

import dev.knot.bindings.linux.inotify_event;
import dev.knot.bindings.linux.inotify_h;
import dev.knot.bindings.linux.unistd_h;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * The kqueue's inotify instance, created on first use, for EVFILT_VNODE and for READ knotes on regular files. A
 * watch is added on {@code /proc/self/fd/N}, which follows the descriptor to its inode even after the file was
 * unlinked. One inode has one watch, so the knotes watching it are chained. Guarded by the kqueue's lock.
 */
final class Inotify {
    private final EpollKqueue kq;
    private final LongMap<Knote> byWd = new LongMap<>();
    private int fd = -1;

    Inotify(EpollKqueue kq) {
        this.kq = kq;
    }

    /** Adds {@code mask} to the watch on the knote's inode; returns 0 or an errno. */
    int watch(Knote kn, int mask, Scratch s) {
        if (fd < 0) {
            int f = inotify_h.inotify_init1(s.callState, inotify_h.IN_NONBLOCK | inotify_h.IN_CLOEXEC);
            if (f < 0) return s.errno();
            int e = kq.ctl(kq.epfd, EPOLL_CTL_ADD, f, EPOLLIN, EpollKqueue.T_INOTIFY, s);
            if (e != 0) {
                unistd_h.close(s.callState, f);
                return e;
            }
            fd = f;
        }
        byte[] path = ("/proc/self/fd/" + kn.fd + "\0").getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(path, 0, s.path, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, path.length);
        int wd = inotify_h.inotify_add_watch(s.callState, fd, s.path, mask | inotify_h.IN_MASK_ADD);
        if (wd < 0) return s.errno();
        if (kn.wd == wd) return 0;
        if (kn.wd >= 0) unwatch(kn, s);
        kn.wd = wd;
        kn.wdNext = byWd.get(wd);
        byWd.put(wd, kn);
        return 0;
    }

    void unwatch(Knote kn, Scratch s) {
        int wd = kn.wd;
        if (wd < 0) return;
        Knote head = byWd.get(wd);
        if (head == kn) {
            if (kn.wdNext == null) {
                byWd.remove(wd);
                inotify_h.inotify_rm_watch(s.callState, fd, wd);
            } else {
                byWd.put(wd, kn.wdNext);
            }
        } else {
            for (Knote p = head; p != null; p = p.wdNext) {
                if (p.wdNext == kn) {
                    p.wdNext = kn.wdNext;
                    break;
                }
            }
        }
        kn.wd = -1;
        kn.wdNext = null;
    }

    /** Reads every queued inotify event and hands each to the knotes watching its inode. */
    void read(Scratch s) {
        MemorySegment buf = s.inotifyBuf;
        while (true) {
            long n = unistd_h.read(s.callState, fd, buf, buf.byteSize());
            if (n <= 0) return;
            long off = 0;
            while (off + inotify_event.SIZEOF <= n) {
                MemorySegment ev = buf.asSlice(off);
                int wd = inotify_event.wd(ev);
                int mask = inotify_event.mask(ev);
                off += inotify_event.SIZEOF + Integer.toUnsignedLong(inotify_event.len(ev));
                if ((mask & inotify_h.IN_IGNORED) != 0) {
                    // The inode is gone (or the watch was removed): its knotes will hear nothing more.
                    for (Knote kn = byWd.get(wd); kn != null; kn = kn.wdNext) kn.wd = -1;
                    byWd.remove(wd);
                    continue;
                }
                Knote kn = byWd.get(wd);
                while (kn != null) {
                    Knote next = kn.wdNext;
                    // A knote dropped by an earlier one's handling (same descriptor closed behind our back) is skipped.
                    if (kn.wd == wd && kn.fop != null) kn.fop.inotify(kq, kn, mask, s);
                    kn = next;
                }
            }
        }
    }

    void registerIn(int ep, Scratch s) {
        if (fd >= 0) kq.ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, EpollKqueue.T_INOTIFY, s);
    }

    void close(Scratch s) {
        if (fd >= 0) unistd_h.close(s.callState, fd);
        fd = -1;
    }
}
