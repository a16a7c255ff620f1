// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketStartTlsTest;

import java.util.List;

/** Netty's {@link SocketStartTlsTest} on the Knot transport. */
public class KnotSocketStartTlsTest extends SocketStartTlsTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
