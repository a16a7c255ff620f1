// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketFileRegionTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketFileRegionTest} over Unix-domain sockets on the Knot transport. */
public class KnotDomainSocketFileRegionTest extends SocketFileRegionTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.domainSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return KnotSocketTestPermutation.newDomainSocketAddress();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
