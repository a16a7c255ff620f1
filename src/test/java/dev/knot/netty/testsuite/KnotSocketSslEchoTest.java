// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketSslEchoTest;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Netty's {@link SocketSslEchoTest} on the Knot transport, Knot server with Knot client. Netty's matrix has 96 cases;
 * CI runs the 24 without delegated-task executors (renegotiation, auto-read, chunked writes and composite buffers
 * in every combination: what touches the transport), {@code -Dknot.netty.full=true} all 96 and the NIO mixes.
 */
public class KnotSocketSslEchoTest extends SocketSslEchoTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return KnotSocketTestPermutation.FULL ? KnotSocketTestPermutation.INSTANCE.socket() : KnotSocketTestPermutation.INSTANCE.knotOnly();
    }

    @Override
    protected List<ByteBufAllocator> newAllocators() {
        return KnotSocketTestPermutation.allocators();
    }

    /**
     * The parameter sets this class runs.
     *
     * @return Netty's, or those without delegated-task executors
     * @throws Exception if Netty's TLS contexts cannot be built
     */
    public static Collection<Object[]> knotData() throws Exception {
        Collection<Object[]> all = data();
        if (KnotSocketTestPermutation.FULL) return all;
        List<Object[]> some = new ArrayList<>();
        for (Object[] p : all) if (!(Boolean) p[3] && !(Boolean) p[4]) some.add(p);
        return some;
    }

    @Override
    @ParameterizedTest(name = "{index}: serverEngine = {0}, clientEngine = {1}, renegotiation = {2}, "
            + "serverUsesDelegatedTaskExecutor = {3}, clientUsesDelegatedTaskExecutor = {4}, "
            + "autoRead = {5}, useChunkedWriteHandler = {6}, useCompositeByteBuf = {7}")
    @MethodSource("knotData")
    @Timeout(value = 30000, unit = TimeUnit.MILLISECONDS)
    public void testSslEcho(SslContext serverCtx, SslContext clientCtx, Renegotiation renegotiation,
                            boolean serverUsesDelegatedTaskExecutor, boolean clientUsesDelegatedTaskExecutor,
                            boolean autoRead, boolean useChunkedWriteHandler, boolean useCompositeByteBuf,
                            TestInfo testInfo) throws Throwable {
        super.testSslEcho(serverCtx, clientCtx, renegotiation, serverUsesDelegatedTaskExecutor,
                clientUsesDelegatedTaskExecutor, autoRead, useChunkedWriteHandler, useCompositeByteBuf, testInfo);
    }
}
