// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.EV_DISPATCH;
import static dev.knot.bindings.freebsd.event_h.EV_EOF;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.freebsd.event_h.NOTE_FILE_POLL;
import static dev.knot.bindings.freebsd.event_h.NOTE_LOWAT;
import static dev.knot.bindings.linux.epoll_h.EPOLLERR;
import static dev.knot.bindings.linux.epoll_h.EPOLLET;
import static dev.knot.bindings.linux.epoll_h.EPOLLHUP;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLLONESHOT;
import static dev.knot.bindings.linux.epoll_h.EPOLLOUT;
import static dev.knot.bindings.linux.epoll_h.EPOLLRDHUP;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_DEL;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_MOD;
import static dev.knot.bindings.linux.errno_h.EBADF;
import static dev.knot.bindings.linux.errno_h.EEXIST;
import static dev.knot.bindings.linux.errno_h.ENOENT;
import static dev.knot.bindings.linux.errno_h.EPERM;
import static dev.knot.bindings.linux.errno_h.EPIPE;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.inotify_h;
import dev.knot.bindings.linux.ioctl_h;
import dev.knot.bindings.linux.poll_h;
import dev.knot.bindings.linux.pollfd;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.stat;
import dev.knot.bindings.linux.stat_h;
import dev.knot.bindings.linux.tcp_h;
import dev.knot.bindings.linux.tcp_info;
import dev.knot.bindings.linux.unistd_h;

import java.lang.foreign.ValueLayout;

/**
 * EVFILT_READ and EVFILT_WRITE on descriptors.
 *
 * <p>Each knote has its own epoll registration: READ in the kqueue's epoll, WRITE in the nested one, so the two
 * filters of a descriptor keep independent modes. The mode follows the knote: level-triggered by default;
 * edge-triggered for EV_CLEAR, and for NOTE_LOWAT, where the threshold is checked here and the knote re-checked
 * from the active queue while it holds; EPOLLONESHOT for EV_ONESHOT and EV_DISPATCH. EV_DISABLE is lazy: the
 * registration is disarmed only if the kernel reports while the knote is disabled. Files epoll cannot watch
 * (regular files, directories, devices) are "polled": evaluated in user space, with an inotify watch to notice
 * growth.
 *
 * <p>{@code data} is computed when the event is returned, as each filter defines it: FIONREAD for streams and
 * pipes, the accept-queue length (TCP_INFO's {@code tcpi_unacked}) for listening TCP sockets, SO_SNDBUF minus
 * SIOCOUTQ for sockets' free send space, F_GETPIPE_SZ minus FIONREAD for pipes. A kqueue whose owner does not need
 * the exact byte count ({@code readDataExact} false) skips the FIONREAD on streams and pipes and reports 1 (0 at EOF);
 * one that does not need the free space ({@code writeDataExact} false) skips SIOCOUTQ and SO_SNDBUF on sockets the
 * same way.
 */
final class FdFilter extends Filter {
    static final int LEVEL = 0, EDGE = 1, ONCE = 2;
    static final int READY = 0, NOT_READY = 1, CLOSED = 2, NOT_CONNECTED = 3;

    // What a descriptor answers for data, learnt from the first calls that work.
    private static final int K_UNKNOWN = 0, K_IOCTL = 1, K_LISTEN_TCP = 2, K_LISTEN_OTHER = 3, K_OTHER = 4,
            K_SOCKET = 5, K_PIPE = 6, K_EVENTFD = 7, K_KQUEUE = 8;

    final boolean write;

    FdFilter(boolean write) {
        super(true, false);
        this.write = write;
    }

    private int ep(EpollKqueue kq) {
        return write ? kq.wepfd : kq.epfd;
    }

    static int modeFor(Knote kn) {
        if ((kn.sfflags & NOTE_LOWAT) != 0 || (kn.flags & EV_CLEAR) != 0) return EDGE;
        if ((kn.flags & (EV_ONESHOT | EV_DISPATCH)) != 0) return ONCE;
        return LEVEL;
    }

    private int armedEvents(Knote kn) {
        // WRITE asks for RDHUP too: only then can a connection that is gone (HUP with RDHUP) be told from a socket
        // that never connected (HUP alone).
        int ev = write ? EPOLLOUT | EPOLLRDHUP : EPOLLIN | EPOLLRDHUP;
        if (kn.parked) return ev | EPOLLET;
        return switch (kn.kmode) {
            case EDGE -> ev | EPOLLET;
            case ONCE -> ev | EPOLLONESHOT;
            default -> ev;
        };
    }

