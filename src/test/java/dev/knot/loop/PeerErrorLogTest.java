// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.examples.http.HttpServer;
import dev.knot.net.ListenSocket;
import dev.knot.testing.Posix;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A flood of clients that reset their connections must not flood the log: resets are counted in the loop's metrics
 * and summarised in at most one line per interval, never one stack trace each.
 */
@Timeout(60)
class PeerErrorLogTest {
    static final int CLIENTS = 300;

    @Test
    void aFloodOfResetsIsCountedAndLoggedAsABoundedNumberOfLines() throws Exception {
        EventLoop loop = EventLoop.open();
        List<String> log = new CopyOnWriteArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        loop.onLog(log::add);
        loop.onError(errors::add);
        loop.peerErrorLogInterval(1, TimeUnit.SECONDS);
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        CountDownLatch up = new CountDownLatch(1);
        loop.execute(() -> {
            HttpServer.start(loop, l, HttpServer.Config.defaults());
            up.countDown();
        });
        loop.start("resets");
        try {
            assertTrue(up.await(5, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            for (int i = 0; i < CLIENTS; i++) {
                int fd = Posix.tcpConnect(l.port());
                Posix.write(fd, "GET / HTTP/1.1\r\nHost: x\r\n");       // half a head: the server keeps reading
                Posix.lingerZero(fd);
                Posix.rawClose(fd);                                      // RST
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (loop.metrics().peerResets() < CLIENTS && System.nanoTime() < deadline) Thread.sleep(10);
            long resets = loop.metrics().peerResets();
            assertTrue(resets == CLIENTS, "resets counted: " + resets + " of " + CLIENTS);
            // The last summary comes at the end of its interval.
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (log.stream().mapToLong(PeerErrorLogTest::resetsIn).sum() < resets && System.nanoTime() < deadline) Thread.sleep(20);
            long seconds = Math.max(1, (System.nanoTime() - t0) / 1_000_000_000L);
            List<String> lines = log.stream().filter(s -> s.startsWith("peer errors")).toList();
            System.out.println(resets + " resets in " + seconds + " s: " + lines.size() + " log lines, " + errors.size() + " errors: " + lines);
            assertTrue(errors.stream().noneMatch(t -> String.valueOf(t).contains("ECONNRESET")), "resets reached the error handler: " + errors);
            assertTrue(lines.size() <= seconds + 2, lines.size() + " lines in " + seconds + " s: " + lines);
            assertTrue(log.stream().mapToLong(PeerErrorLogTest::resetsIn).sum() == resets, "every reset is in some summary: " + lines);
        } finally {
            loop.close();
            l.close();
        }
    }

    /**
     * The once-per-JVM warm-up of this path (PeerErrors.warmOnce) runs on throwaway objects: it must end, log nothing
     * through any loop and count nothing in its metrics.
     */
    @Test
    void warmingThePeerErrorPathLogsNothingCountsNothingAndEnds() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        try (EventLoop loop = EventLoop.open()) {
            loop.onLog(log::add);
            loop.start("warm");
            CountDownLatch ran = new CountDownLatch(1);
            loop.execute(ran::countDown);
            assertTrue(ran.await(10, TimeUnit.SECONDS), "the loop did not run");
            // The warm-up starts once the loop waits with nothing to do.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!PeerErrors.warmStarted() && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(PeerErrors.warmStarted(), "an idle loop did not start the warm-up");
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals("knot-warm-errors")) {
                    t.join(TimeUnit.SECONDS.toMillis(20));
                    assertTrue(!t.isAlive(), "the warm-up thread is still running: " + List.of(t.getStackTrace()));
                }
            }
            assertTrue(log.isEmpty(), "logged: " + log);
            assertTrue(loop.metrics().peerResets() == 0 && loop.metrics().brokenPipes() == 0, "counted: " + loop.metrics());
        }
    }

    static long resetsIn(String line) {
        var m = java.util.regex.Pattern.compile("^peer errors: (\\d+) connection resets").matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
}
