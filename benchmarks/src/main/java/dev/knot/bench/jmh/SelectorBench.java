// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.function.Consumer;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Select-and-dispatch: Knot's {@link Selector} against {@link java.nio.channels.Selector} on the same workload.
 *
 * <p>R = 256 AF_UNIX stream socketpairs are registered for READ. Two groups of K = 64 (every 4th pair from 0, and
 * every 4th from 2) have one byte pending that is never drained; the other 128 are idle. Interest toggles each
 * round: one operation is one non-blocking select, which returns the K keys of the enabled group; each returned key
 * is handled (ready ops and attachment into a Blackhole) and has its READ interest turned off, and the K keys
 * turned off in the previous round get READ interest back. So every key is disabled in the round it is handled and
 * re-enabled in the next, every select carries 2K interest changes, and exactly K keys are ready each time.
 *
 * <p>Knot: {@code key.interest(0)} / {@code key.interest(OP_READ)}, changes batched into the select's kevent.
 * NIO: {@code key.interestOps(0)} / {@code interestOps(OP_READ)} (epoll_ctl DEL/ADD in NIO's update queue), with
 * the usual {@code selectedKeys()} iteration ({@link #nioSelectedKeys}) and with {@code selectNow(Consumer)}
 * ({@link #nioConsumer}).
 */
public class SelectorBench extends RunSettings {
    public static final int REGISTERED = 256;
    public static final int READY = 64;

    static boolean groupA(int i) {
        return i % 4 == 0;
    }

    static boolean groupB(int i) {
        return i % 4 == 2;
    }

    @State(Scope.Thread)
    public static class KnotState {
        Selector selector;
        StreamSocket[][] pairs;
        Key[] handled = new Key[REGISTERED];
        Key[] pending = new Key[REGISTERED];
        int npending;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Deferred.closeAll();
            Deferred.add(this::close);
            selector = Selector.open();
            pairs = new StreamSocket[REGISTERED][];
            try (Arena a = Arena.ofConfined()) {
                MemorySegment one = a.allocate(1);
                for (int i = 0; i < REGISTERED; i++) {
                    pairs[i] = StreamSocket.pair();
                    Key k = selector.register(pairs[i][0], Selector.OP_READ, pairs[i][0]);
                    if ((groupA(i) || groupB(i)) && pairs[i][1].write(one) != 1) throw new IllegalStateException("write");
                    if (groupB(i)) {
                        k.interest(0);
                        pending[npending++] = k;
                    }
                }
            }
            for (int r = 0; r < 4; r++) {
                int n = op(null);
                if (n != READY) throw new IllegalStateException("Knot: expected " + READY + " ready keys, got " + n);
            }
        }

        int op(Blackhole bh) throws IOException {
            Selector sel = selector;
            int n = sel.selectNow();
            Key[] h = handled;
            for (int i = 0; i < n; i++) {
                Key k = sel.readyKey(i);
                if (bh != null) {
                    bh.consume(k.readyOps());
                    bh.consume(k.attachment());
                }
                k.interest(0);
                k.clearReady();
                h[i] = k;
            }
            Key[] p = pending;
            for (int i = 0; i < npending; i++) p[i].interest(Selector.OP_READ);
            handled = p;
            pending = h;
            npending = n;
            return n;
        }

        /** Releases everything; deferred past the measurement (see {@link Deferred}). */
        void close() throws IOException {
            if (selector != null) selector.close();
            if (pairs == null) return;
            for (StreamSocket[] p : pairs) {
                if (p == null) continue;
                p[0].close();
                p[1].close();
            }
        }
    }

    @State(Scope.Thread)
    public static class NioState {
        java.nio.channels.Selector selector;
        SocketChannel[] mine, peers;
        SelectionKey[] handled = new SelectionKey[REGISTERED];
        SelectionKey[] pending = new SelectionKey[REGISTERED];
        int npending, nhandled;
        Blackhole bh;
        final Consumer<SelectionKey> action = this::handle;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            Deferred.closeAll();
            Deferred.add(this::close);
            selector = java.nio.channels.Selector.open();
            mine = new SocketChannel[REGISTERED];
            peers = new SocketChannel[REGISTERED];
            Path dir = Files.createTempDirectory("knot-bench-");
            UnixDomainSocketAddress addr = UnixDomainSocketAddress.of(dir.resolve("s"));
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(addr);
                ByteBuffer one = ByteBuffer.allocateDirect(1);
                for (int i = 0; i < REGISTERED; i++) {
                    peers[i] = SocketChannel.open(StandardProtocolFamily.UNIX);
                    peers[i].connect(addr);
                    mine[i] = server.accept();
                    mine[i].configureBlocking(false);
                    SelectionKey k = mine[i].register(selector, SelectionKey.OP_READ, mine[i]);
                    if (groupA(i) || groupB(i)) {
                        one.clear();
                        if (peers[i].write(one) != 1) throw new IllegalStateException("write");
                    }
                    if (groupB(i)) {
                        k.interestOps(0);
                        pending[npending++] = k;
                    }
                }
            } finally {
                Files.deleteIfExists(addr.getPath());
                Files.deleteIfExists(dir);
            }
            for (int r = 0; r < 4; r++) {
                int n = opSelectedKeys(null);
                if (n != READY) throw new IllegalStateException("NIO: expected " + READY + " ready keys, got " + n);
            }
            for (int r = 0; r < 4; r++) {
                int n = opConsumer(null);
                if (n != READY) throw new IllegalStateException("NIO consumer: expected " + READY + " ready keys, got " + n);
            }
        }

        private void handle(SelectionKey k) {
            Blackhole b = bh;
            if (b != null) {
                b.consume(k.readyOps());
                b.consume(k.attachment());
            }
            k.interestOps(0);
            handled[nhandled++] = k;
        }

        private int reenable() {
            int n = nhandled;
            SelectionKey[] p = pending;
            for (int i = 0; i < npending; i++) p[i].interestOps(SelectionKey.OP_READ);
            pending = handled;
            handled = p;
            npending = n;
            nhandled = 0;
            return n;
        }

        int opSelectedKeys(Blackhole b) throws IOException {
            bh = b;
            selector.selectNow();
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey k = it.next();
                it.remove();
                handle(k);
            }
            return reenable();
        }

        int opConsumer(Blackhole b) throws IOException {
            bh = b;
            selector.selectNow(action);
            return reenable();
        }

        /** Releases everything; deferred past the measurement (see {@link Deferred}). */
        void close() throws IOException {
            if (selector != null) selector.close();
            if (mine == null) return;
            for (int i = 0; i < REGISTERED; i++) {
                if (mine[i] != null) mine[i].close();
                if (peers[i] != null) peers[i].close();
            }
        }
    }

    @Benchmark
    public int knot(KnotState s, Blackhole bh) throws IOException {
        return s.op(bh);
    }

    @Benchmark
    public int nioSelectedKeys(NioState s, Blackhole bh) throws IOException {
        return s.opSelectedKeys(bh);
    }

    @Benchmark
    public int nioConsumer(NioState s, Blackhole bh) throws IOException {
        return s.opConsumer(bh);
    }
}
