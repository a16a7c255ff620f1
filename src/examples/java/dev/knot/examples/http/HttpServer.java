// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.loop.Timer;
import dev.knot.loop.TimeoutWheel;
import dev.knot.net.BufferPool;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import dev.knot.prefork.Drain;

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
 * <p>The request path allocates nothing, and an idle connection holds no buffer: reads land in one native staging
 * segment of the server and move into an input array borrowed from the server's pool for as long as the connection
 * holds request bytes; responses are assembled from pre-rendered bytes and a Date header refreshed once a second into
 * a native buffer borrowed from the loop's {@link BufferPool} until the socket has taken them. A keep-alive
 * connection between requests gives both back (see {@link #buffersHeld()}). A server can stop accepting and drain ({@link #drain()}): requests in progress are answered (with
 * {@code Connection: close}), idle keep-alive connections are closed.
 *
 * <p>Threading: everything runs on the loop thread; {@link #start} must be called there or before the loop runs.
 */
public final class HttpServer {
    /**
     * Limits and timeouts. A connection waiting for a request (a new one, one kept alive between requests, one whose
     * head is still arriving) may be closed to make room when the server is at {@code maxConnections}, oldest first;
     * one that has sent a complete head is not.
     *
     * @param maxHeadBytes the largest request line plus headers (else 431)
     * @param maxBodyBytes the largest request body (else 413)
     * @param maxConnections connections open at once; beyond it the server closes the connection that has waited
     *                       longest for a request, or, if none is waiting, stops accepting until one closes
     * @param headerTimeoutMillis a request head (the first on a connection counted from the accept, later ones from
     *                            their first byte) must be complete within this long, however slowly it trickles in
     * @param idleTimeoutMillis a kept-alive connection with no request, or one whose client does not take its answer,
     *                          is closed after this long
     * @param bodyTimeoutMillis a request body that makes no progress for this long closes its connection
     */
    public record Config(int maxHeadBytes, int maxBodyBytes, int maxConnections, long headerTimeoutMillis,
                         long idleTimeoutMillis, long bodyTimeoutMillis) {
        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException naming a value that is not positive
         */
        public Config {
            positive("maxHeadBytes", maxHeadBytes);
            positive("maxBodyBytes", maxBodyBytes);
            positive("maxConnections", maxConnections);
            positive("headerTimeoutMillis", headerTimeoutMillis);
            positive("idleTimeoutMillis", idleTimeoutMillis);
            positive("bodyTimeoutMillis", bodyTimeoutMillis);
        }

        /**
         * The given size limits with the default connection cap and timeouts.
         *
         * @param maxHeadBytes the largest request head
         * @param maxBodyBytes the largest request body
         */
        public Config(int maxHeadBytes, int maxBodyBytes) {
            this(maxHeadBytes, maxBodyBytes, defaultMaxConnections(), 10_000, 30_000, 30_000);
        }

        /**
         * 8 KiB heads, 1 MiB bodies, {@link #defaultMaxConnections()}, a 10 s header timeout and 30 s idle and body
         * timeouts.
         *
         * @return the defaults
         */
        public static Config defaults() {
            return new Config(8 * 1024, 1024 * 1024);
        }

        /**
         * The descriptor limit of this process (its soft RLIMIT_NOFILE, which HotSpot on Linux raises to the hard
         * limit at start unless run with {@code -XX:-MaxFDLimit}, and Knot's prefork master and workers raise in any
         * case) less a reserve for everything else the process opens: 64, or half of a limit under 128. 10,000 if the
         * limit cannot be read or is unlimited.
         *
         * @return the default connection cap
         */
        public static int defaultMaxConnections() {
            long limit = openFileLimit();
            if (limit <= 0 || limit > Integer.MAX_VALUE) return 10_000;
            return (int) Math.max(1, limit - Math.min(64, limit / 2));
        }

        private static long openFileLimit() {
            try {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/limits"))) {
                    if (line.startsWith("Max open files")) {
                        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                        return soft.equals("unlimited") ? -1 : Long.parseLong(soft);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or /proc is missing: use the fixed default
            }
            return -1;
        }

        /**
         * Applies {@code --max-connections N}, {@code --header-timeout-ms MS}, {@code --idle-timeout-ms MS},
         * {@code --body-timeout-ms MS}, {@code --max-head-bytes N} and {@code --max-body-bytes N} to this config.
         *
         * @param args options and values, in pairs
         * @return the config with those values replaced
         * @throws IllegalArgumentException for an unknown option, a missing or non-numeric value
         */
        public Config with(java.util.List<String> args) {
            int head = maxHeadBytes, body = maxBodyBytes, max = maxConnections;
            long ht = headerTimeoutMillis, it = idleTimeoutMillis, bt = bodyTimeoutMillis;
            for (int i = 0; i < args.size(); i += 2) {
                String o = args.get(i);
                if (!isOption(o)) throw new IllegalArgumentException("unknown HTTP option " + o);
                if (i + 1 >= args.size()) throw new IllegalArgumentException(o + " needs a value");
                long v;
                try {
                    v = Long.parseLong(args.get(i + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(o + " takes a number, not " + args.get(i + 1));
                }
                switch (o) {
                    case "--max-connections" -> max = toInt(o, v);
                    case "--header-timeout-ms" -> ht = v;
                    case "--idle-timeout-ms" -> it = v;
                    case "--body-timeout-ms" -> bt = v;
                    case "--max-head-bytes" -> head = toInt(o, v);
                    default -> body = toInt(o, v);
                }
            }
            return new Config(head, body, max, ht, it, bt);
        }

        /**
         * Whether {@link #with} takes this option.
         *
         * @param option a command-line word
         * @return true for the options of {@link #with}
         */
        public static boolean isOption(String option) {
            return switch (option) {
                case "--max-connections", "--header-timeout-ms", "--idle-timeout-ms", "--body-timeout-ms",
                     "--max-head-bytes", "--max-body-bytes" -> true;
                default -> false;
            };
        }

        private static int toInt(String option, long v) {
            if (v > Integer.MAX_VALUE) throw new IllegalArgumentException(option + " " + v + " is too large");
            return (int) v;
        }

        private static void positive(String name, long v) {
            if (v <= 0) throw new IllegalArgumentException(name + " must be positive, not " + v);
        }
    }

    private static final int ACCEPT_BATCH = 128;
    static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

    private final EventLoop loop;
    private final ListenSocket listener;
    private final Config config;
    private final Arena arena = Arena.ofShared();
    final MemorySegment date = arena.allocate(29);
    // The whole kept-alive answer to GET /plaintext, Date included, rebuilt with the Date each second: the hot route
    // costs one copy instead of five pieces (the NIO and Netty servers it is measured against do the same).
    final MemorySegment hello = arena.allocate(Responses.OK_TEXT.prefix().length + 29 + Responses.CONTENT_LENGTH.length
            + Integer.toString(HELLO.length).length() + Responses.END.length + HELLO.length);
    // Per-connection memory follows what a connection holds, not that it is open (issue 14): reads land in one
    // staging segment, request bytes that must wait for more go into an input array borrowed from `inputs`, and
    // answers the socket has not taken yet into a native buffer borrowed from the loop's BufferPool. A connection
    // idle between requests holds neither. The request path takes from the pools and gives back: no garbage.
    final MemorySegment staging;
    final Request request = new Request();            // parsing is synchronous: one for all connections
    private final java.util.ArrayDeque<byte[]> inputs = new java.util.ArrayDeque<>();
    private final BufferPool outputs;
    private static final int MAX_IDLE_INPUTS = 256;
    private long heldInputs, heldOutputs;
    private final Timer clock;
    private Key listenKey;
    /** Open connections, and the drain's end once the last one closes. */
    private final Drain drain = new Drain();
    private long requests;
    private Runnable onRequest = () -> {}, onConnections = () -> {};
    final TimeoutWheel timeouts;
    BatchedIo io;                                     // null: every connection reads and writes directly
    // Connections waiting for a request, longest first: the ones closed to make room at maxConnections.
    private final Connection waitingHead = new Connection();
    private int waitingCount;
    private boolean acceptPaused, capLogged, resumeScheduled;
    private long timedOut, evicted, capPauses;
    private final long evictAfterNanos;              // how long a connection waits before it may be closed for room

    private HttpServer(EventLoop loop, ListenSocket listener, Config config) {
        this.loop = loop;
        this.listener = listener;
        this.config = config;
        this.staging = arena.allocate(Math.min(config.maxHeadBytes() + 4096, 64 * 1024));
        this.outputs = BufferPool.of(loop);
        refreshDate();
        this.clock = loop.scheduleAtFixedRate(this::refreshDate, 1, 1, TimeUnit.SECONDS);
        long shortest = Math.min(config.headerTimeoutMillis(), Math.min(config.idleTimeoutMillis(), config.bodyTimeoutMillis()));
        // 100 ms: a client that connected has had a round trip or more to send its request; longer, and a flood at the
        // cap (each batch of waiting connections evictable only this much later) keeps new clients queued for seconds.
        this.evictAfterNanos = TimeUnit.MILLISECONDS.toNanos(Math.min(100, config.headerTimeoutMillis() / 2 + 1));
        this.timeouts = new TimeoutWheel(loop, Math.clamp(shortest / 10, 10, 1000), TimeUnit.MILLISECONDS, 1024);
    }

    /**
     * Serves on {@code listener}. The listener stays the caller's: the server never closes it (a prefork worker's
     * listener belongs to its master), but the loop closes the connections at shutdown.
     */
    public static HttpServer start(EventLoop loop, ListenSocket listener, Config config) {
        HttpServer s = new HttpServer(loop, listener, config);
        s.listenKey = loop.register(listener.fd(), Selector.OP_READ, s::accept);
        s.io = BatchedIo.open(s, loop, s.arena, s.staging.byteSize());
        return s;
    }

    /**
     * Serves on {@code listener} through a key that already watches it for READ (a prefork worker gets one restored
     * from its master's snapshot).
     */
    public static HttpServer start(EventLoop loop, ListenSocket listener, Config config, Key listenKey) {
        HttpServer s = new HttpServer(loop, listener, config);
        s.listenKey = loop.attach(listenKey, s::accept);
        s.io = BatchedIo.open(s, loop, s.arena, s.staging.byteSize());
        return s;
    }

    EventLoop loop() {
        return loop;
    }

    /** An input array of the staging size, with undefined contents. */
    byte[] borrowInput() {
        heldInputs++;
        byte[] b = inputs.pollFirst();
        return b != null ? b : new byte[(int) staging.byteSize()];
    }

    /** A bigger input array for a body, with {@code old}'s bytes; {@code old} goes back to the pool. */
    byte[] growInput(byte[] old, int size) {
        byte[] bigger = java.util.Arrays.copyOf(old, size);
        pool(old);
        return bigger;
    }

    /** Takes back an input array; one grown for a large body is left to the collector. */
    void releaseInput(byte[] b) {
        heldInputs--;
        pool(b);
    }

    private void pool(byte[] b) {
        if (b.length == staging.byteSize() && inputs.size() < MAX_IDLE_INPUTS) inputs.addFirst(b);   // warmest first
    }

    /** A native output buffer of at least {@code need} bytes: the loop's pooled size, or a one-off for a large answer. */
    MemorySegment borrowOutput(long need) {
        heldOutputs++;
        return need <= outputs.bufferSize() ? outputs.borrow() : Arena.ofAuto().allocate(need, 8);
    }

    void releaseOutput(MemorySegment b) {
        heldOutputs--;
        if (b.byteSize() == outputs.bufferSize()) outputs.release(b);
    }

    /**
     * Buffers held by connections now, input and output (tests and diagnostics: an idle server holds none).
     *
     * @return the count
     */
    public long buffersHeld() {
        return heldInputs + heldOutputs;
    }

    private void refreshDate() {
        byte[] d = HTTP_DATE.format(ZonedDateTime.now(ZoneOffset.UTC)).getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(d, 0, date, ValueLayout.JAVA_BYTE, 0, Math.min(d.length, 29));
        long at = 0;
        for (byte[] piece : new byte[][] {Responses.OK_TEXT.prefix(), d, Responses.CONTENT_LENGTH,
                Integer.toString(HELLO.length).getBytes(StandardCharsets.US_ASCII), Responses.END, HELLO}) {
            MemorySegment.copy(piece, 0, hello, ValueLayout.JAVA_BYTE, at, piece.length);
            at += piece.length;
        }
    }

    private void accept(Key key) throws IOException {
        if (drain.draining()) return;
        int max = config.maxConnections();
        // A bounded batch per readiness, so a flood in the accept queue cannot hold up the connections already open.
        for (int budget = ACCEPT_BATCH; budget > 0; ) {
            if (drain.open() >= max && !evictOldestWaiting()) {
                pauseAccepting();
                return;
            }
            int want = Math.min(budget, Math.max(1, max - drain.open()));
            int got = listener.acceptAll(loop, key, want, s -> {
                s.setTcpNoDelayIfTcp();
                Connection c = new Connection(this, s, config);
                c.key = loop.register(c, Selector.OP_READ, c);
                drain.opened();
                c.accepted(System.nanoTime());
                onConnections.run();
            });
            if (got < want) return;                      // the queue is empty (or accepting paused on EMFILE)
            budget -= got;
        }
    }

    /**
     * At the cap with nobody to make room: stop accepting until a connection closes, or until the youngest of the
     * waiting have waited long enough to be closed ({@link #evictOldestWaiting}).
     */
    private void pauseAccepting() {
        if (acceptPaused || listenKey == null || !listenKey.isValid()) return;
        acceptPaused = true;
        capPauses++;
        listenKey.interest(0);
        if (waitingCount > 0) scheduleResume();
        if (!capLogged) {
            capLogged = true;                            // once: a flood must not flood the log too
            loop.log("http server on " + listener + ": " + config.maxConnections() + " connections open (the cap): accepting"
                    + " pauses until one closes; connections waiting for a request are closed, oldest first, to make room");
        }
    }

    /** A try at accepting once the waiting connections may be closed for room (one timer per pause, not per event). */
    private void scheduleResume() {
        if (resumeScheduled) return;
        resumeScheduled = true;
        loop.schedule(() -> {
            resumeScheduled = false;
            resumeAccepting();
        }, evictAfterNanos, TimeUnit.NANOSECONDS);
    }

    private void resumeAccepting() {
        if (!acceptPaused) return;
        acceptPaused = false;
        if (!drain.draining() && listenKey != null && listenKey.isValid()) listenKey.interest(Selector.OP_READ);
    }

    /**
     * Closes the connection that has waited longest for a request to make room for a new one. Only one that has
     * waited {@link #evictAfterNanos} (a client that just connected has not sent its request yet), and passing over
     * a few whose request is already in their receive buffer (their readiness may not have been dispatched yet).
     *
     * @return false if no connection may be closed now
     */
    private boolean evictOldestWaiting() {
        long now = System.nanoTime();
        Connection victim = null, oldest = null;
        int looked = 0;
        for (Connection c = waitingHead.nextWaiting; c != waitingHead && looked < 8; c = c.nextWaiting, looked++) {
            if (now - c.waitingSince < evictAfterNanos) break;   // the rest are younger still
            if (oldest == null) oldest = c;
            if (!c.hasInput()) {
                victim = c;
                break;
            }
        }
        if (victim == null && looked == 8) victim = oldest;  // all eight have input: a trickling flood, take the oldest
        if (victim == null) return false;
        evicted++;
        victim.closeQuietly();
        return true;
    }

    void startWaiting(Connection c) {
        if (c.nextWaiting != null) return;               // already waiting: keeps its place, a trickle does not refresh it
        c.waitingSince = System.nanoTime();
        c.prevWaiting = waitingHead.prevWaiting;
        c.nextWaiting = waitingHead;
        waitingHead.prevWaiting.nextWaiting = c;
        waitingHead.prevWaiting = c;
        waitingCount++;
        if (acceptPaused) scheduleResume();              // it may make room once it has waited a little
    }

    void stopWaiting(Connection c) {
        if (c.nextWaiting == null) return;
        c.prevWaiting.nextWaiting = c.nextWaiting;
        c.nextWaiting.prevWaiting = c.prevWaiting;
        c.prevWaiting = c.nextWaiting = null;
        waitingCount--;
    }

    void timedOut() {
        timedOut++;
    }

    /**
     * Tells {@code onRequest} of every answered request and {@code onConnections} of every change of
     * {@link #openConnections()} (a prefork worker feeds its master's stats from them). Both run on the loop thread.
     *
     * @param onRequest runs after each answered request
     * @param onConnections runs after each accept and close
     * @return this server
     */
    public HttpServer observe(Runnable onRequest, Runnable onConnections) {
        this.onRequest = java.util.Objects.requireNonNull(onRequest);
        this.onConnections = java.util.Objects.requireNonNull(onConnections);
        return this;
    }

    /**
     * Whether the connections' reads and writes of a loop iteration go to the kernel batched, one system call for
     * each kind (io_uring; not with {@code -Dknot.http.batch=false}), or one call per connection.
     *
     * @return true if batched
     */
    public boolean batchedIo() {
        return io != null;
    }

    /**
     * Reads and writes so far that went to the kernel in one submission with other connections' (0 unless
     * {@link #batchedIo()}).
     *
     * @return the count
     */
    public long batchedOps() {
        return io != null ? io.batchedOps() : 0;
    }

    /** Connections open now. */
    public int openConnections() {
        return drain.open();
    }

    /**
     * Connections closed by the header, idle or body timeout so far.
     *
     * @return the count
     */
    public long timedOutConnections() {
        return timedOut;
    }

    /**
     * Connections waiting for a request that were closed to make room at {@link Config#maxConnections()}.
     *
     * @return the count
     */
    public long evictedConnections() {
        return evicted;
    }

    /**
     * Times accepting paused at {@link Config#maxConnections()} with no waiting connection to close.
     *
     * @return the count
     */
    public long acceptPauses() {
        return capPauses;
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
        drain.whenDone(whenDone);
        drain();
    }

    /** Stops accepting (the listener stays open) and lets open connections finish their request, then close. */
    public void drain() {
        if (drain.start()) {
            if (listenKey != null && listenKey.isValid()) listenKey.cancel();
            acceptPaused = false;
            clock.cancel();
            // The connections waiting for a request are the idle ones; the others close once they owe nothing.
            for (Connection c = waitingHead.nextWaiting, next; c != waitingHead; c = next) {
                next = c.nextWaiting;
                c.drain();
            }
        }
        drain.check();
    }

    boolean draining() {
        return drain.draining();
    }

    void requestDone() {
        requests++;
        onRequest.run();
    }

    void closed(Connection c) {
        drain.closed();
        stopWaiting(c);
        if (drain.open() < config.maxConnections()) resumeAccepting();
        onConnections.run();
        drain.check();
    }

    /**
     * Serves on a new loop on the calling thread:
     * {@code java -cp knot.jar dev.knot.examples.http.HttpServer [port [options of Config.with]]}.
     */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        Config config = Config.defaults().with(java.util.Arrays.asList(args).subList(Math.min(1, args.length), args.length));
        EventLoop loop = EventLoop.open();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", port));
        start(loop, l, config);
        System.out.println("http server on " + l.localAddress());
        loop.run();
    }
}
