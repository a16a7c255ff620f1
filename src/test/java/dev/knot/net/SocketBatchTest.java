// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.sys.ErrnoException;
import dev.knot.system.Uring;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The socket batch on real sockets, through io_uring where this kernel allows it (and the direct calls where not):
 * a batch never waits (an empty receive queue and a full send buffer come back as 0 at once, even together with
 * operations that do transfer), results arrive by position, and errors are the direct calls' errors.
 */
@Timeout(30)
class SocketBatchTest {
    @Test
    void usesTheRingWhereIoUringIsAvailable() {
        try (SocketBatch b = SocketBatch.open()) {
            assertEquals(Uring.available(), b.batched(), "io_uring: " + Uring.unavailableReason());
        }
    }

    @Test
    void readsAndWritesOfSeveralSocketsGoInOneSubmission() throws IOException {
        StreamSocket[] a = StreamSocket.pair(), c = StreamSocket.pair();
        try (SocketBatch b = SocketBatch.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocateFrom("hello, batch");
            MemorySegment in1 = arena.allocate(64), in2 = arena.allocate(64);
            assertEquals(12, a[0].writeAddress(out.address(), 12));
            assertEquals(3, c[0].writeAddress(out.address(), 3));
            b.iovecs().set(b.iovBase(), out.address(), 5);
            b.iovecs().set(b.iovBase() + 1, out.address() + 5, 7);
            int w = b.writev(a[0], 2);
            int r1 = b.recv(a[1], in1.address(), 12);                            // the direct write's 12 bytes
            int r2 = b.recv(c[1], in2.address(), 64);
            b.submit();
            assertEquals(12, b.writeResult(w));
            assertEquals(12, b.readResult(r1));
            assertEquals(3, b.readResult(r2));
            assertEquals("hel", in2.getString(0).substring(0, 3));
            b.clear();
            // The batched writev's 12 bytes follow, in order.
            int r3 = b.recv(a[1], in1.address(), 64);
            int r4 = b.recv(c[1], in2.address(), 64);
            b.submit();
            assertEquals(12, b.readResult(r3));
            assertEquals("hello, batch", in1.getString(0).substring(0, 12));
            assertEquals(0, b.readResult(r4), "an empty receive queue is 0 at once, not a wait");
        } finally {
            close(a);
            close(c);
        }
    }

    @Test
    void aFullSendBufferIsZeroBytesNotAWait() throws IOException {
        StreamSocket[] a = StreamSocket.pair(), c = StreamSocket.pair();
        try (SocketBatch b = SocketBatch.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment chunk = arena.allocate(64 * 1024);
            while (a[0].writeAddress(chunk.address(), (int) chunk.byteSize()) > 0) {
                // Fill a[0]'s send buffer (and its peer's receive queue) until the kernel takes no more.
            }
            b.iovecs().set(b.iovBase(), chunk.address(), 1024);
            int full = b.writev(a[0], 1);
            b.iovecs().set(b.iovBase(), chunk.address(), 100);
            int room = b.writev(c[0], 1);
            int empty = b.recv(c[0], chunk.address() + 4096, 16);
            b.submit();
            assertEquals(0, b.writeResult(full));
            assertEquals(100, b.writeResult(room));
            assertEquals(0, b.readResult(empty));
        } finally {
            close(a);
            close(c);
        }
    }

    @Test
    void endOfStreamAndErrorsAreTheDirectCallsResults() throws IOException {
        StreamSocket[] a = StreamSocket.pair(), c = StreamSocket.pair();
        try (SocketBatch b = SocketBatch.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            a[0].close();                                     // a[1] reads EOF
            c[1].close();                                     // c[0] writes into a closed peer: EPIPE
            int eof = b.recv(a[1], buf.address(), 16);
            b.iovecs().set(b.iovBase(), buf.address(), 16);
            int pipe = b.writev(c[0], 1);
            b.submit();
            assertEquals(-1, b.readResult(eof));
            ErrnoException e = assertThrows(ErrnoException.class, () -> b.writeResult(pipe));
            assertEquals("EPIPE", e.errnoName());
        } finally {
            close(a);
            close(c);
        }
    }

    @Test
    void aResetPeerIsAnErrorAndAClosedSocketIsEbadf() throws IOException {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
             SocketBatch b = SocketBatch.open(); Arena arena = Arena.ofConfined()) {
            StreamSocket client = blockingConnect(l);
            StreamSocket server = acceptOne(l);
            MemorySegment buf = arena.allocate(16);
            client.setLinger(0);
            client.close();                                   // RST
            StreamSocket[] p = StreamSocket.pair();
            p[0].close();
            int reset = b.recv(server, buf.address(), 16);
            int closed = b.recv(p[0], buf.address(), 16);
            b.submit();
            assertEquals("ECONNRESET", assertThrows(ErrnoException.class, () -> b.readResult(reset)).errnoName());
            assertEquals("EBADF", assertThrows(ErrnoException.class, () -> b.readResult(closed)).errnoName());
            server.close();
            p[1].close();
        }
    }

    @Test
    void queueingPastTheRoomIsAClearError() throws IOException {
        StreamSocket[] a = StreamSocket.pair();
        try (SocketBatch b = SocketBatch.open(); Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(8);
            while (b.room() > 0) b.recv(a[1], buf.address(), 8);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.recv(a[1], buf.address(), 8));
            assertTrue(e.getMessage().contains("full"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> b.writev(a[0], SocketBatch.IOV_PER_WRITE + 1));
            b.submit();
            for (int i = 0; i < b.size(); i++) assertEquals(0, b.readResult(i));
        } finally {
            close(a);
        }
    }

    private static StreamSocket blockingConnect(ListenSocket l) throws IOException {
        StreamSocket c = StreamSocket.connect(l.localAddress());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!c.finishConnect()) {
            assertTrue(System.nanoTime() < deadline, "connect did not complete");
            Thread.onSpinWait();
        }
        return c;
    }

    private static StreamSocket acceptOne(ListenSocket l) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            StreamSocket s = l.accept();
            if (s != null) return s;
            assertTrue(System.nanoTime() < deadline, "accept did not complete");
            Thread.onSpinWait();
        }
    }

    private static void close(StreamSocket[] p) throws IOException {
        for (StreamSocket s : p) s.close();
    }
}
