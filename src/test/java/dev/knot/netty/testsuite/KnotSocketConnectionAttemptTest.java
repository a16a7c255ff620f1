// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketConnectionAttemptTest;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** Netty's {@link SocketConnectionAttemptTest} on the Knot transport. */
public class KnotSocketConnectionAttemptTest extends SocketConnectionAttemptTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }

    /**
     * Netty's test needs a connect to its unroutable test address (198.51.100.254, TEST-NET-2) to hang; some sandboxed
     * networks answer every connect instead, and there the test cannot say anything about the transport.
     */
    @Override
    @Test
    public void testConnectCancellation(TestInfo testInfo) throws Throwable {
        boolean answered;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(System.getProperty("io.netty.testsuite.badHost", "198.51.100.254"),
                    Integer.getInteger("io.netty.testsuite.badPort", 65535)), 2000);
            answered = true;
        } catch (IOException e) {
            answered = false;
        }
        assumeFalse(answered, "this network accepts connections to the unroutable test address");
        super.testConnectCancellation(testInfo);
    }
}
