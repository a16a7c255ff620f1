// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.iovec;
import dev.knot.bindings.linux.ip_mreqn;
import dev.knot.bindings.linux.ipv6_mreq;
import dev.knot.bindings.linux.msghdr;
import dev.knot.bindings.linux.sockaddr;
import dev.knot.bindings.linux.socket_h;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.SocketAddress;

/**
 * The datagram system calls of Knot's UDP socket, typed as {@link Sockets} types the stream ones: each returns its
 * result or throws an {@link ErrnoException} naming the call and errno; EAGAIN is {@link Sockets#WOULD_BLOCK}; EINTR
 * is retried. Linux only.
 */
public final class Datagrams {
    private Datagrams() {}

    public static final int SOCK_DGRAM = socket_h.SOCK_DGRAM;
    public static final int SO_BROADCAST = socket_h.SO_BROADCAST;
    public static final int IPPROTO_IP = in_h.IPPROTO_IP, IPPROTO_IPV6 = in_h.IPPROTO_IPV6;
    public static final int IP_MULTICAST_TTL = in_h.IP_MULTICAST_TTL, IP_MULTICAST_LOOP = in_h.IP_MULTICAST_LOOP;
    public static final int IPV6_MULTICAST_HOPS = in_h.IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP = in_h.IPV6_MULTICAST_LOOP;
    public static final int IPV6_V6ONLY = in_h.IPV6_V6ONLY;

