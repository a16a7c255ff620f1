// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(30)
class StreamSocketTest {
    static SocketAddress address(String kind) throws IOException {
        return switch (kind) {
            case "ipv4" -> new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0);
            case "ipv6" -> new InetSocketAddress(InetAddress.getByName("::1"), 0);
            default -> UnixDomainSocketAddress.of(Files.createTempDirectory("knot-sock").resolve("s"));
        };
    }

    /** Connects through a selector: the non-blocking connect completes through the WRITE filter. */
    static StreamSocket[] connected(ListenSocket l, Selector sel) throws IOException {
        StreamSocket c = StreamSocket.connect(l.localAddress());
        if (!c.isConnected()) {
            Key k = sel.register(c, Selector.OP_WRITE, null);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!c.finishConnect()) {
                assertTrue(System.nanoTime() < deadline, "connect did not complete");
                sel.select(100_000_000L);
            }
            k.cancel();
            sel.selectNow();
        }
        StreamSocket s = null;
        for (int i = 0; i < 100 && s == null; i++) {
            s = l.accept();
            if (s == null) sel.select(10_000_000L);
        }
        assertNotNull(s, "accept found no connection");
        return new StreamSocket[] {c, s};
    }

    @ParameterizedTest
    @ValueSource(strings = {"ipv4", "ipv6", "unix"})
    void connectAcceptReadWriteAndAddresses(String kind) throws Exception {
        SocketAddress addr = address(kind);
        try (Selector sel = Selector.open(); ListenSocket l = ListenSocket.bind(addr, 16); Arena a = Arena.ofConfined()) {
            assertNull(l.accept(), "nothing to accept yet");
            StreamSocket[] p = connected(l, sel);
            try (StreamSocket c = p[0]; StreamSocket s = p[1]) {
                MemorySegment msg = a.allocateFrom("ping", StandardCharsets.US_ASCII);
                assertEquals(4, c.write(msg, 0, 4));
                MemorySegment buf = a.allocate(64);
                int n = 0;
                for (int i = 0; i < 100 && n == 0; i++) {
                    n = s.read(buf);
                    if (n == 0) Thread.sleep(5);
                }
                assertEquals("ping", new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
                assertEquals(0, s.read(buf), "no more data: 0, not EOF");
                if (!kind.equals("unix")) {
                    InetSocketAddress local = (InetSocketAddress) s.localAddress();
                    InetSocketAddress remote = (InetSocketAddress) s.remoteAddress();
                    assertEquals(l.port(), local.getPort());
                    assertEquals(((InetSocketAddress) c.localAddress()).getPort(), remote.getPort());
                    assertEquals(kind.equals("ipv6"), remote.getAddress() instanceof Inet6Address);
                } else {
                    assertEquals(((UnixDomainSocketAddress) addr).getPath(), l.path());
                }
            }
        } finally {
            if (addr instanceof UnixDomainSocketAddress u) {
                Files.deleteIfExists(u.getPath());
                Files.deleteIfExists(u.getPath().getParent());
            }
        }
    }

    @Test
    void gatheringAndScatteringIo() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        try (StreamSocket a = p[0]; StreamSocket b = p[1]; Arena arena = Arena.ofConfined()) {
            MemorySegment[] parts = {arena.allocateFrom("he", StandardCharsets.US_ASCII).asSlice(0, 2),
                arena.allocateFrom("llo ", StandardCharsets.US_ASCII).asSlice(0, 4), arena.allocateFrom("world", StandardCharsets.US_ASCII).asSlice(0, 5)};
            assertEquals(11, a.write(parts, 0, 3));
            MemorySegment x = arena.allocate(3), y = arena.allocate(100);
            assertEquals(11, b.read(new MemorySegment[] {x, y}, 0, 2));
            assertEquals("hel", new String(x.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            assertEquals("lo world", new String(y.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            ByteBuffer direct = ByteBuffer.allocateDirect(16);
            direct.put("buf".getBytes(StandardCharsets.US_ASCII)).flip();
            assertEquals(3, a.write(direct));
            assertEquals(3, direct.position());
            ByteBuffer in = ByteBuffer.allocateDirect(16);
            assertEquals(3, b.read(in));
            assertThrows(IllegalArgumentException.class, () -> b.read(ByteBuffer.allocate(4)));
        }
    }

    @Test
    void halfCloseIsEofForTheReaderAndTheOtherDirectionStillWorks() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        try (StreamSocket a = p[0]; StreamSocket b = p[1]; Arena arena = Arena.ofConfined(); Selector sel = Selector.open()) {
            Key kb = sel.register(b, Selector.OP_READ, null);
            a.write(arena.allocateFrom("bye", StandardCharsets.US_ASCII), 0, 3);
            a.shutdownOutput();
            assertEquals(1, sel.select(1_000_000_000L));
            assertTrue(kb.isReadable() && kb.isReadEof(), kb.toString());
            assertEquals(3, kb.readData(), "EOF comes with the data still buffered");
            MemorySegment buf = arena.allocate(16);
            assertEquals(3, b.read(buf));
            assertEquals(-1, b.read(buf));
            b.write(arena.allocateFrom("back", StandardCharsets.US_ASCII), 0, 4);
            assertEquals(4, a.read(buf));
        }
    }

    @Test
    void peerResetIsEofWithTheSocketErrorAndReadsFailWithEconnreset() throws Exception {
        try (Selector sel = Selector.open(); ListenSocket l = ListenSocket.bind(address("ipv4"), 4); Arena arena = Arena.ofConfined()) {
            StreamSocket[] p = connected(l, sel);
            try (StreamSocket c = p[0]; StreamSocket s = p[1]) {
                Key ks = sel.register(s, Selector.OP_READ, null);
                c.setLinger(0);
                c.close();                                   // RST
                assertEquals(1, sel.select(1_000_000_000L));
                assertTrue(ks.isReadEof(), ks.toString());
                assertEquals(errno_h.ECONNRESET, ks.socketError(), ks.toString());
            }
        }
    }

    @Test
    void writesToAClosedPeerFailWithEpipeNotSigpipe() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        try (StreamSocket a = p[0]; Arena arena = Arena.ofConfined()) {
            p[1].close();
            MemorySegment m = arena.allocate(1024);
            ErrnoException e = assertThrows(ErrnoException.class, () -> {
                for (int i = 0; i < 1000; i++) a.write(m);
            });
            assertEquals("EPIPE", e.errnoName(), e.getMessage());
            assertTrue(e.getMessage().contains("send("), e.getMessage());
        }
    }

    @Test
    void connectToNobodyFailsWithEconnrefused() throws Exception {
        // A port that is bound but not listening answers with a reset, and stays taken, so the connect cannot
        // land on itself (a TCP self-connect to a free ephemeral port would succeed).
        try (java.nio.channels.SocketChannel holder = java.nio.channels.SocketChannel.open();
             Selector sel = Selector.open()) {
            holder.bind(new InetSocketAddress("127.0.0.1", 0));
            InetSocketAddress nobody = (InetSocketAddress) holder.getLocalAddress();
            StreamSocket c = StreamSocket.connect(nobody);
            sel.register(c, Selector.OP_WRITE, null);
            sel.select(2_000_000_000L);
            ErrnoException e = assertThrows(ErrnoException.class, c::finishConnect);
            assertEquals("ECONNREFUSED", e.errnoName());
            assertTrue(e.getMessage().contains(nobody.toString()), e.getMessage());
            c.close();
        }
    }

    @Test
    void socketOptions() throws Exception {
        try (Selector sel = Selector.open(); ListenSocket l = ListenSocket.bind(address("ipv4"),
                ListenSocket.Options.defaults().reusePort(true).backlog(8))) {
            assertTrue(l.reuseAddress());
            assertTrue(l.reusePort());
            StreamSocket[] p = connected(l, sel);
            try (StreamSocket c = p[0]; StreamSocket s = p[1]) {
                c.setTcpNoDelay(true);
                assertTrue(c.tcpNoDelay());
                c.setKeepAlive(true);
                assertTrue(c.keepAlive());
                c.setSendBufferSize(32 * 1024);
                assertEquals(64 * 1024, c.sendBufferSize(), "Linux doubles SO_SNDBUF");
                c.setReceiveBufferSize(32 * 1024);
                assertEquals(64 * 1024, c.receiveBufferSize());
                c.setLinger(5);
                assertEquals(5, c.linger());
                c.setLinger(-1);
                assertEquals(-1, c.linger());
            }
        }
    }

    @Test
    void adoptTakesOverInheritedDescriptorsAndRefusesWrongKinds() throws Exception {
        try (ListenSocket l = ListenSocket.bind(address("ipv4"))) {
            int dup = dev.knot.system.Fds.dupAtLeast(l.fd(), 10);
            try (ListenSocket adopted = ListenSocket.adopt(dup)) {
                assertEquals(l.port(), adopted.port());
                assertTrue(dev.knot.system.Fds.isNonBlocking(dup));
                assertTrue(dev.knot.system.Fds.isCloseOnExec(dup));
            }
        }
        int[] pipe = dev.knot.system.Fds.pipe(0);
        try {
            ErrnoException e = assertThrows(ErrnoException.class, () -> ListenSocket.adopt(pipe[0]));
            assertEquals("ENOTSOCK", e.errnoName());
            StreamSocket[] pair = StreamSocket.pair();
            assertThrows(IllegalArgumentException.class, () -> ListenSocket.adopt(pair[0].fd()));
            pair[0].close();
            pair[1].close();
            assertThrows(ErrnoException.class, () -> StreamSocket.adopt(9999));
        } finally {
            dev.knot.system.Fds.close(pipe[0]);
            dev.knot.system.Fds.close(pipe[1]);
        }
    }

    @Test
    void closedSocketsRefuseUseAndCloseIsIdempotent() throws Exception {
        StreamSocket[] p = StreamSocket.pair();
        p[0].close();
        p[0].close();
        assertFalse(p[0].isOpen());
        try (Arena a = Arena.ofConfined()) {
            assertThrows(ClosedChannelException.class, () -> p[0].read(a.allocate(4)));
            assertThrows(ClosedChannelException.class, () -> p[0].write(a.allocate(4)));
        }
        p[1].close();
        try (ListenSocket first = ListenSocket.bind(address("ipv4"))) {
            InetSocketAddress taken = new InetSocketAddress("127.0.0.1", first.port());
            ErrnoException e = assertThrows(ErrnoException.class, () -> ListenSocket.bind(taken));
            assertEquals("EADDRINUSE", e.errnoName());
            assertTrue(e.getMessage().contains("bind(" + taken), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ListenSocket.bind(InetSocketAddress.createUnresolved("nowhere.invalid", 80)));
        Path longPath = Path.of("/tmp/" + "x".repeat(200));
        assertThrows(IllegalArgumentException.class, () -> ListenSocket.bind(UnixDomainSocketAddress.of(longPath)));
    }
}
