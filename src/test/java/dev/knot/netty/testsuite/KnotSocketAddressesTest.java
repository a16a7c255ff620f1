// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketAddressesTest;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketAddressesTest} on the Knot transport: TCP channels report resolved addresses with ports. */
public class KnotSocketAddressesTest extends SocketAddressesTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }

    @Override
    protected void assertAddress(SocketAddress address) {
        InetSocketAddress a = assertInstanceOf(InetSocketAddress.class, address);
        assertNotEquals(0, a.getPort());
    }
}