    /**
     * sendto(2) of all of {@code src} to the encoded {@code addr} (or {@link MemorySegment#NULL} on a connected
     * socket), with MSG_NOSIGNAL; {@code target} names the destination in the error.
     *
     * @return the bytes sent (a datagram goes whole or not at all), or {@link Sockets#WOULD_BLOCK}
     */
    public static long sendTo(int fd, MemorySegment src, MemorySegment addr, Object target) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        int len = addr.address() == 0 ? 0 : (int) addr.byteSize();
        while (true) {
            long r = socket_h.sendto(st, fd, src, src.byteSize(), socket_h.MSG_NOSIGNAL, addr, len);
            if (r >= 0) return r;
            int e = CallState.errno(st);
            if (e == errno_h.EAGAIN) return WOULD_BLOCK;
            if (e != errno_h.EINTR) throw new ErrnoException("sendto(" + fd + (target == null ? "" : ", " + target) + ")", e);
        }
    }

    private static final long WOULD_BLOCK = Sockets.WOULD_BLOCK;

    /** connect(2) with AF_UNSPEC: dissolves a datagram socket's association with its peer. */
    public static void disconnect(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(sockaddr.LAYOUT);
            sockaddr.sa_family(sa, (short) socket_h.AF_UNSPEC);
            MemorySegment st = CallState.forThread();
            if (socket_h.connect(st, fd, sa, (int) sa.byteSize()) != 0) {
                throw new ErrnoException("connect(" + fd + ", AF_UNSPEC)", CallState.errno(st));
            }
        }
    }

    /**
     * Joins or leaves {@code group} on the interface of index {@code ifindex} (0: the kernel picks by route):
     * IP_ADD/DROP_MEMBERSHIP with an {@code ip_mreqn} for an IPv4 group, IPV6_JOIN/LEAVE_GROUP for an IPv6 one.
     */
    public static void membership(int fd, InetAddress group, int ifindex, boolean join) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            byte[] g = group.getAddress();
            MemorySegment req;
            int level, name;
            String what;
            if (group instanceof Inet4Address) {
                req = ip_mreqn.allocate(a);
                MemorySegment.copy(g, 0, ip_mreqn.imr_multiaddr(req), ValueLayout.JAVA_BYTE, 0, 4);
                ip_mreqn.imr_ifindex(req, ifindex);
                level = in_h.IPPROTO_IP;
                name = join ? in_h.IP_ADD_MEMBERSHIP : in_h.IP_DROP_MEMBERSHIP;
                what = join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP";
            } else {
                req = ipv6_mreq.allocate(a);
                MemorySegment.copy(g, 0, ipv6_mreq.ipv6mr_multiaddr(req), ValueLayout.JAVA_BYTE, 0, 16);
                ipv6_mreq.ipv6mr_interface(req, ifindex);
                level = in_h.IPPROTO_IPV6;
                name = join ? in_h.IPV6_JOIN_GROUP : in_h.IPV6_LEAVE_GROUP;
                what = join ? "IPV6_JOIN_GROUP" : "IPV6_LEAVE_GROUP";
            }
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, level, name, req, (int) req.byteSize()) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", " + what + ", " + group.getHostAddress() + " on interface "
                        + ifindex + ")", CallState.errno(st));
            }
        }
    }

    /**
     * The interface outgoing multicast leaves by: IP_MULTICAST_IF with an {@code ip_mreqn} (IPv4) or
     * IPV6_MULTICAST_IF (IPv6); 0 lets the kernel pick by route again.
     */
    public static void setMulticastInterface(int fd, boolean ipv6, int ifindex) throws ErrnoException {
        if (ipv6) {
            Sockets.setInt(fd, in_h.IPPROTO_IPV6, in_h.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF");
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment req = ip_mreqn.allocate(a);
            ip_mreqn.imr_ifindex(req, ifindex);
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, in_h.IPPROTO_IP, in_h.IP_MULTICAST_IF, req, (int) req.byteSize()) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", IP_MULTICAST_IF, interface " + ifindex + ")", CallState.errno(st));
            }
        }
    }

    /** IPV6_MULTICAST_IF as set (0 if never set). */
    public static int multicastInterface6(int fd) throws ErrnoException {
        return Sockets.getInt(fd, in_h.IPPROTO_IPV6, in_h.IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF");
    }

    /**
     * One datagram socket's receive state: a {@code msghdr}, its {@code iovec} and room for the sender's address,
     * allocated once and reused by every {@link #receive}. Not thread-safe (one per socket, used by its loop's
     * thread). The memory is freed by the GC, never explicitly, so a socket closed from another thread while its
     * loop is receiving cannot make the kernel write freed memory.
     */
    public static final class Receiver {
        private final MemorySegment msg, iov, name;
        private int nameLength, flags;

        public Receiver() {
            Arena arena = Arena.ofAuto();
            msg = msghdr.allocate(arena);
            iov = iovec.allocate(arena);
            name = SocketAddresses.storage(arena);
            msghdr.msg_name(msg, name);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
        }

        /**
         * recvmsg(2) of one datagram into {@code dst}, with MSG_TRUNC so that Linux returns the datagram's full
         * length even when {@code dst} was too small for it (the excess is discarded by the kernel).
         *
         * @return the datagram's length, which may exceed {@code dst.byteSize()} (see {@link #truncated()}), or
         *         {@link Sockets#WOULD_BLOCK}
         */
        public long receive(int fd, MemorySegment dst) throws ErrnoException {
            iovec.iov_base(iov, dst);
            iovec.iov_len(iov, dst.byteSize());
            MemorySegment st = CallState.forThread();
            while (true) {
                msghdr.msg_namelen(msg, (int) name.byteSize());
                msghdr.msg_flags(msg, 0);
                long r = socket_h.recvmsg(st, fd, msg, socket_h.MSG_TRUNC);
                if (r >= 0) {
                    nameLength = msghdr.msg_namelen(msg);
                    flags = msghdr.msg_flags(msg);
                    return r;
                }
                int e = CallState.errno(st);
                if (e == errno_h.EAGAIN) return WOULD_BLOCK;
                if (e != errno_h.EINTR) throw new ErrnoException("recvmsg(" + fd + ")", e);
            }
        }

        /** {@return whether the last datagram received was longer than the buffer (MSG_TRUNC in msg_flags)} */
        public boolean truncated() {
            return (flags & socket_h.MSG_TRUNC) != 0;
        }

        /** {@return the sender of the last datagram received, decoded now; null if the kernel gave none} */
        public SocketAddress sender() {
            return nameLength <= 0 ? null : SocketAddresses.decode(name, nameLength);
        }
    }
}
