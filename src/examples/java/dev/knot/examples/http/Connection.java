// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import dev.knot.examples.http.HttpServer.Config;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Pollable;
import dev.knot.loop.Selector;
import dev.knot.loop.TimeoutWheel;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** One client connection: parses requests as they arrive and queues answers. */
final class Connection implements Pollable, AutoCloseable, EventLoop.Handler, Runnable {
    // What the connection's timeout measures; see Config.
    private static final byte WAIT_HEAD = 0, IDLE = 1, BODY = 2, WRITE = 3, SLEEP = 4;
    private final HttpServer server;
    private final StreamSocket socket;
    private final Config config;
    // Borrowed from the server's pools while the connection holds bytes, null otherwise: an idle keep-alive
    // connection owns no buffer (issue 14). `in` holds request bytes not yet answered (a partial head or body),
    // `out` answers the socket has not taken yet.
    private byte[] in;
    private int inStart, inEnd;
    private MemorySegment out;
    private int outStart, outEnd;
    private boolean closeAfterWrite;
    private boolean closed;
    private boolean waiting;                    // a /sleep answer is pending: later requests wait their turn
    private boolean bodyPending;                 // parse stopped inside a body, not a head
    private boolean preReadPending;              // BatchedIo read for the next ready(): preReadResult or preReadError
    private int preReadResult;
    private IOException preReadError;
    private byte phase;
    private long requestsAnswered;
    private final TimeoutWheel.Timeout timeout;
    Connection prevWaiting, nextWaiting;
    long waitingSince;         // in the server's waiting list while phase is WAIT_HEAD or IDLE
    Key key;

    Connection(HttpServer server, StreamSocket socket, Config config) {
        this.server = server;
        this.socket = socket;
        this.config = config;
        this.timeout = server.timeouts.newTimeout(this);     // run(): no lambda object per connection
    }

    /** The head of the server's waiting list: a sentinel, never a connection. */
    Connection() {
        this.server = null;
        this.socket = null;
        this.config = null;
        this.timeout = null;
        this.prevWaiting = this.nextWaiting = this;
    }

    void accepted(long now) {
        phase = WAIT_HEAD;
        timeout.schedule(now + millis(config.headerTimeoutMillis()));
        server.startWaiting(this);
    }

    private static long millis(long ms) {
        return ms * 1_000_000L;
    }

    /** The timeout expired. */
    @Override
    public void run() {
        if (closed) return;
        server.timedOut();
        closeQuietly();
    }

    /**
     * Moves the timeout to what the connection is doing now. Mostly a field write: the wheel leaves a timeout
     * pushed later where it is.
     *
     * @param progress bytes came in (or went out) in this step
     */
    private void track(boolean progress) {
        if (closed) return;
        byte was = phase;
        long now = System.nanoTime();
        if (waiting) {
            phase = SLEEP;
            timeout.cancel();
            server.stopWaiting(this);
        } else if (outStart != outEnd) {
            phase = WRITE;
            if (was != WRITE || progress) timeout.schedule(now + millis(config.idleTimeoutMillis()));
            server.stopWaiting(this);
        } else if (inStart == inEnd) {
            if (was == WAIT_HEAD && requestsAnswered == 0) return;   // nothing yet: the first head's deadline holds
            phase = IDLE;
            if (was != IDLE || progress) {
                timeout.schedule(now + millis(config.idleTimeoutMillis()));
                server.stopWaiting(this);                // answered just now: the youngest of the waiting
            }
            server.startWaiting(this);
        } else if (bodyPending) {
            phase = BODY;
            if (was != BODY || progress) timeout.schedule(now + millis(config.bodyTimeoutMillis()));
            server.stopWaiting(this);
        } else {
            phase = WAIT_HEAD;
            // A new head: its deadline counts from its first byte, and a trickle does not push it back.
            if (was != WAIT_HEAD) timeout.schedule(now + millis(config.headerTimeoutMillis()));
            server.startWaiting(this);
        }
    }

