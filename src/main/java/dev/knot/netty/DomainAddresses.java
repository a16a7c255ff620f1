// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import io.netty.channel.unix.DomainSocketAddress;

import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.UnsupportedAddressTypeException;

/** Between Netty's {@link DomainSocketAddress} (what its users pass) and the JDK's, which Knot's sockets take. */
final class DomainAddresses {
    private DomainAddresses() {}

    static SocketAddress toNative(SocketAddress a) {
        if (a instanceof DomainSocketAddress d) return UnixDomainSocketAddress.of(d.path());
        if (a instanceof UnixDomainSocketAddress) return a;
        throw new UnsupportedAddressTypeException();
    }

    static DomainSocketAddress fromNative(SocketAddress a) {
        if (a instanceof UnixDomainSocketAddress u) return new DomainSocketAddress(u.getPath().toString());
        if (a instanceof DomainSocketAddress d) return d;
        return null;
    }
}
