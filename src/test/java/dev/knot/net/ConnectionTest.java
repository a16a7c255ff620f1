// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.sys.Errno;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Fds;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.BeforeAll;

/** The buffered connection against real JDK sockets on loopback; every test leaves no descriptor behind. */
class ConnectionTest {
    private static final int HIGH = 256 * 1024, LOW = 64 * 1024, PIECE = 16 * 1024;

    private EventLoop loop;
    private ListenSocket listener;
    private final AtomicReference<Throwable> loopErrors = new AtomicReference<>();
    private java.util.List<Integer> fdsBefore;

    /**
     * The JDK's socket code keeps a descriptor of its own from its first connection on, and Knot's ring pool its rings:
     * open them before counting.
     */
    @BeforeAll
    static void warmUpJdkSockets() throws Exception {
        dev.knot.testing.Rings.warmPool();
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             Socket s = new Socket(InetAddress.getLoopbackAddress(), l.port())) {
            StreamSocket a = null;
            while (a == null) a = l.accept();
            a.close();
        }
    }

    @BeforeEach
    void startLoop() throws Exception {
        fdsBefore = Fds.openDescriptors();
        loop = EventLoop.open();
        loop.onError(t -> loopErrors.compareAndSet(null, t));
        listener = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        loop.start("connection-test");
    }

    @AfterEach
    void stopLoop() throws Exception {
        loop.shutdownNow();
        assertTrue(loop.awaitTermination(10, TimeUnit.SECONDS));
        listener.close();
        assertNull(loopErrors.get(), "the loop's error handler saw something");
        assertEquals(fdsBefore, Fds.openDescriptors(), "descriptors left open");
    }

    /** Accepts one connection on the loop and opens a {@link Connection} over it with {@code handler}. */
    private CompletableFuture<Connection> acceptOne(Connection.Handler handler) {
        CompletableFuture<Connection> f = new CompletableFuture<>();
        loop.execute(() -> loop.register(listener, Selector.OP_READ, k -> listener.acceptAll(loop, k, s -> {
            s.setSendBufferSize(32 * 1024);            // small kernel buffers: the queue does the buffering
            if (!f.isDone()) f.complete(Connection.open(loop, s, handler, new Connection.Options(HIGH, LOW),
                    BufferPool.of(loop)));
            else s.close();
        })));
        return f;
    }

    private static Socket client(int port) throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(32 * 1024);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
        s.setSoTimeout(60_000);
        return s;
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    /** A producer on the loop: writes pieces of a known stream while the connection is writable. */
    private static final class Producer implements Connection.Handler {
        final long total;
        final byte[] piece = new byte[PIECE];
        final CRC32C crc = new CRC32C();
        long written;
        final AtomicInteger unwritable = new AtomicInteger(), writableAgain = new AtomicInteger();
        final AtomicLong pendingAtUnwritable = new AtomicLong(-1), pendingAtWritable = new AtomicLong(-1);
        final AtomicLong maxHeld = new AtomicLong(), maxPending = new AtomicLong();
        final CompletableFuture<Connection.CloseReason> closed = new CompletableFuture<>();
        volatile boolean done;

        Producer(long total) {
            this.total = total;
        }

        void produce(Connection c) {
            while (written < total && c.isWritable()) {
                int n = (int) Math.min(PIECE, total - written);
                for (int i = 0; i < n; i++) piece[i] = (byte) ((written + i) * 31 + ((written + i) >>> 11));
                crc.update(piece, 0, n);
                written += n;
                c.write(piece, 0, n);                    // heap bytes: copied into pooled buffers
                maxHeld.accumulateAndGet(c.heldBytes(), Math::max);
                maxPending.accumulateAndGet(c.pendingBytes(), Math::max);
            }
            if (written == total && !done) {
                done = true;
                c.close();                               // graceful: after the queue is flushed
            }
        }

        @Override
        public void onData(Connection c, MemorySegment data) {}

        @Override
        public void onWritabilityChanged(Connection c, boolean writable) {
            if (writable) {
                pendingAtWritable.compareAndSet(-1, c.pendingBytes());
                writableAgain.incrementAndGet();
                produce(c);
            } else {
                pendingAtUnwritable.compareAndSet(-1, c.pendingBytes());
                unwritable.incrementAndGet();
            }
        }

        @Override
        public void onClose(Connection c, Connection.CloseReason reason, Throwable cause) {
            if (cause != null) closed.completeExceptionally(cause);
            else closed.complete(reason);
        }
    }

    @Test
    @Timeout(60)
    void aSlowReaderMakesTheWriterUnwritableAtTheHighMarkAndWritableAgainAtTheLowMark() throws Exception {
        Producer p = new Producer(4L << 20);
        CompletableFuture<Connection> server = acceptOne(p);
        try (Socket c = client(listener.port())) {
            Connection conn = server.get(10, TimeUnit.SECONDS);
            loop.execute(() -> p.produce(conn));
            await(() -> p.unwritable.get() > 0, "the writer to become unwritable");
            assertEquals(0, p.writableAgain.get(), "writable again before the reader read anything");
            assertTrue(p.pendingAtUnwritable.get() > HIGH, "queued when unwritable: " + p.pendingAtUnwritable.get());
            assertTrue(p.pendingAtUnwritable.get() <= HIGH + PIECE, "queued when unwritable: " + p.pendingAtUnwritable.get());

            byte[] all = c.getInputStream().readAllBytes();  // the reader catches up, to EOF
            assertEquals(4 << 20, all.length);
            CRC32C got = new CRC32C();
            got.update(all);
            assertEquals(p.crc.getValue(), got.getValue());
            assertEquals(Connection.CloseReason.LOCAL, p.closed.get(10, TimeUnit.SECONDS));
            assertTrue(p.writableAgain.get() > 0);
            assertTrue(p.pendingAtWritable.get() <= LOW, "queued when writable again: " + p.pendingAtWritable.get());
        }
    }

    @Test
    @Timeout(120)
    void hundredMegabytesThroughAPeerThatReadsInBurstsArriveIntactWithinTheHighMark() throws Exception {
        long total = 100L << 20;
        Producer p = new Producer(total);
        CompletableFuture<Connection> server = acceptOne(p);
        try (Socket c = client(listener.port())) {
            Connection conn = server.get(10, TimeUnit.SECONDS);
            loop.execute(() -> p.produce(conn));
            InputStream in = c.getInputStream();
            byte[] burst = new byte[1 << 20];
            CRC32C got = new CRC32C();
            long received = 0;
            int bursts = 0;
            while (true) {
                // A burst of up to 1 MiB, then nothing until the writer is held back again (or has finished).
                int seen = p.unwritable.get();
                int off = 0, n = 0;
                while (off < burst.length && (n = in.read(burst, off, burst.length - off)) > 0) off += n;
                got.update(burst, 0, off);
                received += off;
                bursts++;
                if (n < 0) break;
                await(() -> p.unwritable.get() > seen || p.done, "the writer to be held back again");
            }
            assertEquals(total, received);
            assertEquals(p.crc.getValue(), got.getValue(), "the bytes arrived intact and in order");
            assertEquals(Connection.CloseReason.LOCAL, p.closed.get(10, TimeUnit.SECONDS));
            assertTrue(bursts >= 100, "bursts: " + bursts);
            assertTrue(p.unwritable.get() >= 50, "times the writer was held back: " + p.unwritable.get());
            // What the connection held stays bounded by the high mark (plus the piece that crossed it, rounded up
            // to whole pooled buffers), however far the reader fell behind.
            long bound = HIGH + PIECE + BufferPool.DEFAULT_BUFFER_SIZE;
            assertTrue(p.maxPending.get() <= HIGH + PIECE, "max queued " + p.maxPending.get());
            assertTrue(p.maxHeld.get() <= bound, "max held " + p.maxHeld.get() + " > " + bound);
        }
        CompletableFuture<long[]> pool = new CompletableFuture<>();
        loop.execute(() -> pool.complete(new long[] {BufferPool.of(loop).borrowed()}));
        assertEquals(0, pool.get(10, TimeUnit.SECONDS)[0], "buffers still borrowed after close");
    }

    @Test
    @Timeout(30)
    void echoWithPausedReadingHeapWritesAndAGracefulCloseAfterTheLastByte() throws Exception {
        CompletableFuture<Connection.CloseReason> closed = new CompletableFuture<>();
        CompletableFuture<Connection> server = acceptOne(new Connection.Handler() {
            @Override
            public void onData(Connection c, MemorySegment data) {
                byte[] copy = data.toArray(ValueLayout.JAVA_BYTE);
                // Alternate the three input forms: segment, heap ByteBuffer, byte[].
                boolean w = switch (copy.length % 3) {
                    case 0 -> c.write(data);
                    case 1 -> c.write(ByteBuffer.wrap(copy));
                    default -> c.write(copy);
                };
                if (!w) c.pauseReading();
            }

            @Override
            public void onWritabilityChanged(Connection c, boolean writable) {
                if (writable) c.resumeReading();
            }

            @Override
            public void onClose(Connection c, Connection.CloseReason reason, Throwable cause) {
                closed.complete(reason);
            }
        });
        byte[] sent = new byte[8 << 20];
        new java.util.Random(7).nextBytes(sent);
        try (Socket c = client(listener.port())) {
            server.get(10, TimeUnit.SECONDS);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    OutputStream o = c.getOutputStream();
                    for (int off = 0; off < sent.length; off += 100_003) o.write(sent, off, Math.min(100_003, sent.length - off));
                    c.shutdownOutput();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            byte[] got = new byte[sent.length];
            new DataInputStream(c.getInputStream()).readFully(got);
            assertEquals(-1, c.getInputStream().read(), "EOF after the last echoed byte");
            writer.join(10_000);
            assertArrayEquals(sent, got);
        }
        assertEquals(Connection.CloseReason.PEER_CLOSED, closed.get(10, TimeUnit.SECONDS));
    }

    @Test
    @Timeout(30)
    void aPeerResetIsACloseReasonNotAnError() throws Exception {
        CompletableFuture<Throwable> cause = new CompletableFuture<>();
        CompletableFuture<Connection.CloseReason> reason = new CompletableFuture<>();
        CountDownLatch gotData = new CountDownLatch(1);
        CompletableFuture<Connection> server = acceptOne(new Connection.Handler() {
            @Override
            public void onData(Connection c, MemorySegment data) {
                gotData.countDown();
            }

            @Override
            public void onClose(Connection c, Connection.CloseReason r, Throwable t) {
                cause.complete(t);
                reason.complete(r);
            }
        });
        try (Socket c = client(listener.port())) {
            server.get(10, TimeUnit.SECONDS);
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            assertTrue(gotData.await(10, TimeUnit.SECONDS));
            c.setSoLinger(true, 0);                      // close sends RST
        }
        assertEquals(Connection.CloseReason.PEER_RESET, reason.get(10, TimeUnit.SECONDS));
        ErrnoException e = assertInstanceOf(ErrnoException.class, cause.get());
        assertEquals(Errno.ECONNRESET, e.errno());
    }
}
