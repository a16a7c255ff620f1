// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.EventLoop;
import dev.knot.system.Fds;
import dev.knot.testing.ChildJvm;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The echo example, driven by 1,000 real concurrent clients in another process. */
class EchoServerTest {
    @Test
    @Timeout(180)
    void thousandConcurrentConnectionsWithRandomSizesAllGetExactEchoes() throws Exception {
        ChildJvm.warmUp();
        dev.knot.testing.Rings.warmPool();
        List<Integer> fdsBefore = Fds.openDescriptors();
        EventLoop loop = EventLoop.open();
        AtomicReference<EchoServer> server = new AtomicReference<>();
        CountDownLatch up = new CountDownLatch(1);
        loop.execute(() -> {
            try {
                server.set(EchoServer.start(loop, new InetSocketAddress("127.0.0.1", 0)));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            up.countDown();
        });
        loop.start("echo");
        assertTrue(up.await(5, TimeUnit.SECONDS));
        int port = server.get().listener().port();
        int clients = 1000;
        ChildJvm.Result r = ChildJvm.run(ChildJvm.command(List.of(), "dev.knot.testing.EchoClients",
                Integer.toString(port), Integer.toString(clients)), 150);
        assertEquals(0, r.exit(), r.stdout() + r.stderr());
        assertEquals("ok " + clients, r.stdout().trim());
        CountDownLatch counted = new CountDownLatch(1);
        long[] accepted = new long[1];
        loop.execute(() -> {
            accepted[0] = server.get().connections();
            counted.countDown();
        });
        assertTrue(counted.await(5, TimeUnit.SECONDS));
        assertEquals(clients, accepted[0]);
        loop.shutdownGracefully();
        assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
        assertEquals(fdsBefore, Fds.openDescriptors(), "descriptors left open after shutdown");
    }
}