    /** Bytes wait in the receive buffer (one FIONREAD on the Linux emulation: only asked when making room). */
    boolean hasInput() {
        return key != null && key.isValid() && key.readData() > 0;
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
        if (k.isWritable()) {
            int before = outEnd - outStart;
            boolean flushed = flush();
            if (!flushed) {
                track(outEnd - outStart < before);
                return;
            }
        }
        // One read per readiness: READ is level-triggered, so what is left is reported again, and reading until
        // the socket would block costs every request one more recv that returns nothing. The read may have been made
        // already, batched with the other ready connections' (BatchedIo): then its bytes are in `in`.
        boolean pre = preReadPending;
        if (pre || (k.isReadable() && canRead() && haveRoom())) {
            int n;
            if (pre) {
                preReadPending = false;
                IOException e = preReadError;
                if (e != null) {
                    preReadError = null;
                    throw e;
                }
                n = preReadResult;
            } else {
                // recv needs native memory: it lands in the server's one staging segment and moves to `in` at once
                // (the parser reads byte by byte, and an array read is a plain load where a segment read also
                // checks bounds and the arena's liveness).
                MemorySegment staging = server.staging;
                n = socket.read(staging, 0, Math.min(staging.byteSize(), in.length - inEnd));
                if (n > 0) {
                    MemorySegment.copy(staging, ValueLayout.JAVA_BYTE, 0, in, inEnd, n);
                    inEnd += n;
                }
            }
            if (n < 0) {
                // The client is done sending: answer what is complete, then close.
                closeAfterWrite = true;
            } else if (n > 0) {
                parse();
            }
            releaseInputIfEmpty();
            BatchedIo io = server.io;
            if (outStart != outEnd && io != null && io.queueWrite(this, out.address() + outStart, outEnd - outStart)) {
                track(n > 0);
                return;                                  // written() goes on once the iteration's answers went out
            }
            boolean flushed = flush();
            track(n > 0);
            if (!flushed) return;
        }
        if (done()) close();
    }

    /**
     * Whether {@link #ready} would read now with these ready ops (and nothing to flush first): then its read may be
     * batched with the other ready connections'. Borrows the input buffer the read will fill.
     */
    boolean wouldRead(Key k) {
        int ops = k.readyOps();
        if ((ops & Key.ERROR) != 0 || k.isWritable() || !k.isReadable() || closed || preReadPending) return false;
        return canRead() && haveRoom();
    }

    /** At most this many bytes for the batched read: as many as the direct read would take. */
    int readLength(long slotSize) {
        return (int) Math.min(slotSize, in.length - inEnd);
    }

    /** The batched read's result ({@link StreamSocket#read} counts): its bytes move to {@code in}, and {@link #ready} parses them. */
    void preRead(MemorySegment slots, long offset, int n) {
        if (n > 0) {
            MemorySegment.copy(slots, ValueLayout.JAVA_BYTE, offset, in, inEnd, n);
            inEnd += n;
        }
        preReadResult = n;
        preReadPending = true;
    }

    /** The batched read failed: {@link #ready} throws it, as it would have thrown the direct read's. */
    void preReadFailed(IOException e) {
        preReadError = e;
        preReadPending = true;
    }

    /**
     * The batched write of the answers queued in {@link #ready} took {@code n} bytes: what is left goes directly, and
     * the connection goes on as after a direct {@link #flush}.
     */
    void written(long n) throws IOException {
        if (closed) return;
        outStart += (int) n;
        boolean flushed = flush();
        track(true);
        if (flushed && done()) close();
    }

    HttpServer server() {
        return server;
    }

    StreamSocket socket() {
        return socket;
    }

    /** Nothing is owed and nothing more is wanted: the client is done, or the server drains and this one is idle. */
    private boolean done() {
        if (waiting || outStart != outEnd) return false;
        return closeAfterWrite || (server.draining() && inStart == inEnd);
    }

    /** True while more input is wanted and there is or can be room for it. */
    private boolean canRead() {
        return !closeAfterWrite && (in == null || inEnd < in.length || inStart > 0 || in.length < maxInput());
    }

    private long maxInput() {
        return (long) config.maxHeadBytes() + config.maxBodyBytes();
    }

    /** Borrows an input buffer if the connection holds none, else makes room in it; false if the request cannot fit. */
    private boolean haveRoom() {
        if (in == null) {
            in = server.borrowInput();
            inStart = inEnd = 0;
            return true;
        }
        return inEnd < in.length || makeRoom();
    }

    /** Nothing of a request is held: the buffer goes back to the pool (a kept-alive connection holds none). */
    private void releaseInputIfEmpty() {
        if (in != null && inStart == inEnd) {
            server.releaseInput(in);
            in = null;
            inStart = inEnd = 0;
        }
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
        in = server.growInput(in, (int) Math.min(max, in.length * 2L));
        return true;
    }

