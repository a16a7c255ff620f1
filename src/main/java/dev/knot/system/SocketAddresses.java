// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.sockaddr;
import dev.knot.bindings.linux.sockaddr_in;
import dev.knot.bindings.linux.sockaddr_in6;
import dev.knot.bindings.linux.sockaddr_storage;
import dev.knot.bindings.linux.sockaddr_un;
import dev.knot.bindings.linux.socket_h;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/** Encodes and decodes the socket addresses Knot supports: IPv4, IPv6 and Unix-domain paths. */
public final class SocketAddresses {
    private SocketAddresses() {}

    /** The address family for {@code a}: AF_INET, AF_INET6 or AF_UNIX. */
    public static int family(SocketAddress a) {
        if (a instanceof UnixDomainSocketAddress) return socket_h.AF_UNIX;
        if (a instanceof InetSocketAddress i) {
            if (i.isUnresolved()) throw new IllegalArgumentException("unresolved address " + i);
            return i.getAddress() instanceof Inet6Address ? socket_h.AF_INET6 : socket_h.AF_INET;
        }
        throw new IllegalArgumentException("unsupported address type " + (a == null ? "null" : a.getClass().getName()));
    }

    /** A sockaddr for {@code a} in {@code alloc}; its length is {@code byteSize()}. */
    public static MemorySegment encode(SocketAddress a, SegmentAllocator alloc) {
        int family = family(a);
        if (family == socket_h.AF_UNIX) {
            byte[] path = ((UnixDomainSocketAddress) a).getPath().toString().getBytes(StandardCharsets.UTF_8);
            if (path.length >= sockaddr_un.sun_path$SIZE) {
                throw new IllegalArgumentException("Unix socket path is " + path.length + " bytes; the limit is " + (sockaddr_un.sun_path$SIZE - 1));
            }
            MemorySegment s = sockaddr_un.allocate(alloc);
            sockaddr_un.sun_family(s, (short) family);
            MemorySegment.copy(path, 0, sockaddr_un.sun_path(s), ValueLayout.JAVA_BYTE, 0, path.length);
            return s.asSlice(0, sockaddr_un.sun_path$OFFSET + path.length + 1);
        }
        InetSocketAddress i = (InetSocketAddress) a;
        short port = Short.reverseBytes((short) i.getPort());          // network byte order
        byte[] addr = i.getAddress().getAddress();
        if (family == socket_h.AF_INET) {
            MemorySegment s = sockaddr_in.allocate(alloc);
            sockaddr_in.sin_family(s, (short) family);
            sockaddr_in.sin_port(s, port);
            MemorySegment.copy(addr, 0, sockaddr_in.sin_addr(s), ValueLayout.JAVA_BYTE, 0, 4);
            return s;
        }
        MemorySegment s = sockaddr_in6.allocate(alloc);
        sockaddr_in6.sin6_family(s, (short) family);
        sockaddr_in6.sin6_port(s, port);
        MemorySegment.copy(addr, 0, sockaddr_in6.sin6_addr(s), ValueLayout.JAVA_BYTE, 0, 16);
        if (i.getAddress() instanceof Inet6Address v6) sockaddr_in6.sin6_scope_id(s, v6.getScopeId());
        return s;
    }

    /** Room for any address, for getsockname, getpeername and accept. */
    public static MemorySegment storage(SegmentAllocator alloc) {
        return sockaddr_storage.allocate(alloc);
    }

    /** Decodes the first {@code len} bytes of a sockaddr. */
    public static SocketAddress decode(MemorySegment s, int len) {
        int family = Short.toUnsignedInt(sockaddr.sa_family(s));
        try {
            if (family == socket_h.AF_INET) {
                byte[] addr = sockaddr_in.sin_addr(s).toArray(ValueLayout.JAVA_BYTE);
                return new InetSocketAddress(Inet4Address.getByAddress(addr), Short.toUnsignedInt(Short.reverseBytes(sockaddr_in.sin_port(s))));
            }
            if (family == socket_h.AF_INET6) {
                byte[] addr = sockaddr_in6.sin6_addr(s).toArray(ValueLayout.JAVA_BYTE);
                InetAddress ia = Inet6Address.getByAddress(null, addr, sockaddr_in6.sin6_scope_id(s));
                return new InetSocketAddress(ia, Short.toUnsignedInt(Short.reverseBytes(sockaddr_in6.sin6_port(s))));
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the kernel returned a malformed address", e);
        }
        if (family == socket_h.AF_UNIX) {
            long n = Math.max(0, len - sockaddr_un.sun_path$OFFSET);
            byte[] raw = sockaddr_un.sun_path(s).asSlice(0, Math.min(n, sockaddr_un.sun_path$SIZE)).toArray(ValueLayout.JAVA_BYTE);
            int end = 0;
            while (end < raw.length && raw[end] != 0) end++;
            return UnixDomainSocketAddress.of(new String(raw, 0, end, StandardCharsets.UTF_8));
        }
        throw new IllegalStateException("unsupported address family " + family);
    }
}