    /** The events a rebuilt epoll instance should register for this knote. */
    int currentEvents(Knote kn) {
        return kn.armed ? armedEvents(kn) : 0;
    }

    /** Whether the kernel registration is edge-triggered (and level semantics are kept in user space). */
    boolean edgeTriggered(Knote kn) {
        return kn.kmode == EDGE && (kn.flags & EV_CLEAR) == 0;
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        FdRecord rec = kn.rec;
        kn.kmode = modeFor(kn);
        if (write) {
            // FreeBSD refuses a WRITE knote on a pipe whose reader is gone.
            int p = Sys.poll(kq, kn.fd, poll_h.POLLOUT, s);
            if (p < 0) return -p;
            if ((p & poll_h.POLLNVAL) != 0) return EBADF;
            if ((p & poll_h.POLLERR) != 0 && Sys.fileType(kn.fd, s) == stat_h.S_IFIFO) return EPIPE;
        }
        int events = kn.isDisabled() ? 0 : armedEvents(kn);
        boolean lingers = write ? rec.writeLingers : rec.readLingers;
        int e = kq.ctlOrDefer(ChangeBatch.ATTACH, ep(kq), lingers ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, kn.fd, events,
                EpollKqueue.token(kn), kn, lingers, s);
        if (write) rec.writeLingers = false; else rec.readLingers = false;
        if (e == ChangeBatch.PENDING) return e;
        return attached(kq, kn, e, events, lingers, s);
    }

    /** The rest of {@link #attach} once its first epoll_ctl returned {@code e}. */
    int attached(EpollKqueue kq, Knote kn, int e, int events, boolean lingers, Scratch s) {
        // A disarmed registration may linger from a oneshot, or be gone when we thought it lingered.
        if (e == EEXIST) e = kq.ctl(ep(kq), EPOLL_CTL_MOD, kn.fd, events, EpollKqueue.token(kn), s);
        else if (e == ENOENT && lingers) e = kq.ctl(ep(kq), EPOLL_CTL_ADD, kn.fd, events, EpollKqueue.token(kn), s);
        if (e == EPERM) return attachPolled(kq, kn, s);
        if (e != 0) return e;
        kn.armed = events != 0;
        return 0;
    }

    /** Regular files, directories and devices: epoll refuses them, so they are evaluated on every scan. */
    private int attachPolled(EpollKqueue kq, Knote kn, Scratch s) {
        kn.polled = true;
        if (stat_h.fstat(s.callState, kn.fd, s.stat) != 0) return s.errno();
        kn.dev = stat.st_dev(s.stat);
        kn.ino = stat.st_ino(s.stat);
        if (!write) {
            int type = stat.st_mode(s.stat) & stat_h.S_IFMT;
            if (type == stat_h.S_IFREG || type == stat_h.S_IFDIR) {
                // Wake a blocked scan when the file changes size, so a knote at EOF fires once the file grows.
                kq.inotify.watch(kn, inotify_h.IN_MODIFY | inotify_h.IN_ATTRIB, s);
            }
        }
        return 0;
    }

    @Override
    boolean evaluatesOnRegister(Knote kn) {
        return kn.polled;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        if (kn.polled) return evaluatePolled(kn, s);
        // A knote re-checked from the active queue (NOTE_LOWAT): ask the kernel for the current state.
        int p = Sys.poll(kq, kn.fd, write ? poll_h.POLLOUT : poll_h.POLLIN | poll_h.POLLRDHUP, s);
        if (p <= 0 || (p & poll_h.POLLNVAL) != 0) return false;
        return evaluate(kq, kn, Sys.pollToEpoll(p), s) == READY;
    }

