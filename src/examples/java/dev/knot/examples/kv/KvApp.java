// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.kv;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import dev.knot.prefork.Drain;
import dev.knot.prefork.WorkerApp;
import dev.knot.prefork.WorkerContext;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small key-value service as a prefork {@link WorkerApp}, built on Knot's loop and sockets only. One command per
 * line (LF or CRLF), one answer line each:
 *
 * <pre>
 * SET key value    -&gt; OK           (the value is the rest of the line, spaces included)
 * GET key          -&gt; VALUE value | NONE
 * DEL key          -&gt; DELETED | NONE
 * anything else    -&gt; ERROR ...
 * </pre>
 *
 * <p>Each worker has its own store, in its own JVM (as memcached instances do): a client's commands on one
 * connection all reach the same worker, but two connections may reach two workers. Run it with {@code --workers 1}
 * for one store. {@code --app-arg max-keys=N} caps the keys of a worker's store (default 100000; a SET beyond it
 * answers {@code ERROR full}). A line longer than {@value #MAX_LINE} bytes is answered {@code ERROR line too long}
 * and the connection closed.
 *
 * <p>Run under the master: {@code java -jar target/knot-0.1.0.jar --workers 1 --app dev.knot.examples.kv.KvApp
 * --classpath target/examples/knot-examples-0.1.0.jar}, then {@code printf 'SET a 1\nGET a\n' | nc 127.0.0.1 8080}.
 */
public final class KvApp implements WorkerApp {
    static final int MAX_LINE = 64 * 1024;

    private final Map<String, String> store = new HashMap<>();
    private final List<Key> listenKeys = new ArrayList<>();
    private final Set<Connection> connections = new LinkedHashSet<>();
    private WorkerContext ctx;
    private int maxKeys = 100_000;
    /** Open connections, and the drain's end once the last one closes. */
    private final Drain drain = new Drain();

    /** Instantiated by the worker. */
    public KvApp() {}

    @Override
    public void start(WorkerContext ctx) {
        this.ctx = ctx;
        for (String a : ctx.args()) {
            if (a.startsWith("max-keys=")) maxKeys = Integer.parseInt(a.substring("max-keys=".length()));
            else throw new IllegalArgumentException("KvApp: unknown --app-arg " + a + " (takes max-keys=N)");
        }
        for (int i = 0; i < ctx.listeners().size(); i++) {
            ListenSocket l = ctx.listeners().get(i);
            EventLoop.Handler accept = k -> {
                if (drain.draining()) return;
                l.acceptAll(ctx.loop(), k, s -> {
                    Connection c = new Connection(s);
                    c.key = ctx.loop().register(c, Selector.OP_READ, c::ready);
                    connections.add(c);
                    drain.opened();
                    ctx.connections(drain.open());
                });
            };
            Key restored = ctx.listenKey(i);
            listenKeys.add(restored != null ? ctx.loop().attach(restored, accept) : ctx.loop().register(l.fd(), Selector.OP_READ, accept));
        }
    }

    /** Stops accepting; idle connections close now, the others once their answers are written. */
    @Override
    public void drain(Runnable done) {
        drain.whenDone(done);
        drain.start();
        for (Key k : listenKeys) if (k.isValid()) k.cancel();
        for (Connection c : List.copyOf(connections)) {
            try {
                if (c.outStart == c.outEnd) c.close();
            } catch (IOException e) {
                ctx.loop().report(e);
            }
        }
        drain.check();
    }

    /** The answer to one command line. */
    String execute(String line) {
        int sp = line.indexOf(' ');
        String cmd = sp < 0 ? line : line.substring(0, sp);
        String rest = sp < 0 ? "" : line.substring(sp + 1);
        switch (cmd) {
            case "SET" -> {
                int sp2 = rest.indexOf(' ');
                if (rest.isEmpty() || sp2 == 0) return "ERROR SET takes a key and a value";
                String k = sp2 < 0 ? rest : rest.substring(0, sp2), v = sp2 < 0 ? "" : rest.substring(sp2 + 1);
                if (!store.containsKey(k) && store.size() >= maxKeys) return "ERROR full";
                store.put(k, v);
                return "OK";
            }
            case "GET" -> {
                if (rest.isEmpty() || rest.indexOf(' ') >= 0) return "ERROR GET takes one key";
                String v = store.get(rest);
                return v == null ? "NONE" : "VALUE " + v;
            }
            case "DEL" -> {
                if (rest.isEmpty() || rest.indexOf(' ') >= 0) return "ERROR DEL takes one key";
                return store.remove(rest) != null ? "DELETED" : "NONE";
            }
            default -> {
                return "ERROR unknown command (SET key value, GET key, DEL key)";
            }
        }
    }

    /** One client: input bytes in {@code in[0, inEnd)}, answers not yet written in {@code out[outStart, outEnd)}. */
    private final class Connection implements Pollable, AutoCloseable {
        final StreamSocket socket;
        final Arena arena = Arena.ofConfined();
        final MemorySegment staging = arena.allocate(16 * 1024);
        byte[] in = new byte[16 * 1024];
        int inEnd;
        MemorySegment out = arena.allocate(16 * 1024);
        long outStart, outEnd;
        boolean inputDone, closeAfterWrite, closed;
        Key key;

        Connection(StreamSocket socket) {
            this.socket = socket;
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        void ready(Key k) throws IOException {
            if ((k.readyOps() & Key.ERROR) != 0) {
                close();
                return;
            }
            if (k.isWritable() && !flush()) return;
            if (k.isReadable() && !inputDone && !closeAfterWrite) {
                int n = socket.read(staging);
                if (n < 0) inputDone = true;
                else if (n > 0) {
                    if (inEnd + n > in.length) in = java.util.Arrays.copyOf(in, Math.max(in.length * 2, inEnd + n));
                    MemorySegment.copy(staging, ValueLayout.JAVA_BYTE, 0, in, inEnd, n);
                    inEnd += n;
                    lines();
                    if (!flush()) return;
                }
            }
            if ((inputDone || closeAfterWrite || drain.draining()) && outStart == outEnd) close();
        }

        private void lines() {
            int start = 0;
            for (int i = 0; i < inEnd; i++) {
                if (in[i] != '\n') continue;
                int end = i > start && in[i - 1] == '\r' ? i - 1 : i;
                answer(execute(new String(in, start, end - start, StandardCharsets.UTF_8)));
                ctx.requestDone();
                start = i + 1;
            }
            System.arraycopy(in, start, in, 0, inEnd - start);
            inEnd -= start;
            if (inEnd > MAX_LINE) {
                answer("ERROR line too long");
                closeAfterWrite = true;
                inEnd = 0;
            }
        }

        private void answer(String line) {
            byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
            if (outEnd + b.length > out.byteSize()) {
                MemorySegment bigger = arena.allocate(Math.max(out.byteSize() * 2, outEnd - outStart + b.length));
                MemorySegment.copy(out, outStart, bigger, 0, outEnd - outStart);
                outEnd -= outStart;
                outStart = 0;
                out = bigger;
            }
            MemorySegment.copy(b, 0, out, ValueLayout.JAVA_BYTE, outEnd, b.length);
            outEnd += b.length;
        }

        /** Writes pending answers; false if the socket could not take them all (then reads wait for WRITE). */
        private boolean flush() throws IOException {
            while (outStart < outEnd) {
                int n = socket.write(out, outStart, outEnd - outStart);
                if (n == 0) {
                    key.interest(Selector.OP_WRITE);     // no more commands until the client reads its answers
                    return false;
                }
                outStart += n;
            }
            outStart = outEnd = 0;
            if (key.interest() != Selector.OP_READ) key.interest(Selector.OP_READ);
            return true;
        }

        @Override
        public void close() throws IOException {
            if (closed) return;
            closed = true;
            if (key != null && key.isValid()) key.cancelForClose();
            socket.close();
            arena.close();
            connections.remove(this);
            drain.closed();
            ctx.connections(drain.open());
            drain.check();
        }
    }
}
