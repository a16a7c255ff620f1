// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import dev.knot.bindings.linux.epoll_h;
import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.ioctl_h;
import dev.knot.bindings.linux.poll_h;
import dev.knot.bindings.linux.pollfd;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.stat;
import dev.knot.bindings.linux.stat_h;
import dev.knot.bindings.linux.tcp_h;
import dev.knot.bindings.linux.tcp_info;
import dev.knot.system.SocketErrors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Small system-call helpers of the emulation, each using the caller's {@link Scratch}. */
final class Sys {
    private Sys() {}

    // The per-event data queries (FIONREAD, SIOCOUTQ, SO_SNDBUF, SO_ERROR) never block, so they go through the
    // bindings' critical variants (spec flag critical): no thread-state change, no errno capture, no session of the
    // argument segments to acquire and release. On KeventFdBatchBench (64 FIONREAD per op) that took 2.2% (N=1) to
    // 5.6% (N=256) off the op, medians of 20 iterations in interleaved forks. Only a call that fails is made again
    // through the errno-capturing static final handle (inlined with the scan), to learn why; both queries are
    // idempotent, and a failed one changed nothing.
    private static final MethodHandle IOCTL = ioctl_h.ioctl$handle();
    private static final MethodHandle GETSOCKOPT = socket_h.getsockopt$handle();

    /** ioctl(fd, request, &int): the int, or -1 with errno in the scratch. */
    static int ioctlInt(int fd, long request, Scratch s) {
        if (ioctl_h.ioctl$critical(fd, request, s.intArgAddress) == 0) return s.intArg.get(ValueLayout.JAVA_INT, 0);
        int r;
        try {
            r = (int) IOCTL.invokeExact(s.callState, fd, request, s.intArg);
        } catch (Throwable t) {
            throw new AssertionError("knot: downcall ioctl failed", t);
        }
        return r == 0 ? s.intArg.get(ValueLayout.JAVA_INT, 0) : -1;
    }

    /** poll(2) one descriptor without waiting: the revents, 0 if nothing, or -errno. */
    static int poll(EpollKqueue kq, int fd, int events, Scratch s) {
        pollfd.fd(s.pollfd, fd);
        pollfd.events(s.pollfd, (short) events);
        pollfd.revents(s.pollfd, (short) 0);
        int r = poll_h.poll(s.callState, s.pollfd, 1, 0);
        if (r < 0) return -s.errno();
        return r == 0 ? 0 : Short.toUnsignedInt(pollfd.revents(s.pollfd));
    }

    /** poll(2) revents as epoll event bits. */
    static int pollToEpoll(int revents) {
        int ev = 0;
        if ((revents & poll_h.POLLIN) != 0) ev |= epoll_h.EPOLLIN;
        if ((revents & poll_h.POLLOUT) != 0) ev |= epoll_h.EPOLLOUT;
        if ((revents & poll_h.POLLERR) != 0) ev |= epoll_h.EPOLLERR;
        if ((revents & poll_h.POLLHUP) != 0) ev |= epoll_h.EPOLLHUP;
        if ((revents & poll_h.POLLRDHUP) != 0) ev |= epoll_h.EPOLLRDHUP;
        return ev;
    }

    /** The S_IFMT bits of the file behind {@code fd}, or -1. */
    static int fileType(int fd, Scratch s) {
        if (stat_h.fstat(s.callState, fd, s.stat) != 0) return -1;
        return stat.st_mode(s.stat) & stat_h.S_IFMT;
    }

    /** An int socket option, or -1. */
    static int sockOptInt(int fd, int level, int name, Scratch s) {
        s.lenArg.set(ValueLayout.JAVA_INT, 0, 4);
        if (socket_h.getsockopt$critical(fd, level, name, s.intArgAddress, s.lenArgAddress) == 0) {
            return s.intArg.get(ValueLayout.JAVA_INT, 0);
        }
        s.lenArg.set(ValueLayout.JAVA_INT, 0, 4);
        int r;
        try {
            r = (int) GETSOCKOPT.invokeExact(s.callState, fd, level, name, s.intArg, s.lenArg);
        } catch (Throwable t) {
            throw new AssertionError("knot: downcall getsockopt failed", t);
        }
        return r == 0 ? s.intArg.get(ValueLayout.JAVA_INT, 0) : -1;
    }

    /**
     * Reads SO_ERROR into the record. Linux clears the error when it is read, so the value is kept for both
     * filters of the descriptor (FreeBSD reports so_error without clearing it).
     */
    static void readSocketError(FdRecord rec, Scratch s) {
        int e = sockOptInt(rec.fd, socket_h.SOL_SOCKET, socket_h.SO_ERROR, s);
        if (e > 0) {
            rec.soError = e;
            SocketErrors.stash(rec.fd, e);     // reading consumed it: leave it for the socket's owner
        }
    }

    /** The completed connections waiting in a listening TCP socket's accept queue, or -1 if it is not one. */
    static long acceptQueue(int fd, Scratch s) {
        MemorySegment ti = s.tcpInfo;
        s.lenArg.set(ValueLayout.JAVA_INT, 0, (int) tcp_info.SIZEOF);
        if (socket_h.getsockopt(s.callState, fd, in_h.IPPROTO_TCP, tcp_h.TCP_INFO, ti, s.lenArg) != 0) return -1;
        // On a listener the kernel puts the accept-queue length in tcpi_unacked (and the backlog in tcpi_sacked).
        if (Byte.toUnsignedInt(tcp_info.tcpi_state(ti)) != tcp_h.TCP_LISTEN) return -1;
        return Integer.toUnsignedLong(tcp_info.tcpi_unacked(ti));
    }

    /**
     * An eventfd's counter, from /proc/self/fdinfo (reading the eventfd would reset it), or -1 if {@code fd} is not an
     * eventfd.
     */
    static long eventfdCount(int fd) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + fd))) {
                if (line.startsWith("eventfd-count:")) return Long.parseLong(line.substring(14).trim(), 16);
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not readable: treat as not an eventfd
        }
        return -1;
    }

    /** True for a listening socket. */
    static boolean isListening(int fd, Scratch s) {
        return sockOptInt(fd, socket_h.SOL_SOCKET, socket_h.SO_ACCEPTCONN, s) == 1;
    }
}
