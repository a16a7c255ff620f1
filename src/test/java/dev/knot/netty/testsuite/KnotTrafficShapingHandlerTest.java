// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.TrafficShapingHandlerTest;

import java.util.List;

/** Netty's {@link TrafficShapingHandlerTest} on the Knot transport, Knot server with Knot client (see {@link KnotSocketTestPermutation#knotOnly()}). */
public class KnotTrafficShapingHandlerTest extends TrafficShapingHandlerTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.knotOnly();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
