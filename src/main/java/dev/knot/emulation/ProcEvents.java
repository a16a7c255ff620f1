// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.NOTE_EXEC;
import static dev.knot.bindings.freebsd.event_h.NOTE_FORK;
import static dev.knot.bindings.freebsd.event_h.NOTE_TRACK;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;

import dev.knot.bindings.linux.cn_msg;
import dev.knot.bindings.linux.cn_proc_h;
import dev.knot.bindings.linux.nlmsghdr;
import dev.knot.bindings.linux.sockaddr_nl;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.system.CallState;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The kernel's process-events connector (netlink, {@code CN_IDX_PROC}), for EVFILT_PROC's NOTE_FORK, NOTE_EXEC and
 * NOTE_TRACK, which pidfds cannot report. One netlink socket per kqueue, joined when the first knote asks for one
 * of them and kept until the kqueue closes, watched in the kqueue's epoll.
 *
 * <p>Who may join: kernels before 6.6 require CAP_NET_ADMIN to bind to the connector's group (later ones let any
 * process listen); every kernel reports pids as the initial pid namespace sees them and ignores requests from other
 * user or pid namespaces, so inside a container's namespaces the connector is not used at all (its pids would name
 * other processes). Where it cannot be used the knote is registered all the same and reports NOTE_EXIT only, which
 * {@link #available()} tells beforehand. The connector reports every process of the machine; only forks and execs
 * of watched pids are looked at, and thread creations (a "fork" whose child is not a new thread group) are ignored.
 * Guarded by the kqueue's lock.
 */
final class ProcEvents {
    /** The fflags that need the connector. */
    static final int WANTS = NOTE_FORK | NOTE_EXEC | NOTE_TRACK;

    private static final long NLMSG_HDR = nlmsghdr.SIZEOF, CN_HDR = cn_msg.SIZEOF;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    private final EpollKqueue kq;
    private int fd = -1;
    private boolean tried;
    /** Why the last join failed (EPERM without CAP_NET_ADMIN), 0 if it did not. */
    int failure;

    ProcEvents(EpollKqueue kq) {
        this.kq = kq;
    }

    /** Joins the connector if this kqueue has not yet; true if it listens. A failure is remembered, not retried. */
    boolean join(Scratch s) {
        if (fd >= 0) return true;
        if (tried) return false;
        tried = true;
        int f = open(s.callState);
        if (f < 0) {
            failure = -f;
            return false;
        }
        int e = kq.ctl(kq.epfd, EPOLL_CTL_ADD, f, EPOLLIN, EpollKqueue.T_PROCCN, s);
        if (e != 0) {
            unistd_h.close(s.callState, f);
            failure = e;
            return false;
        }
        fd = f;
        return true;
    }

    /**
     * The kernel's fixed inode numbers of the initial pid and user namespaces (PROC_PID_INIT_INO, PROC_USER_INIT_INO
     * in include/linux/proc_ns.h, not a uapi header, so not in the bindings).
     */
    private static final String INIT_PID_NS = "pid:[4026531836]", INIT_USER_NS = "user:[4026531837]";

    private static boolean inInitialNamespaces() {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/pid")).toString().equals(INIT_PID_NS)
                    && java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/user")).toString().equals(INIT_USER_NS);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** A netlink socket bound to the connector's process group with PROC_CN_MCAST_LISTEN sent, or -errno. */
    private static int open(MemorySegment st) {
        if (!inInitialNamespaces()) return -dev.knot.bindings.linux.errno_h.EOPNOTSUPP;
        int f = socket_h.socket(st, cn_proc_h.AF_NETLINK, socket_h.SOCK_DGRAM | socket_h.SOCK_NONBLOCK | socket_h.SOCK_CLOEXEC,
                cn_proc_h.NETLINK_CONNECTOR);
        if (f < 0) return -CallState.errno(st);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = sockaddr_nl.allocate(a);
            sockaddr_nl.nl_family(addr, (short) cn_proc_h.AF_NETLINK);
            sockaddr_nl.nl_groups(addr, cn_proc_h.CN_IDX_PROC);
            if (socket_h.bind(st, f, addr, (int) sockaddr_nl.SIZEOF) < 0) return fail(st, f);
            long len = NLMSG_HDR + CN_HDR + 4;
            MemorySegment msg = a.allocate(len, 8);
            nlmsghdr.nlmsg_len(msg, (int) len);
            nlmsghdr.nlmsg_type(msg, (short) cn_proc_h.NLMSG_DONE);
            MemorySegment cn = msg.asSlice(NLMSG_HDR);
            cn.set(INT, cn_proc_h.CN_MSG_ID_IDX_OFFSET, cn_proc_h.CN_IDX_PROC);
            cn.set(INT, cn_proc_h.CN_MSG_ID_VAL_OFFSET, cn_proc_h.CN_VAL_PROC);
            cn_msg.len(cn, (short) 4);
            cn.set(INT, CN_HDR, cn_proc_h.PROC_CN_MCAST_LISTEN);
            if (socket_h.send(st, f, msg, len, 0) < 0) return fail(st, f);
        }
        return f;
    }

    private static int fail(MemorySegment st, int f) {
        int e = CallState.errno(st);
        unistd_h.close(st, f);
        return -e;
    }

    /**
     * {@return true if this process can use the connector now (initial namespaces, and CAP_NET_ADMIN where the
     * kernel asks for it): then NOTE_FORK, NOTE_EXEC and NOTE_TRACK are reported; else only NOTE_EXIT}
     */
    static boolean available() {
        MemorySegment st = CallState.forThread();
        int f = open(st);
        if (f < 0) return false;
        unistd_h.close(st, f);
        return true;
    }

    /** Reads every queued message and hands forks and execs of watched processes to their knotes. */
    void read(Scratch s) {
        if (fd < 0) return;
        MemorySegment buf = s.inotifyBuf;
        while (true) {
            long n = socket_h.recv(s.callState, fd, buf, buf.byteSize(), socket_h.MSG_DONTWAIT);
            if (n <= 0) return;                        // EAGAIN: drained; ENOBUFS: the kernel dropped some, go on
            long off = 0;
            while (off + NLMSG_HDR + CN_HDR + cn_proc_h.PROC_EVENT_SIZE <= n) {
                MemorySegment m = buf.asSlice(off);
                long len = Integer.toUnsignedLong(nlmsghdr.nlmsg_len(m));
                if (len < NLMSG_HDR) break;
                MemorySegment cn = m.asSlice(NLMSG_HDR);
                if (cn.get(INT, cn_proc_h.CN_MSG_ID_IDX_OFFSET) == cn_proc_h.CN_IDX_PROC
                        && cn.get(INT, cn_proc_h.CN_MSG_ID_VAL_OFFSET) == cn_proc_h.CN_VAL_PROC) {
                    event(cn.asSlice(CN_HDR), s);
                }
                off += (len + 3) & ~3L;                  // NLMSG_ALIGN
            }
        }
    }

    private void event(MemorySegment ev, Scratch s) {
        int what = ev.get(INT, cn_proc_h.PROC_EVENT_WHAT_OFFSET);
        if (what == cn_proc_h.PROC_EVENT_FORK) {
            int parent = ev.get(INT, cn_proc_h.PROC_EVENT_FORK_PARENT_TGID_OFFSET);
            int child = ev.get(INT, cn_proc_h.PROC_EVENT_FORK_CHILD_PID_OFFSET);
            int childGroup = ev.get(INT, cn_proc_h.PROC_EVENT_FORK_CHILD_TGID_OFFSET);
            if (child != childGroup) return;             // a new thread, not a new process
            Knote kn = kq.table.procs.get(parent);
            if (kn != null) kq.procFilter.forked(kq, kn, childGroup, s);
        } else if (what == cn_proc_h.PROC_EVENT_EXEC) {
            Knote kn = kq.table.procs.get(ev.get(INT, cn_proc_h.PROC_EVENT_EXEC_PROCESS_TGID_OFFSET));
            if (kn != null) kq.procFilter.execed(kq, kn);
        }
    }

    void registerIn(int ep, Scratch s) {
        if (fd >= 0) kq.ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, EpollKqueue.T_PROCCN, s);
    }

    void close(Scratch s) {
        if (fd >= 0) unistd_h.close(s.callState, fd);
        fd = -1;
    }
}
