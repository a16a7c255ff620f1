// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.system.Fds;

import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Connections whose reads and writes of an iteration go to the kernel batched ({@link IoRound}) against the same
 * connections making direct calls: many clients at once, writes past the high mark from inside {@code onData}, and a
 * graceful close with the answer still held for the batch.
 */
@Timeout(120)
class ConnectionBatchTest {
    private static final int CLIENTS = 16;

    private record Served(EventLoop loop, ListenSocket listener, AtomicReference<Throwable> errors, List<Integer> fdsBefore)
            implements AutoCloseable {
        @Override
        public void close() throws Exception {
            loop.shutdownNow();
            assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
            listener.close();
            assertNull(errors.get(), "the loop's error handler saw something");
            List<Integer> after = Fds.openDescriptors();
            List<String> extra = new ArrayList<>();
            for (int fd : after) {
                if (fdsBefore.contains(fd)) continue;
                try {
                    extra.add(fd + " -> " + java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)));
                } catch (java.io.IOException gone) {
                    // closed meanwhile
                }
            }
            assertEquals(List.of(), extra, "descriptors left open");
        }

        <T> T onLoop(java.util.function.Supplier<T> f) throws Exception {
            CompletableFuture<T> r = new CompletableFuture<>();
            loop.execute(() -> r.complete(f.get()));
            return r.get(10, TimeUnit.SECONDS);
        }
    }

    /** The JDK's socket code keeps a descriptor of its own from its first connection on: open it before counting. */
    @org.junit.jupiter.api.BeforeAll
    static void warmUpJdkSockets() throws Exception {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             Socket s = new Socket(InetAddress.getLoopbackAddress(), l.port())) {
            StreamSocket a = null;
            while (a == null) a = l.accept();
            a.close();
        }
    }

    private static Served serve(boolean batched, Connection.Handler handler) throws Exception {
        dev.knot.testing.Rings.warmPool();
        List<Integer> before = Fds.openDescriptors();
        EventLoop loop = EventLoop.open();
        AtomicReference<Throwable> errors = new AtomicReference<>();
        loop.onError(t -> errors.compareAndSet(null, t));
        ListenSocket listener = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        CompletableFuture<Void> up = new CompletableFuture<>();
        String was = System.getProperty(IoRound.PROPERTY);
        System.setProperty(IoRound.PROPERTY, Boolean.toString(batched));
        try {
            loop.execute(() -> {
                loop.register(listener, Selector.OP_READ, k -> listener.acceptAll(loop, k, s -> {
                    s.setSendBufferSize(32 * 1024);    // small kernel buffers: the queue and the batch's short writes work
                    Connection.open(loop, s, handler, new Connection.Options(256 * 1024, 64 * 1024), BufferPool.of(loop));
                }));
                IoRound.of(loop);                      // decided now, while the property says so
                up.complete(null);
            });
            loop.start("batch-" + batched);
            up.get(10, TimeUnit.SECONDS);
        } finally {
            if (was == null) System.clearProperty(IoRound.PROPERTY); else System.setProperty(IoRound.PROPERTY, was);
        }
        return new Served(loop, listener, errors, before);
    }

    private static boolean uringSockets() {
        try (SocketBatch b = SocketBatch.open()) {
            return b.batched();
        }
    }

    private static final Connection.Handler ECHO = new Connection.Handler() {
        @Override
        public void onData(Connection c, MemorySegment data) {
            if (!c.write(data)) c.pauseReading();
        }

        @Override
        public void onWritabilityChanged(Connection c, boolean writable) {
            if (writable) c.resumeReading();
        }

        @Override
        public void onEndOfInput(Connection c) {
            c.close();
        }
    };

    @ParameterizedTest(name = "batched={0}")
    @ValueSource(booleans = {true, false})
    void clientsEchoingAtOnceGetTheirBytesBackExactly(boolean batched) throws Exception {
        try (Served s = serve(batched, ECHO); ExecutorService pool = Executors.newFixedThreadPool(CLIENTS * 2)) {
            assertEquals(batched && uringSockets(), s.onLoop(() -> IoRound.of(s.loop()) != null));
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                long seed = c;
                work.add(pool.submit(() -> {
                    Random rnd = new Random(seed);
                    byte[] all = new byte[1 << 20];
                    rnd.nextBytes(all);
                    try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), s.listener().port())) {
                        sock.setSoTimeout(60_000);
                        Future<?> writer = pool.submit(() -> {
                            OutputStream out = sock.getOutputStream();
                            for (int off = 0; off < all.length; ) {
                                int n = Math.min(all.length - off, 1 + rnd.nextInt(9000));
                                out.write(all, off, n);
                                off += n;
                            }
                            sock.shutdownOutput();           // the echo ends with the server's graceful close
                            return null;
                        });
                        byte[] got = sock.getInputStream().readAllBytes();
                        writer.get(60, TimeUnit.SECONDS);
                        assertArrayEquals(all, got);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) f.get(100, TimeUnit.SECONDS);
            long shared = s.onLoop(() -> {
                IoRound r = IoRound.of(s.loop());
                return r == null ? 0L : r.batchedOps();
            });
            if (batched && uringSockets()) assertTrue(shared > 0, CLIENTS + " clients echoing at once, yet nothing shared a submission");
        }
    }

    @ParameterizedTest(name = "batched={0}")
    @ValueSource(booleans = {true, false})
    void writesPastTheHighMarkFromOnDataArriveWholeAndCloseGracefully(boolean batched) throws Exception {
        // Each client asks for N bytes; the server writes them from onData in 64 KB pieces while writable, goes on as
        // the queue drains, and closes gracefully once all is written: the answer and the close may both wait for
        // the iteration's batched write.
        int size = 3 << 20;
        Connection.Handler producer = new Connection.Handler() {
            @Override
            public void onData(Connection c, MemorySegment data) {
                if (c.attachment() == null) {
                    c.attach(new long[] {data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0)});
                    produce(c);
                }
            }

            @Override
            public void onWritabilityChanged(Connection c, boolean writable) {
                if (writable) produce(c);
            }

            private void produce(Connection c) {
                long[] left = (long[]) c.attachment();
                byte[] piece = new byte[64 * 1024];
                while (left[0] > 0 && c.isWritable()) {
                    int n = (int) Math.min(piece.length, left[0]);
                    for (int i = 0; i < n; i++) piece[i] = (byte) ((left[0] - i) * 131);
                    left[0] -= n;
                    c.write(piece, 0, n);
                }
                if (left[0] == 0) c.close();
            }
        };
        try (Served s = serve(batched, producer); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                work.add(pool.submit(() -> {
                    try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), s.listener().port())) {
                        sock.setSoTimeout(60_000);
                        sock.setReceiveBufferSize(32 * 1024);
                        new java.io.DataOutputStream(sock.getOutputStream()).writeInt(size);
                        InputStream in = new DataInputStream(sock.getInputStream());
                        byte[] got = in.readAllBytes();      // to the graceful close's EOF
                        assertEquals(size, got.length);
                        long left = size;
                        for (int off = 0; off < size; ) {
                            int n = (int) Math.min(64 * 1024, left);
                            for (int i = 0; i < n; i++) {
                                if (got[off + i] != (byte) ((left - i) * 131)) throw new AssertionError("byte " + (off + i) + " differs");
                            }
                            off += n;
                            left -= n;
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) f.get(100, TimeUnit.SECONDS);
        }
    }
}
