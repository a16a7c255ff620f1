// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import dev.knot.examples.http.HttpServer;
import dev.knot.loop.EventLoop;
import dev.knot.net.ListenSocket;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The server side of {@link HttpFloodTest}: the HTTP example with the options given as arguments, in a JVM whose
 * descriptor limit the test lowers with prlimit(1). Prints {@code port N}, then answers {@code stats} on standard
 * input with one line of counters; exits at EOF.
 */
public final class HttpFloodChild {
    private HttpFloodChild() {}

    public static void main(String[] args) throws Exception {
        HttpServer.Config config = HttpServer.Config.defaults().with(List.of(args));
        EventLoop loop = EventLoop.open();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0), 4096);
        AtomicReference<HttpServer> server = new AtomicReference<>();
        loop.onError(t -> System.out.println("error: " + t));
        loop.onLog(m -> System.out.println("log: " + m));
        loop.execute(() -> server.set(HttpServer.start(loop, l, config)));
        loop.start("http");
        System.out.println("port " + l.port() + " max " + config.maxConnections());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.equals("stats")) continue;
            CompletableFuture<String> f = new CompletableFuture<>();
            loop.execute(() -> {
                HttpServer s = server.get();
                f.complete("stats open=" + s.openConnections() + " timedOut=" + s.timedOutConnections() + " evicted="
                        + s.evictedConnections() + " pauses=" + s.acceptPauses() + " requests=" + s.requests());
            });
            String stats = f.get();
            long fds;
            try (var list = Files.list(Path.of("/proc/self/fd"))) {
                fds = list.count();
            }
            System.out.println(stats + " fds=" + fds);
        }
        loop.close();
        l.close();
    }
}
