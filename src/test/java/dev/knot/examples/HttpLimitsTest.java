// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.examples.http.HttpServer;
import dev.knot.loop.EventLoop;
import dev.knot.net.ListenSocket;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToLongFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP example's limits and timeouts, and two RFC details, driven by raw sockets. */
@Timeout(60)
class HttpLimitsTest {
    EventLoop loop;
    ListenSocket listener;
    final AtomicReference<HttpServer> server = new AtomicReference<>();
    int port;
    final List<Socket> clients = new ArrayList<>();

    void start(HttpServer.Config config) throws Exception {
        loop = EventLoop.open();
        listener = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        port = listener.port();
        CountDownLatch up = new CountDownLatch(1);
        loop.execute(() -> {
            server.set(HttpServer.start(loop, listener, config));
            up.countDown();
        });
        loop.start("http");
        assertTrue(up.await(5, TimeUnit.SECONDS));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : clients) s.close();
        if (loop != null) loop.close();
        if (listener != null) listener.close();
    }

    static HttpServer.Config config(int maxConnections, long headerMs, long idleMs, long bodyMs) {
        return new HttpServer.Config(1024, 64 * 1024, maxConnections, headerMs, idleMs, bodyMs);
    }

    Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        clients.add(s);
        return s;
    }

    /** Everything until EOF (or the timeout), as text. */
    static String readAll(Socket s, int timeoutMs) throws IOException {
        s.setSoTimeout(timeoutMs);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            int n;
            while ((n = in.read(buf)) > 0) b.write(buf, 0, n);
        } catch (SocketTimeoutException e) {
            return b.toString(StandardCharsets.ISO_8859_1) + "<timeout>";
        } catch (IOException reset) {
            return b.toString(StandardCharsets.ISO_8859_1) + "<reset>";
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads one response head (and a short body) without waiting for EOF. */
    static String readResponse(Socket s, int timeoutMs) throws IOException {
        s.setSoTimeout(timeoutMs);
        InputStream in = s.getInputStream();
        StringBuilder b = new StringBuilder();
        while (!b.toString().contains("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) break;
            b.append((char) c);
        }
        String head = b.toString();
        var m = java.util.regex.Pattern.compile("Content-Length: (\\d+)").matcher(head);
        if (m.find()) b.append(new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.ISO_8859_1));
        return b.toString();
    }

    static void send(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    long onLoop(ToLongFunction<HttpServer> f) throws Exception {
        CompletableFuture<Long> r = new CompletableFuture<>();
        loop.execute(() -> r.complete(f.applyAsLong(server.get())));
        return r.get(5, TimeUnit.SECONDS);
    }

    @Test
    void obsTextInAHeaderValueIsAccepted() throws Exception {
        start(HttpServer.Config.defaults());
        Socket s = connect();
        s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(new byte[] {(byte) 0xc3, (byte) 0xa9, (byte) 0xff, (byte) 0x80});
        send(s, "\r\nConnection: close\r\n\r\n");
        String r = readAll(s, 5000);
        assertTrue(r.startsWith("HTTP/1.1 200 "), "RFC 9110 allows obs-text (0x80-0xff) in field values: " + r);
    }

    @Test
    void http11WithoutHostOrWithTwoIs400AndHttp10WithoutHostIsServed() throws Exception {
        start(HttpServer.Config.defaults());
        Socket a = connect();
        send(a, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        String r = readAll(a, 5000);
        assertTrue(r.startsWith("HTTP/1.1 400 "), "RFC 9112 3.2: HTTP/1.1 without Host is 400: " + r);
        Socket b = connect();
        send(b, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n");
        assertTrue(readAll(b, 5000).startsWith("HTTP/1.1 400 "), "two Host fields are 400");
        Socket c = connect();
        send(c, "GET / HTTP/1.0\r\n\r\n");
        assertTrue(readAll(c, 5000).startsWith("HTTP/1.1 200 "), "HTTP/1.0 needs no Host");
    }

    @Test
    void aConnectionThatSendsNothingIsClosedByTheHeaderTimeout() throws Exception {
        start(config(100, 500, 60_000, 60_000));
        Socket s = connect();
        long t0 = System.nanoTime();
        String r = readAll(s, 10_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("", r, "closed without an answer");
        assertTrue(ms >= 400 && ms < 5000, "closed after " + ms + " ms, header timeout 500 ms");
        assertEquals(1, onLoop(HttpServer::timedOutConnections));
    }

    @Test
    void aSlowlorisHeadIsClosedByTheHeaderTimeoutHoweverItTrickles() throws Exception {
        start(config(100, 800, 60_000, 60_000));
        Socket s = connect();
        send(s, "GET / HTTP/1.1\r\nHost: x\r\n");
        long t0 = System.nanoTime();
        boolean closed = false;
        try {
            for (int i = 0; i < 100 && !closed; i++) {
                send(s, "X");                                  // a byte every 50 ms: never idle, never done
                Thread.sleep(50);
                s.setSoTimeout(1);
                try {
                    closed = s.getInputStream().read() < 0;
                } catch (SocketTimeoutException stillOpen) {
                    // go on trickling
                }
            }
        } catch (IOException reset) {
            closed = true;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(closed, "a trickling head must not keep its connection forever");
        assertTrue(ms >= 600 && ms < 4000, "closed after " + ms + " ms, header timeout 800 ms");
    }

    @Test
    void aKeptAliveConnectionIsClosedByTheIdleTimeoutAndAnActiveOneIsNot() throws Exception {
        start(config(100, 60_000, 600, 60_000));
        Socket idle = connect();
        Socket active = connect();
        send(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(readResponse(idle, 5000).startsWith("HTTP/1.1 200 "));
        long t0 = System.nanoTime();
        for (int i = 0; i < 12; i++) {                         // 1.2 s of requests, each within the idle timeout
            send(active, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assertTrue(readResponse(active, 5000).startsWith("HTTP/1.1 200 "), "request " + i);
            Thread.sleep(100);
        }
        assertEquals("", readAll(idle, 10_000));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 5000, "idle connection closed after " + ms + " ms");
        send(active, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(readResponse(active, 5000).startsWith("HTTP/1.1 200 "), "the active connection stays open");
    }

    @Test
    void aStalledBodyIsClosedByTheBodyTimeout() throws Exception {
        start(config(100, 60_000, 60_000, 600));
        Socket s = connect();
        send(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
        long t0 = System.nanoTime();
        assertEquals("", readAll(s, 10_000));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 400 && ms < 5000, "closed after " + ms + " ms, body timeout 600 ms");
        // A body that keeps coming is not cut off.
        Socket t = connect();
        send(t, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: close\r\n\r\n");
        for (int i = 0; i < 12; i++) {
            send(t, "z");
            Thread.sleep(100);
        }
        assertTrue(readAll(t, 5000).endsWith("zzzzzzzzzzzz"));
    }

    @Test
    void atTheCapAWaitingConnectionMakesRoomAndBusyOnesAreNeverExceeded() throws Exception {
        start(config(3, 60_000, 60_000, 60_000));
        // Three idle connections fill the cap; a fourth client is still served, by closing the oldest idle one.
        Socket first = connect();
        send(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(readResponse(first, 5000).startsWith("HTTP/1.1 200 "));
        connect();
        connect();
        Socket fourth = connect();
        send(fourth, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(readAll(fourth, 5000).startsWith("HTTP/1.1 200 "));
        assertEquals("", readAll(first, 5000), "the connection idle longest made room");
        assertTrue(onLoop(HttpServer::evictedConnections) >= 1);

        // Three requests in progress (nobody waiting): a fifth connection waits until one is answered and idle.
        for (Socket s : clients) s.close();
        clients.clear();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (onLoop(HttpServer::openConnections) > 0 && System.nanoTime() < deadline) Thread.sleep(10);
        List<Socket> busy = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket b = connect();
            send(b, "GET /sleep?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
            busy.add(b);
        }
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (onLoop(HttpServer::openConnections) < 3 && System.nanoTime() < deadline) Thread.sleep(10);
        Socket fifth = connect();
        send(fifth, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        long t0 = System.nanoTime();
        String r = readAll(fifth, 10_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(r.startsWith("HTTP/1.1 200 "), r);
        assertTrue(ms >= 800, "answered after " + ms + " ms: the cap was exceeded while 3 requests were in progress");
        for (Socket b : busy) assertTrue(readResponse(b, 5000).startsWith("HTTP/1.1 200 "), "the busy ones are answered");
        assertTrue(onLoop(HttpServer::acceptPauses) >= 1);
    }

    @Test
    void configOptionsParseAndRejectBadValues() {
        HttpServer.Config c = HttpServer.Config.defaults().with(List.of("--max-connections", "7", "--header-timeout-ms", "100",
                "--idle-timeout-ms", "200", "--body-timeout-ms", "300"));
        assertEquals(7, c.maxConnections());
        assertEquals(100, c.headerTimeoutMillis());
        assertEquals(200, c.idleTimeoutMillis());
        assertEquals(300, c.bodyTimeoutMillis());
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> HttpServer.Config.defaults().with(List.of("--idle-timeout-ms", "x")));
        assertTrue(e.getMessage().contains("--idle-timeout-ms"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> HttpServer.Config.defaults().with(List.of("--max-connections", "0")));
        assertTrue(HttpServer.Config.defaultMaxConnections() > 0);
    }
}
