// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.knot.testing.ChildJvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The acceptance run of the HTTP limits: a server in a JVM limited to 256 descriptors (prlimit(1)), with its default
 * connection cap and short timeouts, faces 1,000 idle connections and then 1,000 slowloris connections; a
 * well-behaved client that opens a connection per request must still be answered within a second every time, and
 * every flood connection must be closed by the server (made room for, or timed out).
 */
@Timeout(180)
class HttpFloodTest {
    static final int FLOOD = 1000;

    @Test
    void aWellBehavedClientIsAnsweredWithinASecondThroughIdleAndSlowlorisFloods() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "needs prlimit(1)");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/prlimit", "--nofile=256"));
        cmd.addAll(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Xss1m", "-XX:+UseSerialGC", "-Xmx128m"),
                HttpFloodChild.class.getName(), "--header-timeout-ms", "1500", "--idle-timeout-ms", "1500", "--body-timeout-ms", "1500"));
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        List<String> all = Collections.synchronizedList(new ArrayList<>());
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    all.add(l);
                    lines.add(l);
                }
            } catch (IOException e) {
                // the child is gone
            }
        });
        PrintStream control = new PrintStream(child.getOutputStream(), true, StandardCharsets.US_ASCII);
        try {
            String first = lines.poll(60, TimeUnit.SECONDS);
            assertTrue(first != null && first.startsWith("port "), "child did not start: " + first);
            String[] w = first.split(" ");
            int port = Integer.parseInt(w[1]);
            int max = Integer.parseInt(w[3]);
            assertTrue(max < 256, "the default cap must stay below the descriptor limit: " + max);

            Phase idle = flood(port, false);
            Phase slow = flood(port, true);
            control.println("stats");
            String stats = null;
            for (String l; (l = lines.poll(10, TimeUnit.SECONDS)) != null; ) {
                if (l.startsWith("stats ")) {
                    stats = l;
                    break;
                }
            }
            System.out.println("cap " + max + "; idle flood: " + idle + "; slowloris flood: " + slow + "; server " + stats);
            assertTrue(stats != null, "no stats: " + all);
            for (Phase p : List.of(idle, slow)) {
                assertEquals(0, p.failures, p.toString());
                // Within a second; one straggler is tolerated (not two, and none past 3 s) because the CI machine
                // is shared and a descheduled client or server thread alone can take that long.
                assertTrue(p.overOneSecond <= 1 && p.maxMillis < 3000, "well-behaved requests over 1 s: " + p);
                assertEquals(FLOOD, p.closedByServer, "every flood connection must be closed by the server: " + p);
            }
            long timedOut = Long.parseLong(stats.replaceAll(".*timedOut=(\\d+).*", "$1"));
            long evicted = Long.parseLong(stats.replaceAll(".*evicted=(\\d+).*", "$1"));
            assertTrue(timedOut > 0 && evicted > 0, stats);
            synchronized (all) {
                for (String l : all) assertTrue(!l.contains("EMFILE"), "the server ran out of descriptors: " + l);
            }
        } finally {
            control.close();
            if (!child.waitFor(20, TimeUnit.SECONDS)) child.destroyForcibly().waitFor();
            reader.join(5000);
        }
    }

    record Phase(int requests, int failures, long maxMillis, long p50Millis, long overOneSecond, int closedByServer, long closeSeconds) {}

    /** Opens FLOOD connections (idle, or trickling a head), serves a good client meanwhile, and waits for the closes. */
    static Phase flood(int port, boolean slowloris) throws Exception {
        List<SocketChannel> flood = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        Thread opener = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < FLOOD; i++) {
                    SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
                    c.configureBlocking(false);
                    if (slowloris) c.write(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII)));
                    flood.add(c);
                }
                while (slowloris && !stop.get()) {                 // a byte now and then, to each still open
                    synchronized (flood) {
                        for (SocketChannel c : flood) {
                            try {
                                if (c.isOpen()) c.write(ByteBuffer.wrap(new byte[] {'a'}));
                            } catch (IOException closedByServer) {
                                // counted below
                            }
                        }
                    }
                    Thread.sleep(200);
                }
            } catch (IOException | InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        List<Long> times = new ArrayList<>();
        int failures = 0;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                String r = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                if (!r.startsWith("HTTP/1.1 200 ") || !r.endsWith("Hello, World!")) {
                    failures++;
                    System.out.println("bad answer after " + (System.nanoTime() - t0) / 1_000_000 + " ms: " + r);
                }
            } catch (IOException e) {
                failures++;
                System.out.println("failed after " + (System.nanoTime() - t0) / 1_000_000 + " ms: " + e);
            }
            times.add((System.nanoTime() - t0) / 1_000_000);
            Thread.sleep(50);
        }
        opener.join(30_000);
        // Every flood connection must now be closed by the server: EOF or a reset.
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(20);
        int closed = 0;
        ByteBuffer buf = ByteBuffer.allocate(4096);
        List<SocketChannel> open = new ArrayList<>(flood);
        while (!open.isEmpty() && System.nanoTime() < deadline) {
            for (int i = open.size() - 1; i >= 0; i--) {
                SocketChannel c = open.get(i);
                boolean gone;
                try {
                    buf.clear();
                    gone = c.read(buf) < 0;
                } catch (IOException reset) {
                    gone = true;
                }
                if (gone) {
                    closed++;
                    open.remove(i);
                }
            }
            if (!open.isEmpty()) Thread.sleep(50);
        }
        stop.set(true);
        long closeSeconds = (System.nanoTime() - t0) / 1_000_000_000L;
        synchronized (flood) {
            for (SocketChannel c : flood) c.close();
        }
        Collections.sort(times);
        return new Phase(times.size(), failures, times.getLast(), times.get(times.size() / 2),
                times.stream().filter(t -> t >= 1000).count(), closed, closeSeconds);
    }
}
