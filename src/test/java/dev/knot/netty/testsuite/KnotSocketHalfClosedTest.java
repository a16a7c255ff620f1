// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketHalfClosedTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.util.List;

/** Netty's {@link SocketHalfClosedTest} on the Knot transport. */
public class KnotSocketHalfClosedTest extends SocketHalfClosedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.socket();
    }

    /**
     * Skipped with batched socket I/O ({@code -Dknot.netty.batch=true}) only, as Netty's own io_uring transport skips
     * it: its leader flushes in {@code channelActive} and then blocks its event loop on a latch that only the peer's
     * answer to that flush opens. A batched flush goes to the kernel when the loop's round of events is done, so it
     * never leaves a loop that blocks before then. Without batching every flush writes at once and this test runs.
     */
    @Test
    @Override
    public void testAutoCloseFalseDoesShutdownOutput(TestInfo testInfo) throws Throwable {
        Assumptions.assumeFalse(Boolean.getBoolean("knot.netty.batch"),
                "a flush that its handler then blocks the loop on cannot be batched (Netty's io_uring skips it too)");
        super.testAutoCloseFalseDoesShutdownOutput(testInfo);
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }
}
