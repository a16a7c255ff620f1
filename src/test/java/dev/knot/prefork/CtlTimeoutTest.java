// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * knotctl never hangs on a master that accepted its connection and does not answer (a stuck loop): it gives up
 * after its timeout with an error naming the command and the socket. A control socket of our own stands in for a
 * stuck master; the real master is exercised in ControlSocketTest.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CtlTimeoutTest {
    Path dir, socket;
    ServerSocketChannel server;

    @BeforeEach
    void listen() throws Exception {
        dir = Files.createTempDirectory("knot-ctl");
        socket = dir.resolve("control.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    @AfterEach
    void close() throws Exception {
        server.close();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }

    @Test
    void aMasterThatNeverAnswersTimesOutWithAClearError() throws Exception {
        long t0 = System.nanoTime();
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class, () -> Ctl.send(socket, "status", 300));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms >= 250 && ms < 10_000, "gave up after the timeout, not before or much later: " + ms + " ms");
        assertTrue(e.getMessage().contains("'status'") && e.getMessage().contains(socket.toString()), e.getMessage());
        assertEquals(2, Ctl.run(socket, "status", 300), "knotctl's exit status when the master cannot be reached");
    }

    @Test
    void aSlowAnswerInPiecesIsReadWhole() throws Exception {
        Thread master = Thread.ofPlatform().start(() -> {
            try (SocketChannel c = server.accept()) {
                ByteBuffer line = ByteBuffer.allocate(64);
                while (line.position() == 0 || line.get(line.position() - 1) != '\n') c.read(line);
                c.write(ByteBuffer.wrap("state ".getBytes(StandardCharsets.UTF_8)));
                Thread.sleep(200);
                c.write(ByteBuffer.wrap("running\n".getBytes(StandardCharsets.UTF_8)));
            } catch (Exception ignored) {
                // the test's assertion reports it
            }
        });
        assertEquals("state running\n", Ctl.send(socket, "status", 10_000));
        master.join();
    }
}
