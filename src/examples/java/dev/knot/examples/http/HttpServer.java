package dev.knot.examples.http;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.loop.Timer;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A small HTTP/1.1 server on one {@link EventLoop}, made to be measured: keep-alive, pipelining (every complete
 * request in a read is answered, and the answers go out in one write), Content-Length request bodies, 400 for
 * malformed requests, 431 for a request head over {@link Config#maxHeadBytes()}, 413 for a body over
 * {@link Config#maxBodyBytes()}, 501 for transfer codings. Routes: {@code /} and {@code /plaintext} answer a
 * fixed {@code Hello, World!}; {@code /echo} answers the request body; {@code /sleep?ms=N} answers Hello after N
 * milliseconds (a request in flight, for drain tests); everything else is 404.
 *
 * <p>The request path allocates nothing: each connection reads into a fixed native buffer, moves what it read into
 * the byte array it parses from, and assembles responses from pre-rendered bytes and a Date header refreshed once a
 * second. A server can stop accepting and drain ({@link #drain()}): requests in progress are answered (with
 * {@code Connection: close}), idle keep-alive connections are closed.
 *
 * <p>Threading: everything runs on the loop thread; {@link #start} must be called there or before the loop runs.
 */
public final class HttpServer {
    /**
     * Limits.
     *
     * @param maxHeadBytes the largest request line plus headers (else 431)
     * @param maxBodyBytes the largest request body (else 413)
     */
    public record Config(int maxHeadBytes, int maxBodyBytes) {
        public static Config defaults() {
            return new Config(8 * 1024, 1024 * 1024);
        }
    }

    static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

    private final EventLoop loop;
    private final ListenSocket listener;
    private final Config config;
    private final Arena arena = Arena.ofShared();
    final MemorySegment date = arena.allocate(29);
    private final Timer clock;
    private Key listenKey;
    private boolean draining;
    private int open;
    private long requests;
    private Runnable onDrained;
    private Runnable onRequest = () -> {}, onConnections = () -> {};

    private HttpServer(EventLoop loop, ListenSocket listener, Config config) {
        this.loop = loop;
        this.listener = listener;
        this.config = config;
        refreshDate();
        this.clock = loop.scheduleAtFixedRate(this::refreshDate, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Serves on {@code listener}. The listener stays the caller's: the server never closes it (a prefork worker's
     * listener belongs to its master), but the loop closes the connections at shutdown.
     */
    public static HttpServer start(EventLoop loop, ListenSocket listener, Config config) {
        HttpServer s = new HttpServer(loop, listener, config);
        s.listenKey = loop.register(listener.fd(), Selector.OP_READ, s::accept);
        return s;
    }

    /**
     * Serves on {@code listener} through a key that already watches it for READ (a prefork worker gets one restored
     * from its master's snapshot).
     */
    public static HttpServer start(EventLoop loop, ListenSocket listener, Config config, Key listenKey) {
        HttpServer s = new HttpServer(loop, listener, config);
        s.listenKey = loop.attach(listenKey, s::accept);
        return s;
    }

    EventLoop loop() {
        return loop;
    }

    private void refreshDate() {
        byte[] d = HTTP_DATE.format(ZonedDateTime.now(ZoneOffset.UTC)).getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(d, 0, date, ValueLayout.JAVA_BYTE, 0, Math.min(d.length, 29));
    }

    private void accept(Key key) throws IOException {
        if (draining) return;
        listener.acceptAll(loop, key, s -> {
            s.setTcpNoDelayIfTcp();
            Connection c = new Connection(this, s, config);
            c.key = loop.register(c, Selector.OP_READ, c);
            open++;
            onConnections.run();
        });
    }

    /**
     * Tells {@code onRequest} of every answered request and {@code onConnections} of every change of
     * {@link #openConnections()} (a prefork worker feeds its master's stats from them). Both run on the loop thread.
     *
     * @return this server
     */
    public HttpServer observe(Runnable onRequest, Runnable onConnections) {
        this.onRequest = java.util.Objects.requireNonNull(onRequest);
        this.onConnections = java.util.Objects.requireNonNull(onConnections);
        return this;
    }

    /** Connections open now. */
    public int openConnections() {
        return open;
    }

    /** Requests answered so far. */
    public long requests() {
        return requests;
    }

    /**
     * Stops accepting and closes connections as their requests complete; {@code whenDone} runs (on the loop) when
     * the last one is gone. Idempotent.
     */
    public void drain(Runnable whenDone) {
        onDrained = whenDone;
        drain();
    }

    /** Stops accepting (the listener stays open) and lets open connections finish their request, then close. */
    public void drain() {
        if (!draining) {
            draining = true;
            if (listenKey != null && listenKey.isValid()) listenKey.cancel();
            clock.cancel();
            loop.selector().forEachKey(k -> {
                if (k.attachment() instanceof Connection c) c.drain();
            });
        }
        checkDrained();
    }

    boolean draining() {
        return draining;
    }

    void requestDone() {
        requests++;
        onRequest.run();
    }

    void closed() {
        open--;
        onConnections.run();
        checkDrained();
    }

    private void checkDrained() {
        if (draining && open == 0 && onDrained != null) {
            Runnable r = onDrained;
            onDrained = null;
            r.run();
        }
    }

    /** Serves on a new loop on the calling thread: {@code java -cp knot.jar dev.knot.examples.http.HttpServer [port]}. */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        EventLoop loop = EventLoop.open();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", port));
        start(loop, l, Config.defaults());
        System.out.println("http server on " + l.localAddress());
        loop.run();
    }

    /** One client connection: parses requests as they arrive and queues answers. */
    static final class Connection implements Pollable, AutoCloseable, EventLoop.Handler {
        private final HttpServer server;
        private final StreamSocket socket;
        private final Config config;
        private final Arena arena = Arena.ofConfined();
        // Reads land in `staging` (recv needs native memory) and move to `in` at once: the parser reads byte by byte,
        // and an array read is a plain load where a segment read also checks bounds and the arena's liveness.
        private final MemorySegment staging;
        private byte[] in;
        private int inStart, inEnd;
        private MemorySegment out;
        private int outStart, outEnd;
        private boolean closeAfterWrite;
        private boolean closed;
        private boolean waiting;                    // a /sleep answer is pending: later requests wait their turn
        private final Request request = new Request();
        Key key;

        Connection(HttpServer server, StreamSocket socket, Config config) {
            this.server = server;
            this.socket = socket;
            this.config = config;
            this.staging = arena.allocate(Math.min(config.maxHeadBytes() + 4096, 64 * 1024));
            this.in = new byte[(int) staging.byteSize()];
            this.out = arena.allocate(16 * 1024);
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        @Override
        public void ready(Key k) throws IOException {
            if ((k.readyOps() & Key.ERROR) != 0) {
                close();
                return;
            }
            if (k.isWritable() && !flush()) return;
            // One read per readiness: READ is level-triggered, so what is left is reported again, and reading until
            // the socket would block costs every request one more recv that returns nothing.
            if (k.isReadable() && canRead() && (inEnd < in.length || makeRoom())) {
                int n = socket.read(staging, 0, Math.min(staging.byteSize(), in.length - inEnd));
                if (n < 0) {
                    // The client is done sending: answer what is complete, then close.
                    closeAfterWrite = true;
                } else if (n > 0) {
                    MemorySegment.copy(staging, ValueLayout.JAVA_BYTE, 0, in, inEnd, n);
                    inEnd += n;
                    parse();
                }
                if (!flush()) return;
            }
            if (done()) close();
        }

        /** Nothing is owed and nothing more is wanted: the client is done, or the server drains and this one is idle. */
        private boolean done() {
            if (waiting || outStart != outEnd) return false;
            return closeAfterWrite || (server.draining() && inStart == inEnd);
        }

        /** True while more input is wanted and there is or can be room for it. */
        private boolean canRead() {
            return !closeAfterWrite && (inEnd < in.length || inStart > 0 || in.length < maxInput());
        }

        private long maxInput() {
            return (long) config.maxHeadBytes() + config.maxBodyBytes();
        }

        /** Compacts the input buffer, or grows it for a body; false if the request cannot fit. */
        private boolean makeRoom() {
            if (inStart > 0) {
                System.arraycopy(in, inStart, in, 0, inEnd - inStart);
                inEnd -= inStart;
                inStart = 0;
                return true;
            }
            long max = maxInput();
            if (in.length >= max) return false;
            in = java.util.Arrays.copyOf(in, (int) Math.min(max, in.length * 2L));
            return true;
        }

        /** Answers every complete request in the input buffer. */
        private void parse() {
            while (!closeAfterWrite && !waiting && inStart < inEnd) {
                int headEnd = findHeadEnd();
                if (headEnd < 0) {
                    if (inEnd - inStart > config.maxHeadBytes()) error(Responses.HEADERS_TOO_LARGE);
                    return;
                }
                if (headEnd - inStart > config.maxHeadBytes()) {
                    error(Responses.HEADERS_TOO_LARGE);
                    return;
                }
                Request r = request.parse(in, inStart, headEnd);
                if (r.status != 0) {
                    error(r.status == 400 ? Responses.BAD_REQUEST : Responses.NOT_IMPLEMENTED);
                    return;
                }
                if (r.contentLength > config.maxBodyBytes()) {
                    error(Responses.PAYLOAD_TOO_LARGE);
                    return;
                }
                long end = headEnd + r.contentLength;
                if (end > inEnd) return;                     // the body is still arriving
                if (!r.keepAlive || server.draining()) closeAfterWrite = true;
                if (r.route == Request.ROUTE_SLEEP) {
                    waiting = true;
                    inStart = (int) end;
                    server.loop().schedule(this::wakeUp, r.sleepMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
                    return;
                }
                respond(r, headEnd, (int) r.contentLength);
                inStart = (int) end;
                server.requestDone();
            }
            if (inStart == inEnd) inStart = inEnd = 0;
        }

        /** The delayed answer of a /sleep request is due. */
        private void wakeUp() {
            if (closed) return;
            waiting = false;
            if (server.draining()) closeAfterWrite = true;       // the answer says Connection: close
            appendResponse(Responses.OK_TEXT, HELLO, 0, HELLO.length);
            server.requestDone();
            parse();
            try {
                if (flush() && done()) close();
            } catch (IOException e) {
                closeQuietly();
            }
        }

        /** The offset just past the CRLFCRLF that ends the head, or -1. */
        private int findHeadEnd() {
            byte[] b = in;
            for (int i = inStart + 3, end = inEnd; i < end; i++) {
                if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') return i + 1;
            }
            return -1;
        }

        private void respond(Request r, int bodyStart, int bodyLen) {
            switch (r.route) {
                case Request.ROUTE_HELLO -> appendResponse(Responses.OK_TEXT, r.head ? null : HELLO, 0, HELLO.length);
                case Request.ROUTE_ECHO -> appendResponse(Responses.OK_OCTETS, r.head ? null : in, bodyStart, bodyLen);
                default -> appendResponse(Responses.NOT_FOUND, null, 0, 0);
            }
        }

        /** Status line and headers (with Date and Content-Length), then the body. */
        private void appendResponse(Responses.Head head, byte[] body, int bodyOffset, int bodyLen) {
            int need = head.prefix().length + 29 + Responses.CONTENT_LENGTH.length + 10
                    + (closeAfterWrite ? Responses.CLOSE_END.length : Responses.END.length) + (body == null ? 0 : bodyLen);
            ensureOut(need);
            put(head.prefix());
            MemorySegment.copy(server.date, 0, out, outEnd, 29);
            outEnd += 29;
            put(Responses.CONTENT_LENGTH);
            outEnd += Responses.putDecimal(out, outEnd, bodyLen);
            put(closeAfterWrite ? Responses.CLOSE_END : Responses.END);
            if (body != null && bodyLen > 0) {
                MemorySegment.copy(body, bodyOffset, out, ValueLayout.JAVA_BYTE, outEnd, bodyLen);
                outEnd += bodyLen;
            }
        }

        private void error(Responses.Head head) {
            closeAfterWrite = true;
            appendResponse(head, null, 0, 0);
            inStart = inEnd = 0;
        }

        private void put(byte[] b) {
            MemorySegment.copy(b, 0, out, ValueLayout.JAVA_BYTE, outEnd, b.length);
            outEnd += b.length;
        }

        private void ensureOut(int need) {
            if (outEnd + need <= out.byteSize()) return;
            if (outStart > 0) {
                MemorySegment.copy(out, outStart, out, 0, outEnd - outStart);
                outEnd -= outStart;
                outStart = 0;
            }
            if (outEnd + need > out.byteSize()) {
                MemorySegment bigger = arena.allocate(Math.max(out.byteSize() * 2, outEnd + need));
                MemorySegment.copy(out, 0, bigger, 0, outEnd);
                out = bigger;
            }
        }

        /** Writes queued answers; false if the socket is full (interest switches to WRITE until it drains). */
        private boolean flush() throws IOException {
            while (outStart < outEnd) {
                int n = socket.write(out, outStart, outEnd - outStart);
                if (n == 0) {
                    key.interest(Selector.OP_WRITE);         // stop reading new requests until the client reads
                    return false;
                }
                outStart += n;
            }
            outStart = outEnd = 0;
            // READ is level-triggered: keep it only while we would read, or input we cannot take spins the loop
            // (a full buffer behind a /sleep answer, pipelined bytes after "Connection: close").
            int want = canRead() ? Selector.OP_READ : 0;
            if (key.interest() != want) key.interest(want);
            return true;
        }

        /**
         * Drain: an idle connection closes now. A busy one goes on reading, so that a request half received is
         * answered; that answer says Connection: close ({@link #parse}, {@link #wakeUp}), and the connection
         * closes once it owes nothing ({@link #done}).
         */
        void drain() {
            if (done()) closeQuietly();
        }

        private void closeQuietly() {
            try {
                close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }

        @Override
        public void close() throws IOException {
            if (closed) return;
            closed = true;
            if (key != null && key.isValid()) key.cancelForClose();
            try {
                socket.close();
            } finally {
                if (arena.scope().isAlive()) arena.close();
                server.closed();
            }
        }
    }
}
