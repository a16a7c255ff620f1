// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.examples.http.HttpServer;
import dev.knot.loop.EventLoop;
import dev.knot.net.ListenSocket;
import dev.knot.net.SocketBatch;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The HTTP example's batched socket I/O (one io_uring submission for the reads of an iteration's ready connections,
 * one for their answers) against its direct calls: many pipelining clients at once, answers that overflow the send
 * buffer, and clients that reset mid-answer must see the same bytes in both modes.
 */
@Timeout(120)
class HttpBatchedIoTest {
    private static final int CLIENTS = 24, ROUNDS = 60, DEPTH = 16;

    private record Running(EventLoop loop, ListenSocket listener, HttpServer server) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            loop.close();
            listener.close();
        }

        <T> T onLoop(java.util.function.Supplier<T> f) throws Exception {
            CompletableFuture<T> r = new CompletableFuture<>();
            loop.execute(() -> r.complete(f.get()));
            return r.get(10, TimeUnit.SECONDS);
        }
    }

    private static Running start(boolean batched) throws Exception {
        EventLoop loop = EventLoop.open();
        ListenSocket listener = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        AtomicReference<HttpServer> server = new AtomicReference<>();
        CountDownLatch up = new CountDownLatch(1);
        String before = System.getProperty("knot.http.batch");
        System.setProperty("knot.http.batch", Boolean.toString(batched));
        try {
            loop.execute(() -> {
                server.set(HttpServer.start(loop, listener, new HttpServer.Config(8192, 256 * 1024)));
                up.countDown();
            });
            loop.start("http-batch-" + batched);
            assertTrue(up.await(10, TimeUnit.SECONDS));
        } finally {
            if (before == null) System.clearProperty("knot.http.batch"); else System.setProperty("knot.http.batch", before);
        }
        return new Running(loop, listener, server.get());
    }

    private static boolean uringSockets() {
        try (SocketBatch b = SocketBatch.open()) {
            return b.batched();
        }
    }

    @ParameterizedTest(name = "batched={0}")
    @ValueSource(booleans = {true, false})
    void pipeliningClientsAtOnceGetEveryAnswerInOrder(boolean batched) throws Exception {
        try (Running r = start(batched); ExecutorService pool = Executors.newFixedThreadPool(CLIENTS)) {
            assertEquals(batched && uringSockets(), r.server().batchedIo(), "batched I/O where io_uring runs socket I/O, unless turned off");
            List<Future<Integer>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int id = c;
                clients.add(pool.submit(() -> pipeline(r.listener().port(), id)));
            }
            int answers = 0;
            for (Future<Integer> f : clients) answers += f.get(100, TimeUnit.SECONDS);
            assertEquals(CLIENTS * ROUNDS * DEPTH, answers);
            long shared = r.onLoop(() -> r.server().batchedOps());
            if (r.server().batchedIo()) {
                assertTrue(shared > 0, CLIENTS + " clients pipelining at once, yet no read or write shared a submission");
            } else {
                assertEquals(0, shared);
            }
            assertEquals(0L, (long) r.onLoop(() -> r.server().buffersHeld()), "every buffer back in its pool once the answers are out");
        }
    }

    /** Rounds of DEPTH pipelined requests, hellos and echoes of bodies naming the client and request; checks each answer. */
    private static int pipeline(int port, int id) throws IOException {
        int answers = 0;
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int round = 0; round < ROUNDS; round++) {
                ByteArrayOutputStream req = new ByteArrayOutputStream();
                for (int j = 0; j < DEPTH; j++) {
                    if (j % 2 == 0) {
                        req.writeBytes("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    } else {
                        byte[] body = ("client " + id + " round " + round + " request " + j).getBytes(StandardCharsets.US_ASCII);
                        req.writeBytes(("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                        req.writeBytes(body);
                    }
                }
                out.write(req.toByteArray());
                out.flush();
                for (int j = 0; j < DEPTH; j++) {
                    byte[] body = readAnswer(in);
                    String want = j % 2 == 0 ? "Hello, World!" : "client " + id + " round " + round + " request " + j;
                    assertEquals(want, new String(body, StandardCharsets.US_ASCII));
                    answers++;
                }
            }
        }
        return answers;
    }

    @ParameterizedTest(name = "batched={0}")
    @ValueSource(booleans = {true, false})
    void answersLargerThanTheSendBufferArriveWhole(boolean batched) throws Exception {
        // Echoes of 200 KB bodies written by several clients before they read: the server's writes come back short,
        // and what a batched write left must go out when the socket drains.
        int clients = 4, requests = 12;
        try (Running r = start(batched); ExecutorService pool = Executors.newFixedThreadPool(clients * 2)) {
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int id = c;
                work.add(pool.submit(() -> {
                    try (Socket s = new Socket("127.0.0.1", r.listener().port())) {
                        s.setSoTimeout(30_000);
                        byte[][] bodies = new byte[requests][];
                        for (int i = 0; i < requests; i++) {
                            bodies[i] = new byte[200_000];
                            new java.util.Random(id * 1000L + i).nextBytes(bodies[i]);
                        }
                        Future<?> writer = pool.submit(() -> {
                            OutputStream out = s.getOutputStream();
                            for (byte[] b : bodies) {
                                out.write(("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                                out.write(b);
                            }
                            out.flush();
                            return null;
                        });
                        InputStream in = new BufferedInputStream(s.getInputStream());
                        for (byte[] b : bodies) assertArrayEquals(b, readAnswer(in));
                        writer.get(30, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) f.get(100, TimeUnit.SECONDS);
            assertEquals(0L, (long) r.onLoop(() -> r.server().buffersHeld()));
        }
    }

    @ParameterizedTest(name = "batched={0}")
    @ValueSource(booleans = {true, false})
    void clientsThatResetMidAnswerLeaveTheOthersServed(boolean batched) throws Exception {
        try (Running r = start(batched); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                int id = c;
                work.add(pool.submit(() -> {
                    for (int k = 0; k < 30; k++) {
                        if (id % 2 == 0) {
                            // Pipelines a burst, then resets without reading: the answers' write fails or is cut.
                            Socket s = new Socket("127.0.0.1", r.listener().port());
                            s.setSoLinger(true, 0);
                            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(DEPTH).getBytes(StandardCharsets.US_ASCII));
                            s.close();
                        } else {
                            assertEquals(DEPTH, pipelineOnce(r.listener().port()));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) f.get(100, TimeUnit.SECONDS);
            // Every reset connection is closed and its buffers are back (conditions, not a sleep: poll the loop).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && (int) r.onLoop(() -> r.server().openConnections()) > 0) java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            assertEquals(0, (int) r.onLoop(() -> r.server().openConnections()));
            assertEquals(0L, (long) r.onLoop(() -> r.server().buffersHeld()));
        }
    }

    private static int pipelineOnce(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(DEPTH).getBytes(StandardCharsets.US_ASCII));
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int j = 0; j < DEPTH; j++) assertEquals("Hello, World!", new String(readAnswer(in), StandardCharsets.US_ASCII));
            return DEPTH;
        }
    }

    /** One HTTP/1.1 answer: checks the status line is 200 and returns the body (Content-Length framed). */
    private static byte[] readAnswer(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("the connection ended inside an answer's head: " + head);
            head.append((char) b);
        }
        String h = head.toString();
        assertTrue(h.startsWith("HTTP/1.1 200 OK\r\n"), h);
        int at = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length: ");
        assertTrue(at >= 0, h);
        int len = Integer.parseInt(h.substring(at + 16, h.indexOf("\r\n", at)).trim());
        return in.readNBytes(len);
    }
}
