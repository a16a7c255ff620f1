// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import dev.knot.bindings.linux.epoll_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.unistd_h;
import static dev.knot.bindings.linux.epoll_h.EPOLLET;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLLONESHOT;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CLOEXEC;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_DEL;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_MOD;
import static dev.knot.emulation.EpollKqueue.T_WAKE;
import static dev.knot.emulation.EpollKqueue.T_WRITESET;
import static dev.knot.emulation.EpollKqueue.token;

import java.lang.foreign.MemorySegment;

/**
 * Sheds epoll registrations that no knote owns by rebuilding the epoll instance they sit in (see
 * {@link #rebuild}). Runs under the kqueue's lock.
 */
final class EpollRebuild {
    private final EpollKqueue kq;

    EpollRebuild(EpollKqueue kq) {
        this.kq = kq;
    }

    /**
     * Replaces an epoll instance that reports registrations no knote owns. Such an orphan appears when a descriptor
     * was closed without Knot's knowledge while a duplicate keeps its file open: epoll keys registrations by (number,
     * file) and drops them only with the file's last descriptor, and no epoll_ctl can reach it any more.
     */
    void rebuild(Scratch s) {
        if (kq.staleWrite) {
            kq.staleWrite = false;
            int nw = epoll_h.epoll_create1(s.callState, EPOLL_CLOEXEC);
            if (nw >= 0) {
                for (FdRecord r : kq.table.fds) {
                    if (r == null) continue;
                    if (r.write != null && !r.write.polled) kq.ctl(nw, EPOLL_CTL_ADD, r.fd, kq.writeFilter.currentEvents(r.write), token(r.write), s);
                    r.writeLingers = false;
                }
                kq.ctl(kq.epfd, EPOLL_CTL_DEL, kq.wepfd, 0, 0, s);
                unistd_h.close(s.callState, kq.wepfd);
                kq.wepfd = nw;
                kq.ctl(kq.epfd, EPOLL_CTL_ADD, kq.wepfd, EPOLLIN, T_WRITESET, s);
                kq.rebuilds++;
            }
        }
        if (kq.staleMain) {
            kq.staleMain = false;
            int nm = epoll_h.epoll_create1(s.callState, EPOLL_CLOEXEC);
            if (nm < 0) return;
            kq.ctl(nm, EPOLL_CTL_ADD, kq.wakefd, EPOLLIN | EPOLLET, T_WAKE, s);
            kq.ctl(nm, EPOLL_CTL_ADD, kq.wepfd, EPOLLIN, T_WRITESET, s);
            kq.timerQueue.registerIn(nm, s);
            kq.inotify.registerIn(nm, s);
            kq.procEvents.registerIn(nm, s);
            for (FdRecord r : kq.table.fds) {
                if (r == null) continue;
                if (r.read != null && !r.read.polled) kq.ctl(nm, EPOLL_CTL_ADD, r.fd, kq.readFilter.currentEvents(r.read), token(r.read), s);
                r.readLingers = false;
            }
            kq.table.procs.forEach(kn -> {
                if (kn.pidfd >= 0) kq.ctl(nm, EPOLL_CTL_ADD, kn.pidfd, EPOLLIN | EPOLLONESHOT, token(kn), s);
            });
            // Threads blocked in the old instance must come back and wait on the new one: make the eventfd
            // level-triggered there (every waiter then sees it) and signal it, then put the new instance in place
            // under the kqueue's own descriptor number.
            kq.ctl(kq.epfd, EPOLL_CTL_MOD, kq.wakefd, EPOLLIN, T_WAKE, s);
            kq.wake();
            unistd_h.dup3(s.callState, nm, kq.epfd, kq.cloexec ? fcntl_h.O_CLOEXEC : 0);
            unistd_h.close(s.callState, nm);
            kq.rebuilds++;
        }
    }
}