    /** Answers every complete request in the input buffer. */
    private void parse() {
        bodyPending = false;
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
            Request r = server.request.parse(in, inStart, headEnd);
            if (r.status != 0) {
                error(r.status == 400 ? Responses.BAD_REQUEST : Responses.NOT_IMPLEMENTED);
                return;
            }
            if (r.contentLength > config.maxBodyBytes()) {
                error(Responses.PAYLOAD_TOO_LARGE);
                return;
            }
            long end = headEnd + r.contentLength;
            if (end > inEnd) {
                bodyPending = true;                      // the body is still arriving
                return;
            }
            if (!r.keepAlive || server.draining()) closeAfterWrite = true;
            if (r.route == Request.ROUTE_SLEEP) {
                waiting = true;
                inStart = (int) end;
                server.loop().schedule(this::wakeUp, r.sleepMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
                return;
            }
            respond(r, headEnd, (int) r.contentLength);
            inStart = (int) end;
            requestsAnswered++;
            server.requestDone();
        }
        releaseInputIfEmpty();
    }

    /** The delayed answer of a /sleep request is due. */
    private void wakeUp() {
        if (closed) return;
        waiting = false;
        if (server.draining()) closeAfterWrite = true;       // the answer says Connection: close
        appendResponse(Responses.OK_TEXT, HttpServer.HELLO, 0, HttpServer.HELLO.length);
        requestsAnswered++;
        server.requestDone();
        parse();
        try {
            boolean flushed = flush();
            track(true);
            if (flushed && done()) close();
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
            case Request.ROUTE_HELLO -> {
                if (r.head || closeAfterWrite) {
                    appendResponse(Responses.OK_TEXT, r.head ? null : HttpServer.HELLO, 0, HttpServer.HELLO.length);
                } else {
                    MemorySegment hello = server.hello;
                    int n = (int) hello.byteSize();
                    ensureOut(n);
                    MemorySegment.copy(hello, 0, out, outEnd, n);
                    outEnd += n;
                }
            }
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
        releaseInputIfEmpty();
    }

    private void put(byte[] b) {
        MemorySegment.copy(b, 0, out, ValueLayout.JAVA_BYTE, outEnd, b.length);
        outEnd += b.length;
    }

    private void ensureOut(int need) {
        if (out == null) {
            out = server.borrowOutput(need);
            outStart = outEnd = 0;
            return;
        }
        if (outEnd + need <= out.byteSize()) return;
        if (outStart > 0) {
            MemorySegment.copy(out, outStart, out, 0, outEnd - outStart);
            outEnd -= outStart;
            outStart = 0;
        }
        if (outEnd + need > out.byteSize()) {
            MemorySegment bigger = server.borrowOutput(Math.max(out.byteSize() * 2, outEnd + need));
            MemorySegment.copy(out, 0, bigger, 0, outEnd);
            server.releaseOutput(out);
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
        if (out != null) {
            server.releaseOutput(out);                   // everything went out: hold no buffer while idle
            out = null;
        }
        // READ is level-triggered: keep it only while we would read, or input we cannot take spins the loop
        // (a full buffer behind a /sleep answer, pipelined bytes after "Connection: close").
        int want = canRead() ? Selector.OP_READ : 0;
        if (key.interest() != want) key.interest(want);
        return true;
    }

    /**
     * Drain: a kept-alive connection idle between requests, with nothing in its receive buffer, closes now. A busy
     * one goes on reading, so that a request half received is answered; that answer says Connection: close
     * ({@link #parse}, {@link #wakeUp}), and the connection closes once it owes nothing ({@link #done}). A connection
     * that has not sent its first request yet is left to send it (a client that has just connected is about to) or
     * to the header timeout: closing it could reset a request already on its way.
     */
    void drain() {
        if (phase == IDLE && done() && !hasInput()) closeQuietly();
    }

    void closeQuietly() {
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
        timeout.cancel();
        if (key != null && key.isValid()) key.cancelForClose();
        try {
            socket.close();
        } finally {
            if (in != null) server.releaseInput(in);
            if (out != null) server.releaseOutput(out);
            in = null;
            out = null;
            server.closed(this);
        }
    }
}
