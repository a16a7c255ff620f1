// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.sys.ErrnoException;
import dev.knot.sys.Platform;
import dev.knot.system.Datagrams;
import dev.knot.system.Fds;
import dev.knot.system.SocketAddresses;
import dev.knot.system.SocketErrors;
import dev.knot.system.Sockets;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A non-blocking UDP socket over IPv4 or IPv6: datagrams sent to any address or to a connected peer, received with
 * their sender's address, multicast group membership and SO_BROADCAST.
 *
 * <p><b>Receiving.</b> {@link #receive(MemorySegment)} takes one datagram and returns the bytes it stored, or
 * {@link #NONE} when no datagram is waiting (0 is a valid, empty datagram). Who sent it, whether it was
 * {@linkplain #truncated() truncated} to fit the buffer and its {@linkplain #datagramLength() full length} are then
 * available until the next receive; the sender's address is decoded only when asked for, so a receive allocates
 * nothing. A datagram longer than the buffer is cut, its excess discarded by the kernel, and {@link #truncated()}
 * says so: 65,507 bytes is the largest UDP payload over IPv4 and 65,527 over IPv6 (without jumbograms), so a buffer
 * of 65,527 bytes never truncates.
 *
 * <p><b>Readiness.</b> Register the socket (it is a {@link dev.knot.loop.Pollable}) for {@code Selector.OP_READ} /
 * EVFILT_READ on a {@link dev.knot.loop.Selector} or {@link dev.knot.loop.EventLoop}, and receive until {@link #NONE}
 * when it fires. READ's {@code data} on a UDP socket differs between kernels: FreeBSD's filt_soread reports the bytes
 * of all datagrams queued; Linux (and so Knot's emulation, which asks FIONREAD) reports the size of the next
 * datagram, and 0 for an empty one while READ is still ready; a kqueue that does not compute exact counts (a
 * Selector's) reports 1. Size buffers by the protocol, never by {@code data}. WRITE is ready while the send buffer
 * has room; a {@link #send} that finds none returns false.
 *
 * <p><b>Connecting</b> ({@link #connect}) fixes the peer: {@link #send(MemorySegment)} needs no address, only the
 * peer's datagrams are received, and an ICMP port-unreachable from it fails a later send or receive with
 * ECONNREFUSED. {@link #disconnect()} dissolves the association.
 *
 * <p><b>Ownership:</b> the socket owns its descriptor until {@link #close()}; buffers and segments stay the caller's.
 * <b>Threading:</b> not thread-safe: use it from one thread (its event loop's); {@link #close()} is safe from any
 * thread. <b>Errors:</b> {@link ErrnoException}s naming the system call, the address where there is one, and errno
 * (EMSGSIZE for a datagram too large to send, EACCES for a broadcast without {@link #setBroadcast SO_BROADCAST},
 * ENETUNREACH, ECONNREFUSED on a connected socket, EADDRINUSE from bind); a closed socket throws
 * {@link java.nio.channels.ClosedChannelException}; an unresolved or non-IP address is an
 * {@link IllegalArgumentException}.
 */
public final class DatagramSocket extends SocketBase {
    /** What {@link #receive} returns when no datagram is waiting. */
    public static final int NONE = -1;

    /** The largest UDP payload in one IPv4 datagram: 65,535 minus the IPv4 (20) and UDP (8) headers. */
    public static final int MAX_IPV4_PAYLOAD = 65_507;
    /** The largest UDP payload in one IPv6 datagram without jumbograms: 65,535 minus the UDP header (8). */
    public static final int MAX_IPV6_PAYLOAD = 65_527;

    private final Datagrams.Receiver receiver = new Datagrams.Receiver();
    private final MemorySegment sendAddress;      // the destination's sockaddr, reused by every send
    private final SegmentAllocator sendAddressAllocator;
    private MemorySegment bounce;                 // for heap arrays, which the kernel cannot read or write directly
    private SocketAddress remote;
    private InetSocketAddress boundBeforeConnect;   // what disconnect restores
    private long lastLength = NONE;
    private SocketAddress lastSender;
    private boolean senderDecoded;

    private DatagramSocket(int fd, int family) {
        super(fd, family);
        // Freed by the GC, not by close(): a close from another thread must not free memory a send is using.
        sendAddress = SocketAddresses.storage(Arena.ofAuto());
        // Zeroed for each send: a shorter sockaddr_in left in it must not become a longer sockaddr_in6's fields.
        sendAddressAllocator = (size, align) -> sendAddress.asSlice(0, size).fill((byte) 0);
    }

    /**
     * Opens an unbound UDP socket of {@code family}'s address family, non-blocking and close-on-exec, so that
     * options (SO_REUSEADDR for several multicast receivers on one port, buffer sizes) can be set before
     * {@link #bind}. Sending from an unbound socket binds it to an ephemeral port.
     *
     * @param family an address of the family wanted (IPv4 or IPv6; its value is not used)
     * @return the socket, owned by the caller
     * @throws IOException {@link ErrnoException} if socket(2) fails (EAFNOSUPPORT for IPv6 on a host without it,
     *         EMFILE)
     * @throws IllegalArgumentException for an unresolved address or one that is not an {@code InetSocketAddress}
     */
    public static DatagramSocket open(SocketAddress family) throws IOException {
        Platform.requireLinux("Knot's sockets");
        int f = inetFamily(family);
        return new DatagramSocket(Sockets.socket(f, Datagrams.SOCK_DGRAM), f);
    }

    /**
     * Opens a UDP socket bound to {@code local}.
     *
     * @param local the local address; port 0 for an ephemeral port, the wildcard address to receive on every
     *              interface (needed for multicast: a socket bound to a unicast address does not see group traffic)
     * @return the bound socket, owned by the caller
     * @throws IOException {@link ErrnoException} EADDRINUSE, EADDRNOTAVAIL... naming the address
     * @throws IllegalArgumentException for an unresolved or non-IP address
     */
    public static DatagramSocket bind(SocketAddress local) throws IOException {
        DatagramSocket s = open(local);
        try {
            Sockets.bind(s.fd, local);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Takes over a UDP socket received from elsewhere (inherited from a prefork master, handed over by a
     * framework), making it non-blocking and close-on-exec. A socket that is connected already is treated as
     * unconnected until {@link #connect} is called.
     *
     * @param fd an IPv4 or IPv6 datagram socket's descriptor, owned by the new socket from then on
     * @return the socket, which owns {@code fd}
     * @throws IOException {@link ErrnoException} EBADF if it is not open, ENOTSOCK if it is not a socket
     * @throws IllegalArgumentException if it is not a datagram socket of AF_INET or AF_INET6
     */
    public static DatagramSocket adopt(int fd) throws IOException {
        int family = adoptable(fd, Datagrams.SOCK_DGRAM, "datagram");
        if (family != Sockets.AF_INET && family != Sockets.AF_INET6) {
            throw new IllegalArgumentException("fd " + fd + " is a datagram socket of family " + family + ", not IPv4 or IPv6");
        }
        Fds.setNonBlocking(fd, true);
        Fds.setCloseOnExec(fd, true);
        return new DatagramSocket(fd, family);
    }

    private static int inetFamily(SocketAddress a) {
        if (!(a instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("a UDP socket needs an InetSocketAddress, not " + (a == null ? "null" : a.getClass().getName()));
        }
        return SocketAddresses.family(a);
    }

    /**
     * Binds a socket from {@link #open} to {@code local}.
     *
     * @param local the local address (port 0 for an ephemeral one)
     * @throws IOException {@link ErrnoException} EADDRINUSE, EINVAL if already bound...; ClosedChannelException
     */
    public void bindTo(SocketAddress local) throws IOException {
        ensureOpen();
        inetFamily(local);
        Sockets.bind(fd, local);
    }

    /**
     * Connects the socket to {@code peer}: sends without an address go there, and only its datagrams are received.
     * Completes at once (no packet is sent). Connecting again replaces the peer.
     *
     * @param peer the peer's address
     * @throws IOException {@link ErrnoException} (ENETUNREACH, EAFNOSUPPORT for a peer of the other family...)
     */
    public void connect(SocketAddress peer) throws IOException {
        ensureOpen();
        inetFamily(peer);
        if (remote == null) boundBeforeConnect = (InetSocketAddress) name(true);
        Sockets.connect(fd, peer);
        remote = peer;
    }

    /**
     * Dissolves the association made by {@link #connect}: any sender's datagrams are received again, and the socket
     * keeps the local address it was bound to before the connect (as on FreeBSD; Linux releases a port that
     * bind chose for port 0, so Knot binds it again). A socket that was unbound before the connect is unbound again.
     *
     * @throws IOException {@link ErrnoException} if connect(AF_UNSPEC) fails, or EADDRINUSE if another socket took
     *         the released port before it could be bound again; ClosedChannelException if closed
     */
    public void disconnect() throws IOException {
        ensureOpen();
        if (remote == null) return;
        Datagrams.disconnect(fd);
        remote = null;
        InetSocketAddress before = boundBeforeConnect;
        boundBeforeConnect = null;
        if (before != null && before.getPort() != 0 && ((InetSocketAddress) name(true)).getPort() == 0) {
            Sockets.bind(fd, before);
        }
    }

    /** {@return true while connected to a peer} */
    public boolean isConnected() {
        return remote != null;
    }

    /** {@return the connected peer, or null if not connected} */
    public SocketAddress remoteAddress() {
        return remote;
    }

    /**
     * Sends {@code src} as one datagram to {@code target}.
     *
     * @param src the payload (at most {@link #MAX_IPV4_PAYLOAD} or {@link #MAX_IPV6_PAYLOAD} bytes, and the send
     *            buffer's size)
     * @param target where to: on a connected socket, Linux sends to {@code target} anyway
     * @return true if sent, false if the send buffer has no room now (wait for WRITE readiness)
     * @throws IOException {@link ErrnoException} EMSGSIZE, EACCES (broadcast without SO_BROADCAST), ENETUNREACH...
     *         naming the target
     * @throws IllegalArgumentException for an unresolved or non-IP target
     */
    public boolean send(MemorySegment src, SocketAddress target) throws IOException {
        ensureOpen();
        Objects.requireNonNull(target, "target");
        inetFamily(target);
        MemorySegment sa = SocketAddresses.encode(target, sendAddressAllocator);
        return Datagrams.sendTo(fd, src, sa, target) != Sockets.WOULD_BLOCK;
    }

    /**
     * Sends {@code src} as one datagram to the connected peer.
     *
     * @param src the payload
     * @return true if sent, false if the send buffer has no room now
     * @throws IOException {@link ErrnoException} EDESTADDRREQ if not connected, ECONNREFUSED if the peer's port
     *         was found closed, EMSGSIZE...
     */
    public boolean send(MemorySegment src) throws IOException {
        ensureOpen();
        return Datagrams.sendTo(fd, src, MemorySegment.NULL, remote) != Sockets.WOULD_BLOCK;
    }

    /**
     * Sends a buffer's remaining bytes as one datagram and, if sent, advances its position to its limit. Heap
     * buffers are copied through a native buffer the socket keeps.
     *
     * @param src the payload
     * @param target where to, or null for the connected peer
     * @return true if sent, false if the send buffer has no room now
     * @throws IOException as {@link #send(MemorySegment, SocketAddress)}
     */
    public boolean send(ByteBuffer src, SocketAddress target) throws IOException {
        MemorySegment seg;
        if (src.isDirect()) {
            seg = MemorySegment.ofBuffer(src);
        } else {
            seg = bounce(src.remaining());
            MemorySegment.copy(MemorySegment.ofBuffer(src), 0, seg, 0, seg.byteSize());
        }
        boolean sent = target == null ? send(seg) : send(seg, target);
        if (sent) src.position(src.limit());
        return sent;
    }

    /**
     * Sends {@code length} bytes of {@code src} from {@code offset} as one datagram, copied through a native buffer.
     *
     * @param src the payload's array
     * @param offset the first byte
     * @param length how many bytes
     * @param target where to, or null for the connected peer
     * @return true if sent, false if the send buffer has no room now
     * @throws IOException as {@link #send(MemorySegment, SocketAddress)}
     * @throws IndexOutOfBoundsException if {@code offset} and {@code length} do not fit {@code src}
     */
    public boolean send(byte[] src, int offset, int length, SocketAddress target) throws IOException {
        Objects.checkFromIndexSize(offset, length, src.length);
        MemorySegment seg = bounce(length);
        MemorySegment.copy(src, offset, seg, ValueLayout.JAVA_BYTE, 0, length);
        return target == null ? send(seg) : send(seg, target);
    }

    /**
     * Receives one datagram into {@code dst}.
     *
     * @param dst where the payload goes; a datagram longer than it is cut and {@link #truncated()} is then true
     * @return the bytes stored (0 for an empty datagram), or {@link #NONE} if no datagram is waiting
     * @throws IOException {@link ErrnoException}: ECONNREFUSED on a connected socket whose peer's port was found
     *         closed (also when the kqueue emulation read that error first), EBADF...; ClosedChannelException
     */
    public int receive(MemorySegment dst) throws IOException {
        ensureOpen();
        lastLength = NONE;                        // until this receive returns a datagram
        senderDecoded = false;
        lastSender = null;
        long r = receiver.receive(fd, dst);
        if (r == Sockets.WOULD_BLOCK) {
            // An ICMP error the emulation consumed through SO_ERROR to report EV_EOF/EPOLLERR: deliver it here, as
            // FreeBSD's next recv would.
            int err = SocketErrors.take(fd);
            if (err != 0) throw new ErrnoException("recvmsg(" + fd + ")", err);
            return NONE;
        }
        lastLength = r;
        return (int) Math.min(r, dst.byteSize());
    }

    /**
     * Receives one datagram into a buffer's remaining space and advances its position by the bytes stored. Heap
     * buffers are filled through a native buffer the socket keeps.
     *
     * @param dst where the payload goes
     * @return the bytes stored, or {@link #NONE}
     * @throws IOException as {@link #receive(MemorySegment)}
     */
    public int receive(ByteBuffer dst) throws IOException {
        int n;
        if (dst.isDirect()) {
            n = receive(MemorySegment.ofBuffer(dst));
        } else {
            MemorySegment seg = bounce(dst.remaining());
            n = receive(seg);
            if (n > 0) MemorySegment.copy(seg, 0, MemorySegment.ofBuffer(dst), 0, n);
        }
        if (n > 0) dst.position(dst.position() + n);
        return n;
    }

    /**
     * Receives one datagram into {@code length} bytes of {@code dst} from {@code offset}, through a native buffer.
     *
     * @param dst the array to fill
     * @param offset the first byte to fill
     * @param length room for at most this many bytes
     * @return the bytes stored, or {@link #NONE}
     * @throws IOException as {@link #receive(MemorySegment)}
     * @throws IndexOutOfBoundsException if {@code offset} and {@code length} do not fit {@code dst}
     */
    public int receive(byte[] dst, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dst.length);
        MemorySegment seg = bounce(length);
        int n = receive(seg);
        if (n > 0) MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, 0, dst, offset, n);
        return n;
    }

    /**
     * {@return the sender of the datagram the last receive returned; null if that receive found none}
     * The address is decoded on the first call after each receive.
     */
    public SocketAddress sender() {
        if (lastLength == NONE) return null;
        if (!senderDecoded) {
            lastSender = receiver.sender();
            senderDecoded = true;
        }
        return lastSender;
    }

    /** {@return whether the datagram the last receive returned was longer than the buffer and was cut} */
    public boolean truncated() {
        return lastLength != NONE && receiver.truncated();
    }

    /**
     * {@return the full length of the datagram the last receive returned (more than was stored if it was
     * {@linkplain #truncated() truncated}), or {@link #NONE}}
     */
    public int datagramLength() {
        return (int) lastLength;
    }

    private MemorySegment bounce(int length) {
        if (bounce == null || bounce.byteSize() < length) {
            bounce = Arena.ofAuto().allocate(Math.max(length, 2048));
        }
        return bounce.asSlice(0, length);
    }

    /**
     * Sets SO_BROADCAST, without which Linux refuses sends to a broadcast address with EACCES.
     *
     * @param on the new value
     * @throws IOException {@link ErrnoException} if setsockopt fails; ClosedChannelException if closed
     */
    public void setBroadcast(boolean on) throws IOException {
        ensureOpen();
        Sockets.setBoolean(fd, Sockets.SOL_SOCKET, Datagrams.SO_BROADCAST, on, "SO_BROADCAST");
    }

    /**
     * {@return whether SO_BROADCAST is set}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails; ClosedChannelException if closed
     */
    public boolean broadcast() throws IOException {
        ensureOpen();
        return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Datagrams.SO_BROADCAST, "SO_BROADCAST");
    }

    /**
     * Joins multicast {@code group} on {@code ni} (IP_ADD_MEMBERSHIP for an IPv4 group, IPV6_JOIN_GROUP for an IPv6
     * one). Bind the socket to the wildcard address and the group's port to receive its datagrams; a membership
     * lasts until {@link #leave} or close.
     *
     * @param group a multicast address
     * @param ni the interface, or null to let the kernel choose by route
     * @throws IOException {@link ErrnoException} EADDRINUSE if already joined, ENODEV for an unknown interface,
     *         EINVAL...
     * @throws IllegalArgumentException if {@code group} is not a multicast address, or an IPv6 group on an IPv4
     *         socket
     */
    public void join(InetAddress group, NetworkInterface ni) throws IOException {
        membership(group, ni == null ? 0 : ni.getIndex(), true);
    }

    /**
     * Joins multicast {@code group} on the interface of index {@code interfaceIndex} (0: chosen by route); as
     * {@link #join(InetAddress, NetworkInterface)}.
     *
     * @param group a multicast address
     * @param interfaceIndex the interface's index ({@code NetworkInterface.getIndex()}, 1 is usually loopback)
     * @throws IOException {@link ErrnoException} as {@link #join(InetAddress, NetworkInterface)}
     */
    public void join(InetAddress group, int interfaceIndex) throws IOException {
        membership(group, interfaceIndex, true);
    }

    /**
     * Leaves a group joined with {@link #join}.
     *
     * @param group the multicast address joined
     * @param ni the interface it was joined on, or null
     * @throws IOException {@link ErrnoException} EADDRNOTAVAIL if not a member there
     */
    public void leave(InetAddress group, NetworkInterface ni) throws IOException {
        membership(group, ni == null ? 0 : ni.getIndex(), false);
    }

    /**
     * Leaves a group joined with {@link #join(InetAddress, int)}.
     *
     * @param group the multicast address joined
     * @param interfaceIndex the interface's index it was joined on
     * @throws IOException {@link ErrnoException} EADDRNOTAVAIL if not a member there
     */
    public void leave(InetAddress group, int interfaceIndex) throws IOException {
        membership(group, interfaceIndex, false);
    }

    private void membership(InetAddress group, int ifindex, boolean join) throws IOException {
        ensureOpen();
        Objects.requireNonNull(group, "group");
        if (!group.isMulticastAddress()) throw new IllegalArgumentException(group.getHostAddress() + " is not a multicast address");
        if (group instanceof Inet6Address && family != Sockets.AF_INET6) {
            throw new IllegalArgumentException("an IPv4 socket cannot join the IPv6 group " + group.getHostAddress());
        }
        Datagrams.membership(fd, group, ifindex, join);
    }

    /**
     * Sets the interface outgoing multicast datagrams leave by (IP_MULTICAST_IF, IPV6_MULTICAST_IF).
     *
     * @param interfaceIndex the interface's index, or 0 to choose by route
     * @throws IOException {@link ErrnoException} ENODEV, EINVAL for an unknown interface
     */
    public void setMulticastInterface(int interfaceIndex) throws IOException {
        ensureOpen();
        Datagrams.setMulticastInterface(fd, family == Sockets.AF_INET6, interfaceIndex);
    }

    /**
     * Sets whether this host's own members of a group receive what this socket sends to it (IP_MULTICAST_LOOP,
     * IPV6_MULTICAST_LOOP; on by default).
     *
     * @param on the new value
     * @throws IOException {@link ErrnoException} if setsockopt fails; ClosedChannelException if closed
     */
    public void setMulticastLoop(boolean on) throws IOException {
        ensureOpen();
        IpOption o = ipOption(MULTICAST_LOOP);
        Sockets.setBoolean(fd, o.level, o.name, on, o.label);
    }

    /**
     * {@return whether multicast loop-back is on}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails; ClosedChannelException if closed
     */
    public boolean multicastLoop() throws IOException {
        ensureOpen();
        IpOption o = ipOption(MULTICAST_LOOP);
        return Sockets.getBoolean(fd, o.level, o.name, o.label);
    }

    /**
     * Sets how many hops outgoing multicast datagrams may take (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS; default 1).
     *
     * @param hops 0 to 255
     * @throws IOException {@link ErrnoException} EINVAL out of range; ClosedChannelException if closed
     */
    public void setMulticastHops(int hops) throws IOException {
        ensureOpen();
        IpOption o = ipOption(MULTICAST_HOPS);
        Sockets.setInt(fd, o.level, o.name, hops, o.label);
    }

    /**
     * {@return the multicast hop limit}
     *
     * @throws IOException {@link ErrnoException} if getsockopt fails; ClosedChannelException if closed
     */
    public int multicastHops() throws IOException {
        ensureOpen();
        IpOption o = ipOption(MULTICAST_HOPS);
        return Sockets.getInt(fd, o.level, o.name, o.label);
    }

    /** A socket option as setsockopt(2) names it: level, name, and the name for errors. */
    private record IpOption(int level, int name, String label) {}

    // The multicast options in their IPv4 and IPv6 forms; the socket's family picks one (ipOption).
    private static final IpOption[] MULTICAST_LOOP = {
        new IpOption(Datagrams.IPPROTO_IP, Datagrams.IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP"),
        new IpOption(Datagrams.IPPROTO_IPV6, Datagrams.IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP")};
    private static final IpOption[] MULTICAST_HOPS = {
        new IpOption(Datagrams.IPPROTO_IP, Datagrams.IP_MULTICAST_TTL, "IP_MULTICAST_TTL"),
        new IpOption(Datagrams.IPPROTO_IPV6, Datagrams.IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS")};

    private IpOption ipOption(IpOption[] forms) {
        return forms[family == Sockets.AF_INET6 ? 1 : 0];
    }
}
