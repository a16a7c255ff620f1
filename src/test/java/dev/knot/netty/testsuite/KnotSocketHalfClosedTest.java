// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketHalfClosedTest;

import java.util.List;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** Netty's {@link SocketHalfClosedTest} on the Knot transport. */
public class KnotSocketHalfClosedTest extends SocketHalfClosedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.socket();
    }

    /**
     * Needs the transport to see the peer's FIN while reading is off (auto-read off, no read() pending): epoll keeps
     * EPOLLRDHUP armed for that. Knot disables the READ knote then; an EOF-only READ knote (NOTE_LOWAT at its
     * maximum, which FreeBSD's filt_soread still fires at EOF) is the planned way and is not done yet.
     */
    @Override
    @Test
    @Disabled("Knot does not watch for the peer's FIN while reading is off yet (see the javadoc)")
    public void testAllDataReadEventTriggeredAfterHalfClosure(TestInfo testInfo) {
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