    private boolean evaluatePolled(Knote kn, Scratch s) {
        // No epoll registration tells us when the number is closed, so check that it still names the same file.
        if (stat_h.fstat(s.callState, kn.fd, s.stat) != 0 || stat.st_ino(s.stat) != kn.ino || stat.st_dev(s.stat) != kn.dev) {
            kn.stale = true;
            return false;
        }
        if (write) {
            kn.data = 0;                                  // FreeBSD: a vnode is always writable, data 0
            return true;
        }
        long data;
        if (ioctl_h.ioctl(s.callState, kn.fd, ioctl_h.FIONREAD, s.intArg) == 0) {
            data = s.intArg.get(ValueLayout.JAVA_INT, 0);  // size - offset, negative past EOF, as FreeBSD reports
        } else {
            long off = unistd_h.lseek(s.callState, kn.fd, 0, unistd_h.SEEK_CUR);
            data = off < 0 ? 0 : stat.st_size(s.stat) - off;
        }
        kn.data = data;
        return data != 0 || (kn.sfflags & NOTE_FILE_POLL) != 0;
    }

    /**
     * Computes data, EV_EOF and fflags from an epoll report and decides whether the filter is true, as
     * filt_soread/filt_sowrite/filt_piperead/filt_pipewrite would.
     */
    int evaluate(EpollKqueue kq, Knote kn, int ev, Scratch s) {
        FdRecord rec = kn.rec;
        if ((ev & EPOLLERR) != 0) Sys.readSocketError(rec, s);
        return write ? evaluateWrite(kq, kn, rec, ev, s) : evaluateRead(kq, kn, rec, ev, s);
    }

