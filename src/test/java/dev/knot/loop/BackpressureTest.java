// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A writer faced with a slow reader waits on the WRITE filter: loop iterations follow the reader, not the clock. */
class BackpressureTest {
    @Test
    @Timeout(60)
    void slowReaderGetsBackpressureWithoutBusyLooping() throws Exception {
        int total = 2 * 1024 * 1024;
        EventLoop loop = EventLoop.open();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        CountDownLatch sent = new CountDownLatch(1);
        long[] writeCalls = new long[2];     // [0] writes that took bytes, [1] writes that found the buffer full
        loop.execute(() -> loop.register(l, Selector.OP_READ, lk -> {
            StreamSocket s = l.accept();
            if (s == null) return;
            s.setSendBufferSize(16 * 1024);
            MemorySegment data = Arena.ofAuto().allocate(total);
            long[] off = {0};
            EventLoop.Handler writer = k -> {
                while (off[0] < total) {
                    int n = s.write(data, off[0], Math.min(64 * 1024, total - off[0]));
                    if (n == 0) {
                        writeCalls[1]++;
                        k.interest(Selector.OP_WRITE);   // wait for room instead of retrying
                        return;
                    }
                    writeCalls[0]++;
                    off[0] += n;
                }
                k.interest(0);
                sent.countDown();
            };
            Key k = loop.register(s, Selector.OP_WRITE, writer);
            writer.ready(k);
        }));
        loop.start("writer");
        int reads = 0;
        long got = 0;
        try (Socket c = new Socket()) {
            c.setReceiveBufferSize(16 * 1024);
            c.connect(l.localAddress(), 5000);
            InputStream in = c.getInputStream();
            byte[] buf = new byte[16 * 1024];
            while (got < total) {
                int n = in.read(buf);
                if (n < 0) break;
                got += n;
                reads++;
                Thread.sleep(2);                         // the slow reader
            }
        }
        assertEquals(total, got);
        assertTrue(sent.await(5, TimeUnit.SECONDS));
        long iterations = loop.metrics().iterations();
        loop.close();
        l.close();
        // Each reader step frees room once; a writer that polled instead of waiting would spin thousands of times.
        assertTrue(writeCalls[1] > 10, "the writer never met a full buffer: " + writeCalls[1]);
        assertTrue(iterations < 2L * reads + 50, "loop iterations " + iterations + " for " + reads + " slow reads: busy looping");
    }
}
