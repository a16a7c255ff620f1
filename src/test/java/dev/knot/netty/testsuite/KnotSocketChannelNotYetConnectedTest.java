// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketChannelNotYetConnectedTest;

import java.util.List;

/** Netty's {@link SocketChannelNotYetConnectedTest} on the Knot transport. */
public class KnotSocketChannelNotYetConnectedTest extends SocketChannelNotYetConnectedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
