// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.NOTE_ATTRIB;
import static dev.knot.bindings.freebsd.event_h.NOTE_CLOSE;
import static dev.knot.bindings.freebsd.event_h.NOTE_CLOSE_WRITE;
import static dev.knot.bindings.freebsd.event_h.NOTE_DELETE;
import static dev.knot.bindings.freebsd.event_h.NOTE_EXTEND;
import static dev.knot.bindings.freebsd.event_h.NOTE_LINK;
import static dev.knot.bindings.freebsd.event_h.NOTE_OPEN;
import static dev.knot.bindings.freebsd.event_h.NOTE_READ;
import static dev.knot.bindings.freebsd.event_h.NOTE_RENAME;
import static dev.knot.bindings.freebsd.event_h.NOTE_WRITE;
import static dev.knot.bindings.linux.errno_h.EBADF;
import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.inotify_h.IN_ACCESS;
import static dev.knot.bindings.linux.inotify_h.IN_ATTRIB;
import static dev.knot.bindings.linux.inotify_h.IN_CLOSE_NOWRITE;
import static dev.knot.bindings.linux.inotify_h.IN_CLOSE_WRITE;
import static dev.knot.bindings.linux.inotify_h.IN_CREATE;
import static dev.knot.bindings.linux.inotify_h.IN_DELETE;
import static dev.knot.bindings.linux.inotify_h.IN_DELETE_SELF;
import static dev.knot.bindings.linux.inotify_h.IN_ISDIR;
import static dev.knot.bindings.linux.inotify_h.IN_MODIFY;
import static dev.knot.bindings.linux.inotify_h.IN_MOVED_FROM;
import static dev.knot.bindings.linux.inotify_h.IN_MOVED_TO;
import static dev.knot.bindings.linux.inotify_h.IN_MOVE_SELF;
import static dev.knot.bindings.linux.inotify_h.IN_OPEN;

import dev.knot.bindings.linux.stat;
import dev.knot.bindings.linux.stat_h;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * EVFILT_VNODE through inotify. inotify reports what happened to an inode; FreeBSD's hints are rebuilt from it with
 * the file's size and link count: IN_MODIFY is NOTE_WRITE, plus NOTE_EXTEND when the size grew; IN_ATTRIB is
 * NOTE_DELETE when a file's link count dropped (unlink of an open file gives no IN_DELETE_SELF until its last
 * close), NOTE_LINK when it rose, NOTE_ATTRIB otherwise; IN_MOVE_SELF is NOTE_RENAME; entries created, removed or
 * renamed in a directory are NOTE_WRITE, with NOTE_LINK for subdirectories and NOTE_EXTEND for renames. As in
 * filt_vfsvnode, when any requested bit is in a hint the whole hint is added to fflags.
 */
final class VnodeFilter extends Filter {
    private static final int BASE_MASK = IN_ATTRIB | IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF;
    private static final int DIR_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

    VnodeFilter() {
        super(true, false);
    }

    private static int mask(Knote kn) {
        int m = BASE_MASK | (kn.directory ? DIR_MASK : 0);
        // Opens, closes and reads are frequent: watch them only when asked.
        if ((kn.sfflags & NOTE_OPEN) != 0) m |= IN_OPEN;
        if ((kn.sfflags & NOTE_CLOSE) != 0) m |= IN_CLOSE_NOWRITE;
        if ((kn.sfflags & NOTE_CLOSE_WRITE) != 0) m |= IN_CLOSE_WRITE;
        if ((kn.sfflags & NOTE_READ) != 0) m |= IN_ACCESS;
        return m;
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        if (stat_h.fstat(s.callState, kn.fd, s.stat) != 0) return s.errno();
        int type = stat.st_mode(s.stat) & stat_h.S_IFMT;
        // Only vnodes have this filter: sockets and anonymous pipes do not (a named FIFO does).
        if (type == stat_h.S_IFSOCK || (type == stat_h.S_IFIFO && anonymousPipe(kn.fd))) return EINVAL;
        kn.directory = type == stat_h.S_IFDIR;
        kn.lastSize = stat.st_size(s.stat);
        kn.lastNlink = stat.st_nlink(s.stat);
        kn.dev = stat.st_dev(s.stat);
        kn.ino = stat.st_ino(s.stat);
        return kq.inotify.watch(kn, mask(kn), s);
    }

    private static boolean anonymousPipe(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("pipe:");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        kq.inotify.unwatch(kn, s);
        return kq.fdOpen(kn.fd, s) ? 0 : EBADF;
    }

    @Override
    int modified(EpollKqueue kq, Knote kn, int changeFlags, Scratch s) {
        if (!kq.fdOpen(kn.fd, s)) return EBADF;
        return kn.wd >= 0 ? kq.inotify.watch(kn, mask(kn), s) : 0;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        return kn.fflags != 0;
    }

    @Override
    void inotify(EpollKqueue kq, Knote kn, int mask, Scratch s) {
        if (stat_h.fstat(s.callState, kn.fd, s.stat) != 0 || stat.st_ino(s.stat) != kn.ino || stat.st_dev(s.stat) != kn.dev) {
            // The number was closed behind Knot's back (and maybe reused): FreeBSD dropped the knote at close(2).
            kn.stale = true;
            kq.fdGone(kn.fd, s);
            return;
        }
        int hint = hint(kn, mask, stat.st_size(s.stat), stat.st_nlink(s.stat));
        if ((kn.sfflags & hint) != 0) {
            kn.fflags |= hint;
            kq.activate(kn, true);
        }
    }

    /**
     * FreeBSD's hint for one inotify event. Size and link count come from fstat after the whole batch happened, so
     * each event compares only the quantity it is about: a write the size, an attribute change the link count.
     */
    private static int hint(Knote kn, int mask, long size, long nlink) {
        int h = 0;
        if ((mask & IN_MODIFY) != 0) {
            h |= NOTE_WRITE;
            if (size > kn.lastSize) h |= NOTE_EXTEND;
            else if (size < kn.lastSize) h |= NOTE_ATTRIB;      // truncation is a setattr on FreeBSD
            kn.lastSize = size;
        }
        if ((mask & IN_ATTRIB) != 0) {
            if (nlink < kn.lastNlink) h |= kn.directory ? NOTE_LINK : NOTE_DELETE;
            else if (nlink > kn.lastNlink) h |= NOTE_LINK;
            else h |= NOTE_ATTRIB;
            kn.lastNlink = nlink;
        }
        if ((mask & IN_DELETE_SELF) != 0) h |= NOTE_DELETE;
        if ((mask & IN_MOVE_SELF) != 0) h |= NOTE_RENAME;
        if ((mask & (IN_CREATE | IN_DELETE)) != 0) {
            h |= NOTE_WRITE;
            if ((mask & IN_ISDIR) != 0) h |= NOTE_LINK;
            kn.lastNlink = nlink;
        }
        if ((mask & (IN_MOVED_FROM | IN_MOVED_TO)) != 0) h |= NOTE_WRITE | NOTE_EXTEND;
        if ((mask & IN_OPEN) != 0) h |= NOTE_OPEN;
        if ((mask & IN_CLOSE_WRITE) != 0) h |= NOTE_CLOSE_WRITE;
        if ((mask & IN_CLOSE_NOWRITE) != 0) h |= NOTE_CLOSE;
        if ((mask & IN_ACCESS) != 0) h |= NOTE_READ;
        return h;
    }
}
