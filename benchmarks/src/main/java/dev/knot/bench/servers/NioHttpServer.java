// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The NIO baseline for HTTP plaintext: one thread, one {@link Selector}, byte-identical responses to Knot's HTTP
 * example ({@code HTTP/1.1 200 OK}, {@code Server: knot}, {@code Content-Type: text/plain}, {@code Date},
 * {@code Content-Length: 13}, {@code Hello, World!}) with the Date refreshed once a second.
 *
 * <p>Per readiness: one read into a direct buffer; every complete request in it is parsed (request line and header
 * fields checked as strictly as Knot's parser does: token method, CRLF line ends, Content-Length and Connection
 * honoured) and answered into one output buffer, written with one write. {@code /} and {@code /plaintext} answer
 * Hello, anything else 404; a malformed head gets 400 and the connection closes. TCP_NODELAY on, as Knot's
 * example sets it.
 *
 * <p>Usage: {@code NioHttpServer PORT}
 */
public final class NioHttpServer {
    private NioHttpServer() {}

    private static final int IN = 12 * 1024, OUT = 16 * 1024;
    private static byte[] hello, notFound, badRequest, helloClose, notFoundClose;
    private static int helloDate, notFoundDate, badRequestDate, helloCloseDate, notFoundCloseDate;
    private static long second = -1;

    private static byte[] template(String status, String type, String body, boolean close) {
        String s = "HTTP/1.1 " + status + "\r\nServer: knot\r\n" + (type == null ? "" : "Content-Type: " + type + "\r\n")
                + "Date: " + "X".repeat(29) + "\r\nContent-Length: " + body.length() + "\r\n"
                + (close ? "Connection: close\r\n" : "") + "\r\n" + body;   // the order Knot's example uses
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static int dateOffset(byte[] t) {
        String s = new String(t, StandardCharsets.US_ASCII);
        return s.indexOf("Date: ") + 6;
    }

    private static void refreshDate() {
        long s = System.currentTimeMillis() / 1000;
        if (s == second) return;
        second = s;
        byte[] d = HttpDate.now();
        System.arraycopy(d, 0, hello, helloDate, 29);
        System.arraycopy(d, 0, notFound, notFoundDate, 29);
        System.arraycopy(d, 0, badRequest, badRequestDate, 29);
        System.arraycopy(d, 0, helloClose, helloCloseDate, 29);
        System.arraycopy(d, 0, notFoundClose, notFoundCloseDate, 29);
    }

    static final class Conn {
        final ByteBuffer in = ByteBuffer.allocateDirect(IN);
        ByteBuffer out = ByteBuffer.allocateDirect(OUT);
        boolean close;
        // Filled by parse().
        boolean keepAlive;
        int route;
        long contentLength;

        void append(byte[] response) {
            if (out.remaining() < response.length) {
                ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(out.capacity() * 2, out.position() + response.length));
                out.flip();
                bigger.put(out);
                out = bigger;
            }
            out.put(response);
        }
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        hello = template("200 OK", "text/plain", "Hello, World!", false);
        notFound = template("404 Not Found", null, "", false);
        badRequest = template("400 Bad Request", null, "", true);
        helloClose = template("200 OK", "text/plain", "Hello, World!", true);
        notFoundClose = template("404 Not Found", null, "", true);
        helloDate = dateOffset(hello);
        notFoundDate = dateOffset(notFound);
        badRequestDate = dateOffset(badRequest);
        helloCloseDate = dateOffset(helloClose);
        notFoundCloseDate = dateOffset(notFoundClose);
        refreshDate();
        NioServe.run("nio http server", port, 1000, NioHttpServer::refreshDate, Conn::new, NioHttpServer::serve);
    }

    private static void serve(SelectionKey k) throws IOException {
        SocketChannel ch = (SocketChannel) k.channel();
        Conn c = (Conn) k.attachment();
        if (k.isReadable() && !c.close) {
            if (!c.in.hasRemaining()) {
                // A head that does not fit is refused.
                c.append(badRequest);
                c.close = true;
            } else {
                int n = ch.read(c.in);
                if (n < 0) c.close = true;
                else if (n > 0) parseAll(c);
            }
        }
        ByteBuffer out = c.out;
        if (out.position() > 0) {
            out.flip();
            ch.write(out);
            if (out.hasRemaining()) {
                out.compact();
                k.interestOps(SelectionKey.OP_WRITE);
                return;
            }
            out.clear();
        }
        if (c.close) {
            k.cancel();
            ch.close();
        } else if (k.interestOps() != SelectionKey.OP_READ) {
            k.interestOps(SelectionKey.OP_READ);
        }
    }