    private int evaluateRead(EpollKqueue kq, Knote kn, FdRecord rec, int ev, Scratch s) {
        boolean eof = (ev & (EPOLLRDHUP | EPOLLHUP)) != 0;
        long data;
        if (!kq.readDataExact && rec.readKind == K_IOCTL && (kn.sfflags & NOTE_LOWAT) == 0) {
            // The owner asked for a lower bound (Kqueue.setReadDataExact(false)) to save the FIONREAD: on a stream
            // or pipe, EPOLLIN alone means at least one byte; with EOF or an error there may be none.
            data = (ev & EPOLLIN) != 0 && !eof && (ev & EPOLLERR) == 0 ? 1 : 0;
        } else if (s.inqNext >= 0 && rec.readKind == K_IOCTL) {
            data = s.inqNext;                                 // asked with the scan's other sockets (DataQueries)
        } else {
            data = readData(kn.fd, rec, s);
            if (data == Long.MIN_VALUE) return CLOSED;
        }
        kn.data = data;
        if (eof && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR)) == 0 && isSocket(rec, s)) {
            // HUP alone on a socket: it never connected (or was shut down before it did). FreeBSD's filt_soread has
            // neither data nor CANTRCVMORE there: not ready. It may yet listen() rather than connect, so what its
            // data is must be learnt again.
            rec.readKind = K_UNKNOWN;
            return NOT_CONNECTED;
        }
        if (eof) {
            kn.flags |= EV_EOF;
            kn.fflags = rec.soError;
            return READY;
        }
        kn.flags &= ~EV_EOF;
        if ((kn.sfflags & NOTE_LOWAT) != 0) return data >= kn.sdata ? READY : NOT_READY;
        return (ev & (EPOLLIN | EPOLLERR)) != 0 ? READY : NOT_READY;
    }

    /** Whether READ's data for the descriptor is a FIONREAD that {@link DataQueries} may ask as SIOCINQ. */
    static boolean queriesInq(FdRecord rec) {
        return rec.readKind == K_IOCTL && !rec.inqRefused;
    }

    /** Whether READ has not yet learnt how to compute the descriptor's data (its first event will). */
    static boolean kindUnknown(FdRecord rec) {
        return rec.readKind == K_UNKNOWN;
    }

    /** The descriptor answered SIOCINQ through io_uring with EOPNOTSUPP (AF_UNIX, a pipe): FIONREAD from now on. */
    static void refuseInq(FdRecord rec) {
        rec.inqRefused = true;
    }

    /** EVFILT_READ's data for the descriptor, learning once how to get it; Long.MIN_VALUE if it is closed. */
    private static long readData(int fd, FdRecord rec, Scratch s) {
        switch (rec.readKind) {
            case K_LISTEN_TCP -> {
                long q = Sys.acceptQueue(fd, s);
                if (q >= 0) return q;
                rec.readKind = K_UNKNOWN;                     // no longer a TCP listener: learn again
            }
            case K_LISTEN_OTHER, K_OTHER -> {
                return 1;
            }
            case K_EVENTFD -> {
                return Math.max(1, Sys.eventfdCount(fd));
            }
            case K_KQUEUE -> {
                EpollKqueue other = EpollKqueue.forDescriptor(fd);
                return other == null ? 1 : Math.max(1, other.pending());
            }
            default -> { }
        }
        int readable = Sys.ioctlInt(fd, ioctl_h.FIONREAD, s);
        if (readable >= 0) {
            rec.readKind = K_IOCTL;
            return readable;
        }
        if (s.errno() == EBADF) return Long.MIN_VALUE;
        // FIONREAD fails with EINVAL on listening sockets, whose queue length is in TCP_INFO, and with ENOTTY on
        // eventfds, epoll instances (a nested kqueue) and other special files.
        long q = Sys.acceptQueue(fd, s);
        if (q >= 0) {
            rec.readKind = K_LISTEN_TCP;
            return q;
        }
        if (Sys.isListening(fd, s)) {
            rec.readKind = K_LISTEN_OTHER;                    // AF_UNIX: Linux shows no queue length
            return 1;
        }
        if (EpollKqueue.forDescriptor(fd) != null) {
            rec.readKind = K_KQUEUE;
            return readData(fd, rec, s);
        }
        long count = Sys.eventfdCount(fd);
        if (count >= 0) {
            rec.readKind = K_EVENTFD;
            return Math.max(1, count);
        }
        rec.readKind = K_OTHER;
        return 1;
    }

    private static boolean isSocket(FdRecord rec, Scratch s) {
        if (rec.fileType == 0) rec.fileType = Sys.fileType(rec.fd, s);
        return rec.fileType == stat_h.S_IFSOCK;
    }

    private int evaluateWrite(EpollKqueue kq, Knote kn, FdRecord rec, int ev, Scratch s) {
        long data = 0;
        if (!kq.writeDataExact && rec.writeKind == K_SOCKET && (kn.sfflags & NOTE_LOWAT) == 0) {
            // The owner takes a lower bound (Kqueue.setWriteDataExact(false)): EPOLLOUT alone means room for a byte.
            data = (ev & EPOLLOUT) != 0 && (ev & (EPOLLHUP | EPOLLERR)) == 0 && !rec.sendShut ? 1 : 0;
        } else if (rec.writeKind == K_UNKNOWN || rec.writeKind == K_SOCKET) {
            long queued = Sys.ioctlInt(kn.fd, ioctl_h.SIOCOUTQ, s);
            if (queued >= 0) {
                rec.writeKind = K_SOCKET;
                long sndbuf = Sys.sockOptInt(kn.fd, socket_h.SOL_SOCKET, socket_h.SO_SNDBUF, s);
                data = Math.max(0, sndbuf - queued);
            } else if (s.errno() == EBADF) {
                return CLOSED;
            } else {
                rec.writeKind = K_PIPE;
            }
        }
        if (rec.writeKind == K_PIPE) {
            int size = fcntl_h.fcntl(s.callState, kn.fd, fcntl_h.F_GETPIPE_SZ, 0);
            if (size < 0) {
                // Not a pipe either (an eventfd, a tty...): Linux says EBADF for F_GETPIPE_SZ on those. Data 0.
                rec.writeKind = K_OTHER;
            } else {
                int used = Math.max(0, Sys.ioctlInt(kn.fd, ioctl_h.FIONREAD, s));
                data = Math.max(0, size - used);
            }
        }
        kn.data = data;
        if ((ev & EPOLLHUP) != 0 && (ev & (EPOLLRDHUP | EPOLLERR)) == 0 && rec.writeKind == K_SOCKET) {
            return NOT_CONNECTED;                             // filt_sowrite: not connected, not ready
        }
        boolean eof = (ev & (EPOLLHUP | EPOLLERR)) != 0 || rec.sendShut;
        if (eof) {
            kn.flags |= EV_EOF;
            kn.fflags = rec.soError;
            // filt_pipewrite: when the reader goes, the writer's knote fires once with EV_EOF|EV_ONESHOT and is gone.
            if (rec.writeKind == K_PIPE) kn.flags |= EV_ONESHOT;
            return READY;
        }
        kn.flags &= ~EV_EOF;
        if ((kn.sfflags & NOTE_LOWAT) != 0) return data >= kn.sdata ? READY : NOT_READY;
        return (ev & EPOLLOUT) != 0 ? READY : NOT_READY;
    }

    /**
     * A socket that has not connected: level-triggered, epoll would report it on every wait. Watch it edge-triggered
     * until the connection changes its state; {@link #unpark} restores the knote's own mode.
     */
    void park(EpollKqueue kq, Knote kn, Scratch s) {
        if (kn.parked) return;
        kn.parked = true;
        if (kq.ctl(ep(kq), EPOLL_CTL_MOD, kn.fd, armedEvents(kn), EpollKqueue.token(kn), s) == 0) kn.armed = true;
    }

    void unpark(EpollKqueue kq, Knote kn, Scratch s) {
        if (!kn.parked) return;
        kn.parked = false;
        if (kq.ctl(ep(kq), EPOLL_CTL_MOD, kn.fd, kn.isDisabled() ? 0 : armedEvents(kn), EpollKqueue.token(kn), s) == 0) {
            kn.armed = !kn.isDisabled();
        }
    }

    /** An epoll report the filter found false: a oneshot registration must be armed again. */
    void notReady(EpollKqueue kq, Knote kn, Scratch s) {
        if (kn.kmode == ONCE && !kn.armed && kq.ctl(ep(kq), EPOLL_CTL_MOD, kn.fd, armedEvents(kn), EpollKqueue.token(kn), s) == 0) {
            kn.armed = true;
        }
    }

    /** The kernel reported a disabled knote: now stop it reporting. */
    void disarm(EpollKqueue kq, Knote kn, Scratch s) {
        if (!kn.armed) return;
        kn.armed = false;
        if (kn.kmode != ONCE) kq.ctl(ep(kq), EPOLL_CTL_MOD, kn.fd, 0, EpollKqueue.token(kn), s);
    }

    /** Every report of an EPOLLONESHOT registration disarms it in the kernel. */
    void reported(Knote kn) {
        if (kn.kmode == ONCE && !kn.parked) kn.armed = false;
    }

    @Override
    int modified(EpollKqueue kq, Knote kn, int changeFlags, Scratch s) {
        if (kn.polled) return kq.fdOpen(kn.fd, s) ? 0 : EBADF;
        int mode = modeFor(kn);
        boolean enabled = !kn.isDisabled();
        // A level registration still armed needs nothing; edge and oneshot ones are re-armed so that a condition
        // that already holds is reported, as FreeBSD re-runs the filter. EV_ADD always asks the kernel, which also
        // tells us whether the number still names the file we registered.
        boolean mod = (changeFlags & dev.knot.bindings.freebsd.event_h.EV_ADD) != 0 || mode != kn.kmode
                || (enabled && (!kn.armed || mode != LEVEL));
        if (!mod) return 0;
        kn.kmode = mode;
        int events = enabled ? armedEvents(kn) : 0;
        int e = kq.ctlOrDefer(ChangeBatch.MODIFY, ep(kq), EPOLL_CTL_MOD, kn.fd, events, EpollKqueue.token(kn), kn, true, s);
        if (e == ChangeBatch.PENDING) return e;
        return modifiedDone(kn, e, events);
    }

    /** The rest of {@link #modified} once its epoll_ctl returned {@code e}. */
    static int modifiedDone(Knote kn, int e, int events) {
        if (e == ENOENT) return EpollKqueue.STALE;
        if (e != 0) return e;
        kn.armed = events != 0;
        return 0;
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        int r = 0;
        FdRecord rec = kn.rec;
        if (kn.polled) {
            kq.inotify.unwatch(kn, s);
            if (!kq.fdOpen(kn.fd, s)) r = EBADF;
        } else if ((kn.flags & EV_ONESHOT) != 0 && kn.kmode == ONCE && !kn.armed) {
            // A oneshot that fired: EPOLLONESHOT disarmed it; keep the registration (no syscall), re-add with MOD.
            if (write) rec.writeLingers = true; else rec.readLingers = true;
        } else {
            int e = kq.ctlOrDefer(ChangeBatch.DETACH, ep(kq), EPOLL_CTL_DEL, kn.fd, 0, 0, null, true, s);
            r = e == ChangeBatch.PENDING ? e : detached(e);
        }
        return r;
    }

    /** What EV_DELETE reports once the EPOLL_CTL_DEL of {@link #detach} returned {@code e}. */
    static int detached(int e) {
        return e == EBADF || e == ENOENT ? e : 0;
    }

    @Override
    void inotify(EpollKqueue kq, Knote kn, int mask, Scratch s) {
        kq.activate(kn, true);                         // a polled file changed: re-evaluate on this scan
    }
}
