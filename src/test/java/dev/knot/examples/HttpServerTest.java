// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.examples.http.HttpServer;
import dev.knot.loop.EventLoop;
import dev.knot.net.ListenSocket;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP example driven by real clients: the JDK HttpClient, curl, and raw sockets for the edge cases. */
@Timeout(60)
class HttpServerTest {
    EventLoop loop;
    ListenSocket listener;
    AtomicReference<HttpServer> server = new AtomicReference<>();
    int port;

    @BeforeEach
    void start() throws Exception {
        loop = EventLoop.open();
        listener = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        port = listener.port();
        CountDownLatch up = new CountDownLatch(1);
        loop.execute(() -> {
            server.set(HttpServer.start(loop, listener, new HttpServer.Config(1024, 64 * 1024)));
            up.countDown();
        });
        loop.start("http");
        assertTrue(up.await(5, TimeUnit.SECONDS));
    }

    @AfterEach
    void stop() throws Exception {
        loop.close();
        listener.close();
    }

    @Test
    void jdkHttpClientGetsHelloWorldOverOneKeptAliveConnection() throws Exception {
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/plaintext")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                assertEquals("Hello, World!", r.body());
                assertEquals("text/plain", r.headers().firstValue("content-type").orElseThrow());
                assertTrue(r.headers().firstValue("date").orElseThrow().endsWith("GMT"));
            }
            HttpResponse<String> nf = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/missing")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, nf.statusCode());
            byte[] body = new byte[50_000];
            new java.util.Random(1).nextBytes(body);
            HttpResponse<byte[]> echo = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, echo.statusCode());
            org.junit.jupiter.api.Assertions.assertArrayEquals(body, echo.body());
        }
        CountDownLatch checked = new CountDownLatch(1);
        int[] open = new int[1];
        long[] requests = new long[1];
        loop.execute(() -> {
            open[0] = server.get().openConnections();
            requests[0] = server.get().requests();
            checked.countDown();
        });
        assertTrue(checked.await(5, TimeUnit.SECONDS));
        assertEquals(22, requests[0]);
        assertTrue(open[0] <= 1, "keep-alive: one connection for 22 requests, open now " + open[0]);
    }

    @Test
    void curlGetsTheFixedResponseAndTheEcho() throws Exception {
        Process p = new ProcessBuilder("curl", "-s", "-i", "http://127.0.0.1:" + port + "/", "http://127.0.0.1:" + port + "/plaintext")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals(2, out.split("HTTP/1.1 200 OK", -1).length - 1, out);
        assertEquals(2, out.split("Hello, World!", -1).length - 1, out);
        Process post = new ProcessBuilder("curl", "-s", "--data-binary", "knot over curl", "http://127.0.0.1:" + port + "/echo")
                .redirectErrorStream(true).start();
        String echoed = new String(post.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(post.waitFor(30, TimeUnit.SECONDS));
        assertEquals("knot over curl", echoed);
    }

    private String exchange(String request, boolean waitForClose) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            long deadline = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < deadline) {
                int n;
                try {
                    n = in.read(buf);
                } catch (java.net.SocketTimeoutException e) {
                    break;
                }
                if (n < 0) break;
                got.write(buf, 0, n);
                if (!waitForClose && got.toString(StandardCharsets.ISO_8859_1).split("HTTP/1.1", -1).length - 1 >= 3) break;
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void pipelinedRequestsAreAllAnsweredInOrder() throws Exception {
        String one = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
        String post = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        String r = exchange(one + post + one, false);
        int a = r.indexOf("Hello, World!"), b = r.indexOf("\r\n\r\nhello"), c = r.lastIndexOf("Hello, World!");
        assertTrue(a > 0 && b > a && c > b, r);
        assertEquals(3, r.split("HTTP/1.1 200 OK", -1).length - 1, r);
    }

    @Test
    void theKeptAliveHelloCarriesTheCurrentDateAndTheSameBytesAsTheOtherRoutes() throws Exception {
        // The kept-alive /plaintext answer is pre-rendered with its Date: it must move with the clock, and be the bytes
        // the piecewise path renders (the one a closing answer takes, which adds only Connection: close).
        java.time.format.DateTimeFormatter http = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME;
        String one = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
        String first = exchange(one + one + one, false);
        String date = header(first, "Date");
        long skew = Math.abs(java.time.Duration.between(java.time.ZonedDateTime.parse(date, http), java.time.ZonedDateTime.now()).toSeconds());
        assertTrue(skew <= 2, "Date " + date + " is " + skew + " s off the clock");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String later = date;
        while (later.equals(date) && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000);
            later = header(exchange(one + one + one, false), "Date");
        }
        assertTrue(!later.equals(date), "the Date header stayed " + date + " for 5 s");
        String piecewise = exchange("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true)
                .replace("\r\nConnection: close", "");
        String a = first.substring(0, first.indexOf("Hello, World!") + 13).replace(date, "D");
        String b = piecewise.substring(0, piecewise.indexOf("Hello, World!") + 13).replaceAll("Date: [^\r]*", "Date: D");
        assertEquals(b, a);
    }

    private static String header(String response, String name) {
        int at = response.indexOf("\r\n" + name + ": ");
        assertTrue(at >= 0, "no " + name + " in " + response);
        return response.substring(at + name.length() + 4, response.indexOf("\r\n", at + 2));
    }

    @Test
    void malformedRequestsGet400AndTheConnectionCloses() throws Exception {
        for (String bad : new String[] {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "GET / HTTP/1.1\nHost: x\n\n\r\n\r\n"}) {
            String r = exchange(bad, true);
            assertTrue(r.startsWith("HTTP/1.1 400 Bad Request\r\n"), "for " + bad.replace("\r\n", "\\r\\n") + ": " + r);
            assertTrue(r.contains("Connection: close"), r);
        }
        String te = exchange("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true);
        assertTrue(te.startsWith("HTTP/1.1 501"), te);
    }

    @Test
    void oversizedHeadersGet431AndOversizedBodiesGet413() throws Exception {
        String big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(2000) + "\r\n\r\n";
        String r = exchange(big, true);
        assertTrue(r.startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"), r);
        String body = exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", true);
        assertTrue(body.startsWith("HTTP/1.1 413 Content Too Large\r\n"), body);
    }

    @Test
    void http10ClosesUnlessKeepAliveAndConnectionCloseIsHonoured() throws Exception {
        String r = exchange("GET / HTTP/1.0\r\n\r\n", true);
        assertTrue(r.startsWith("HTTP/1.1 200 OK") && r.contains("Connection: close") && r.endsWith("Hello, World!"), r);
        String c = exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true);
        assertTrue(c.contains("Connection: close") && c.endsWith("Hello, World!"), c);
        String head = exchange("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true);
        assertTrue(head.contains("Content-Length: 0") || head.contains("Content-Length: "), head);
        assertTrue(!head.contains("Hello"), head);
    }

    /**
     * READ is level-triggered, so input the server cannot take yet (pipelined bytes behind a delayed answer, a full
     * input buffer, bytes after "Connection: close") must take READ interest away, or the loop spins until the answer.
     */
    @Test
    void inputThatMustWaitDoesNotSpinTheLoop() throws Exception {
        String sleep = "GET /sleep?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n";
        String one = "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
        int behind = 80 * 1024 / one.length();                 // more than the 65 KiB the input buffer may grow to
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    out.write((sleep + one.repeat(behind) + "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nextra")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                } catch (java.io.IOException ignored) {
                    // the reader's assertions say what went wrong
                }
            });
            Thread.sleep(250);                                 // the buffer has filled; the answer is due at 800 ms
            long before = loop.metrics().iterations();
            Thread.sleep(300);
            long spun = loop.metrics().iterations() - before;
            assertTrue(spun < 50, "the loop ran " + spun + " iterations in 300 ms while the input had to wait");

            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long answers = 0;
            String tail = "";
            int n;
            while ((n = in.read(buf)) > 0) {
                String chunk = tail + new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                answers += chunk.split("HTTP/1.1 200 OK", -1).length - 1;
                tail = chunk.substring(Math.max(0, chunk.length() - 16));
                answers -= tail.split("HTTP/1.1 200 OK", -1).length - 1;   // counted again with the next chunk
            }
            answers += tail.split("HTTP/1.1 200 OK", -1).length - 1;
            writer.join();
            assertEquals(behind + 2, answers, "every pipelined request is answered once, then the connection closes");
        }
    }

    /** Reads one Hello response (head and 13-byte body) from a keep-alive connection. */
    private static void readHello(InputStream in) throws Exception {
        byte[] want = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
        int matched = 0, b;
        while (matched < want.length && (b = in.read()) >= 0) matched = b == want[matched] ? matched + 1 : (b == want[0] ? 1 : 0);
        assertEquals(want.length, matched, "a whole Hello response");
    }

    private long onLoop(java.util.function.LongSupplier f) throws Exception {
        java.util.concurrent.CompletableFuture<Long> r = new java.util.concurrent.CompletableFuture<>();
        loop.execute(() -> r.complete(f.getAsLong()));
        return r.get(5, TimeUnit.SECONDS);
    }

    private long buffersHeld() throws Exception {
        return onLoop(() -> server.get().buffersHeld());
    }

    private void awaitBuffersHeld(long want) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10), held;
        while ((held = buffersHeld()) != want && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(want, held, "buffers held by the server's connections");
    }

    /**
     * Issue 14: an idle keep-alive connection holds no buffer; one with a partial request holds one input buffer, and
     * gives it back once the request is answered.
     */
    @Test
    void idleKeptAliveConnectionsHoldNoBuffer() throws Exception {
        byte[] get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        Socket[] clients = new Socket[50];
        try {
            for (int i = 0; i < clients.length; i++) {
                clients[i] = new Socket("127.0.0.1", port);
                clients[i].setSoTimeout(10_000);
                clients[i].getOutputStream().write(get);
            }
            for (Socket c : clients) readHello(c.getInputStream());
            awaitBuffersHeld(0);
            OutputStream out = clients[0].getOutputStream();
            out.write("GET / HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
            awaitBuffersHeld(1);
            out.write("st: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            readHello(clients[0].getInputStream());
            awaitBuffersHeld(0);
            // A request still arriving after the others are answered: the answered ones keep nothing.
            out.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe".getBytes(StandardCharsets.US_ASCII));
            awaitBuffersHeld(1);
        } finally {
            for (Socket c : clients) if (c != null) c.close();
        }
        assertEquals(0, buffersHeldAfterClose(), "closed connections give their buffers back");
    }

    /** Once the clients are gone the connections close and give back what they held. */
    private long buffersHeldAfterClose() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (onLoop(() -> (long) server.get().openConnections()) > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        return buffersHeld();
    }

    /**
     * Borrowing and giving back buffers per request must not turn into garbage. Until C2 has compiled the downcalls'
     * adapter chains, C1 code still allocates per call (see KnotLoopAllocationTest), so batches run until two in a row
     * stay at the steady state: nothing. StreamSocket's read(segment, offset, length) and write(segment, offset,
     * length) pass a slice to the downcall so that the JDK keeps the arena alive during the call; the downcall is
     * inlined where the slice is made, so the slice is never allocated (it was 40 B each, 80 B per request, before).
     * A single object per request would be at least 16 B.
     */
    @Test
    void keptAliveRequestsAllocateNothingOnTheLoopThread() throws Exception {
        long tid = onLoop(() -> Thread.currentThread().threadId());
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        byte[] get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(10_000);
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            for (int i = 0; i < 20_000; i++) {
                out.write(get);
                readHello(in);
            }
            assertTrue(mx.getThreadAllocatedBytes(tid) > 0, "the allocation counter works on this JVM");
            java.util.List<Long> perRequest = new java.util.ArrayList<>();
            int quiet = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (quiet < 2 && System.nanoTime() < deadline) {
                int rounds = 5_000;
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < rounds; i++) {
                    out.write(get);
                    readHello(in);
                }
                long b = (mx.getThreadAllocatedBytes(tid) - before) / rounds;
                perRequest.add(b);
                quiet = b < 16 ? quiet + 1 : 0;
            }
            assertEquals(2, quiet, "bytes allocated per kept-alive request on the loop thread, per batch of 5,000: " + perRequest);
            System.out.println("loop-thread bytes per kept-alive request, per batch of 5,000: " + perRequest);
        }
    }
}