    /** Answers every complete request in the input buffer, then compacts it. */
    private static void parseAll(Conn c) {
        ByteBuffer in = c.in;
        int end = in.position();
        int start = 0;                               // a partial request is always compacted to the front
        while (!c.close && start < end) {
            int headEnd = headEnd(in, start, end);
            if (headEnd < 0) break;
            if (!parse(c, in, start, headEnd)) {
                c.append(badRequest);
                c.close = true;
                break;
            }
            long reqEnd = headEnd + c.contentLength;
            if (reqEnd > end) break;                     // the body is still arriving
            if (!c.keepAlive) c.close = true;
            c.append(c.route == 1 ? (c.close ? helloClose : hello) : (c.close ? notFoundClose : notFound));
            start = (int) reqEnd;
        }
        // Compact what is left (a partial request) to the front.
        if (start > 0) {
            in.flip();
            in.position(start);
            in.compact();
        }
    }

    private static int headEnd(ByteBuffer b, int from, int to) {
        for (int i = from + 3; i < to; i++) {
            if (b.get(i) == '\n' && b.get(i - 1) == '\r' && b.get(i - 2) == '\n' && b.get(i - 3) == '\r') return i + 1;
        }
        return -1;
    }

    private static final byte[] HTTP11 = bytes("HTTP/1.1"), HTTP10 = bytes("HTTP/1.0");
    private static final byte[] CONTENT_LENGTH = bytes("content-length"), TRANSFER_ENCODING = bytes("transfer-encoding"),
            CONNECTION = bytes("connection"), CLOSE = bytes("close");
    private static final byte[] ROOT = bytes("/"), PLAINTEXT = bytes("/plaintext");

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Parses the head in [start, end); false if malformed. Sets route, keepAlive, contentLength. */
    private static boolean parse(Conn c, ByteBuffer b, int start, int end) {
        c.contentLength = 0;
        int i = start;
        int m = i;
        while (i < end && tchar(b.get(i))) i++;
        if (i == m || b.get(i) != ' ') return false;
        i++;
        int t = i;
        while (i < end && b.get(i) > ' ' && b.get(i) != 0x7f) i++;
        if (i == t || b.get(i) != ' ') return false;
        int pathEnd = t;
        while (pathEnd < i && b.get(pathEnd) != '?') pathEnd++;
        c.route = eq(b, t, pathEnd, PLAINTEXT, false) || eq(b, t, pathEnd, ROOT, false) ? 1 : 2;
        i++;
        if (i + 10 > end) return false;
        if (eq(b, i, i + 8, HTTP11, false)) c.keepAlive = true;
        else if (eq(b, i, i + 8, HTTP10, false)) c.keepAlive = false;
        else return false;
        i += 8;
        if (b.get(i) != '\r' || b.get(i + 1) != '\n') return false;
        i += 2;
        while (true) {
            if (i + 1 >= end) return false;
            if (b.get(i) == '\r') return b.get(i + 1) == '\n';
            int n = i;
            while (i < end && tchar(b.get(i))) i++;
            if (i == n || i >= end || b.get(i) != ':') return false;
            int nameEnd = i++;
            while (i < end && (b.get(i) == ' ' || b.get(i) == '\t')) i++;
            int v = i;
            while (i < end && b.get(i) != '\r') {
                byte x = b.get(i);
                if ((x < ' ' && x != '\t') || x == 0x7f) return false;
                i++;
            }
            if (i + 1 >= end || b.get(i + 1) != '\n') return false;
            int valueEnd = i;
            i += 2;
            if (eq(b, n, nameEnd, CONTENT_LENGTH, true)) {
                long len = 0;
                if (v == valueEnd) return false;
                for (int p = v; p < valueEnd; p++) {
                    byte d = b.get(p);
                    if (d < '0' || d > '9' || len > 1 << 20) return false;
                    len = len * 10 + (d - '0');
                }
                c.contentLength = len;
            } else if (eq(b, n, nameEnd, TRANSFER_ENCODING, true)) {
                return false;
            } else if (eq(b, n, nameEnd, CONNECTION, true)) {
                if (eq(b, v, valueEnd, CLOSE, true)) c.keepAlive = false;
            }
        }
    }

    private static boolean eq(ByteBuffer b, int from, int to, byte[] want, boolean ignoreCase) {
        if (to - from != want.length) return false;
        for (int k = 0; k < want.length; k++) {
            byte x = b.get(from + k);
            if (ignoreCase && x >= 'A' && x <= 'Z') x += 32;
            if (x != want[k]) return false;
        }
        return true;
    }

    private static boolean tchar(byte x) {
        return (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9')
                || x == '!' || x == '#' || x == '$' || x == '%' || x == '&' || x == '\'' || x == '*' || x == '+'
                || x == '-' || x == '.' || x == '^' || x == '_' || x == '`' || x == '|' || x == '~';
    }
}
