// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.EventLoop;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The chat example with three real clients. */
class ChatServerTest {
    private record Client(Socket socket, BufferedReader in, PrintWriter out) implements AutoCloseable {
        static Client connect(int port) throws Exception {
            Socket s = new Socket("127.0.0.1", port);
            s.setSoTimeout(10_000);
            return new Client(s, new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)),
                    new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8));
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    @Test
    @Timeout(60)
    void linesGoToEveryOtherClientRenamesAndDeparturesAreAnnounced() throws Exception {
        EventLoop loop = EventLoop.open();
        CompletableFuture<ChatServer> server = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                server.complete(ChatServer.start(loop, new InetSocketAddress("127.0.0.1", 0)));
            } catch (Exception e) {
                server.completeExceptionally(e);
            }
        });
        loop.start("chat");
        int port = server.get(10, TimeUnit.SECONDS).listener().port();
        try (Client a = Client.connect(port)) {
            assertEquals("welcome, guest-1", a.in().readLine());
            try (Client b = Client.connect(port)) {
                assertEquals("welcome, guest-2", b.in().readLine());
                assertEquals("guest-2 joined", a.in().readLine());
                try (Client c = Client.connect(port)) {
                    assertEquals("welcome, guest-3", c.in().readLine());
                    assertEquals("guest-3 joined", a.in().readLine());
                    assertEquals("guest-3 joined", b.in().readLine());

                    a.out().print("hello, ");
                    a.out().flush();
                    a.out().println("all");                 // one line in two writes
                    assertEquals("guest-1: hello, all", b.in().readLine());
                    assertEquals("guest-1: hello, all", c.in().readLine());

                    b.out().println("/name bob");
                    assertEquals("guest-2 is now bob", a.in().readLine());
                    assertEquals("guest-2 is now bob", b.in().readLine());
                    assertEquals("guest-2 is now bob", c.in().readLine());
                    b.out().println("hi");
                    assertEquals("bob: hi", a.in().readLine());
                    assertEquals("bob: hi", c.in().readLine());
                }
                assertEquals("guest-3 left", a.in().readLine());
                assertEquals("guest-3 left", b.in().readLine());
            }
            assertEquals("bob left", a.in().readLine());
        }
        loop.shutdownGracefully();
        assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
    }
}
