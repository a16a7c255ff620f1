// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.EV_EOF;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.freebsd.event_h.NOTE_CHILD;
import static dev.knot.bindings.freebsd.event_h.NOTE_EXEC;
import static dev.knot.bindings.freebsd.event_h.NOTE_EXIT;
import static dev.knot.bindings.freebsd.event_h.NOTE_FORK;
import static dev.knot.bindings.freebsd.event_h.NOTE_TRACK;
import static dev.knot.bindings.freebsd.event_h.NOTE_TRACKERR;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLLONESHOT;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_DEL;
import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.errno_h.ESRCH;

import dev.knot.bindings.linux.poll_h;
import dev.knot.bindings.linux.siginfo_t;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.bindings.linux.wait_h;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * EVFILT_PROC through pidfds: pidfd_open(2) on the pid, watched in the kqueue's epoll. When it becomes readable the
 * process has exited; with NOTE_EXIT the knote fires once (EV_EOF|EV_ONESHOT) with the wait(2) status in data,
 * read with waitid(P_PIDFD, WNOWAIT) so that the child stays waitable for its owner. NOTE_FORK, NOTE_EXEC and
 * NOTE_TRACK come from the kernel's process-events connector ({@link ProcEvents}) where this process may join it
 * (CAP_NET_ADMIN); elsewhere they are accepted and never reported. NOTE_TRACK registers a knote for each new child
 * of a tracked process, with the tracking knote's fflags and udata, which reports NOTE_CHILD with the parent's pid
 * in data at once (or NOTE_TRACKERR on the parent's knote when the child cannot be watched); unlike FreeBSD, which
 * uses two knotes for the child, the child's later events come on that same knote, after its NOTE_CHILD has been
 * collected (an exit is held back until then, so NOTE_CHILD and NOTE_EXIT never share an event).
 */
final class ProcFilter extends Filter {
    ProcFilter() {
        super(false, false);
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        if (kn.ident <= 0 || kn.ident > Integer.MAX_VALUE) return ESRCH;
        long fd = unistd_h.syscall(s.callState, unistd_h.SYS_pidfd_open, kn.ident, 0);
        if (fd < 0) {
            int e = s.errno();
            return e == EINVAL ? ESRCH : e;
        }
        kn.pidfd = (int) fd;
        if ((kn.sfflags & NOTE_EXIT) == 0 && exited(kn.pidfd, kq, s)) {
            // FreeBSD finds a zombie only when NOTE_EXIT is asked for.
            close(kn, s);
            return ESRCH;
        }
        kn.flags |= EV_CLEAR;
        int e = kq.ctl(kq.epfd, EPOLL_CTL_ADD, kn.pidfd, EPOLLIN | EPOLLONESHOT, EpollKqueue.token(kn), s);
        if (e != 0) {
            close(kn, s);
            return e;
        }
        // Without the connector (no CAP_NET_ADMIN) the knote still works, for NOTE_EXIT: the documented fallback.
        if ((kn.sfflags & ProcEvents.WANTS) != 0) kq.procEvents.join(s);
        return 0;
    }

    /** The process forked {@code child} (filt_proc with NOTE_FORK, and knote_fork's NOTE_TRACK). */
    void forked(EpollKqueue kq, Knote kn, int child, Scratch s) {
        if ((kn.sfflags & NOTE_TRACK) != 0 && !track(kq, kn, child, s)) kn.fflags |= NOTE_TRACKERR;
        if ((kn.sfflags & NOTE_FORK) != 0) kn.fflags |= NOTE_FORK;
        if (kn.fflags != 0) kq.activate(kn, true);
    }

    /** The process called exec. */
    void execed(EpollKqueue kq, Knote kn) {
        if ((kn.sfflags & NOTE_EXEC) == 0) return;
        kn.fflags |= NOTE_EXEC;
        kq.activate(kn, true);
    }

    /** NOTE_TRACK: a knote for the new child, reporting NOTE_CHILD with the parent's pid; false if it cannot be. */
    private boolean track(EpollKqueue kq, Knote parent, int child, Scratch s) {
        if (kq.table.procs.get(child) != null) return true;          // already watched here
        Knote kn = kq.table.alloc();
        kn.ident = child;
        kn.filter = parent.filter;
        kn.fop = this;
        kn.sfflags = parent.sfflags;
        kn.flags = parent.flags;
        kn.udata = parent.udata;
        kn.ext0 = parent.ext0; kn.ext1 = parent.ext1; kn.ext2 = parent.ext2; kn.ext3 = parent.ext3;
        kq.table.index(kn);
        if (attach(kq, kn, s) != 0) {
            kq.table.unindex(kn);
            kq.table.free(kn);
            return false;
        }
        kq.liveKnotes++;
        kn.fflags = NOTE_CHILD;
        kn.data = parent.ident;
        kq.activate(kn, true);
        return true;
    }

    private static boolean exited(int pidfd, EpollKqueue kq, Scratch s) {
        int p = Sys.poll(kq, pidfd, poll_h.POLLIN, s);
        return p > 0 && (p & poll_h.POLLIN) != 0;
    }

    private static void close(Knote kn, Scratch s) {
        unistd_h.close(s.callState, kn.pidfd);
        kn.pidfd = -1;
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        if (kn.pidfd >= 0) {
            kq.ctl(kq.epfd, EPOLL_CTL_DEL, kn.pidfd, 0, 0, s);
            close(kn, s);
        }
        return 0;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        return kn.fflags != 0;
    }

    /** The pidfd became readable: the process exited (filt_proc with NOTE_EXIT). */
    void exited(EpollKqueue kq, Knote kn, Scratch s) {
        if ((kn.fflags & NOTE_CHILD) != 0 && !kn.isDisabled()) {
            // NOTE_CHILD and NOTE_EXIT both use data: hold the exit back until NOTE_CHILD is collected (the pidfd
            // stays readable, so re-arming it brings the exit back at the next kevent). A disabled knote would
            // hold it back forever, so there the two merge.
            kq.ctl(kq.epfd, dev.knot.bindings.linux.epoll_h.EPOLL_CTL_MOD, kn.pidfd, EPOLLIN | EPOLLONESHOT, EpollKqueue.token(kn), s);
            return;
        }
        if ((kn.sfflags & NOTE_EXIT) != 0) {
            kn.fflags |= NOTE_EXIT;
            kn.data = status(kn, s);
        } else if (kn.fflags == 0) {
            kq.drop(kn, s);                             // EV_DROP: nothing the user asked for happened
            return;
        }
        kn.flags |= EV_EOF | EV_ONESHOT;
        kq.activate(kn, true);
    }

    /** The exit status in wait(2) form, for a child from waitid(WNOWAIT), for others from /proc if still there. */
    private static long status(Knote kn, Scratch s) {
        siginfo_t.si_pid(s.siginfo, 0);
        int r = wait_h.waitid(s.callState, wait_h.P_PIDFD, kn.pidfd, s.siginfo,
                wait_h.WEXITED | wait_h.WNOHANG | wait_h.WNOWAIT);
        if (r == 0 && siginfo_t.si_pid(s.siginfo) != 0) {
            int code = siginfo_t.si_code(s.siginfo);
            int st = siginfo_t.si_status(s.siginfo);
            if (code == wait_h.CLD_EXITED) return (long) (st & wait_h.W_EXITSTATUS_MASK) * wait_h.W_EXITCODE_RET_UNIT;
            if (code == wait_h.CLD_KILLED) return (long) st * wait_h.W_EXITCODE_SIG_UNIT;
            if (code == wait_h.CLD_DUMPED) return (long) st * wait_h.W_EXITCODE_SIG_UNIT | wait_h.WCOREFLAG;
        }
        return procExitCode(kn.ident);
    }

    /** Field 52 of /proc/PID/stat is the exit status in waitpid(2) form while the process is a zombie. */
    private static long procExitCode(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return f.length > 49 ? Long.parseLong(f[49].trim()) : 0;
        } catch (IOException | RuntimeException e) {
            return 0;                                        // already reaped by its parent: status unknown
        }
    }
}
