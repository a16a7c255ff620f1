// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

/**
 * The parts of a request head the server needs, parsed from the connection's input bytes (RFC 9112 syntax,
 * strictly: CRLF line ends, token methods and header names, no whitespace before the colon). One instance per
 * connection, reused for every request, so parsing allocates nothing.
 */
final class Request {
    static final int ROUTE_HELLO = 1, ROUTE_ECHO = 2, ROUTE_OTHER = 3, ROUTE_SLEEP = 4;

    /** 0 when the head is well-formed; else the status to answer (400, or 501 for a transfer coding). */
    int status;
    int route;
    boolean head;
    boolean keepAlive;
    long contentLength;
    /** For /sleep?ms=N: N (capped at a minute). */
    long sleepMillis;

    private static final byte[] HTTP11 = bytes("HTTP/1.1"), HTTP10 = bytes("HTTP/1.0");
    private static final byte[] CONTENT_LENGTH = bytes("content-length"), TRANSFER_ENCODING = bytes("transfer-encoding"),
            CONNECTION = bytes("connection"), HOST = bytes("host"), CLOSE = bytes("close"), KEEP_ALIVE = bytes("keep-alive");
    private static final byte[] PATH_ROOT = bytes("/"), PATH_PLAINTEXT = bytes("/plaintext"), PATH_ECHO = bytes("/echo"),
            PATH_SLEEP = bytes("/sleep"), QUERY_MS = bytes("ms=");
    private static final byte[] METHOD_HEAD = bytes("HEAD");

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private byte[] b;

    private byte at(int i) {
        return b[i];
    }

    /** Parses the head in {@code [start, end)} of {@code bytes}, which ends with CRLF CRLF. */
    Request parse(byte[] bytes, int start, int end) {
        b = bytes;
        status = 0;
        contentLength = 0;
        boolean sawLength = false;
        int hosts = 0;
        boolean http11;
        int i = start;
        // method SP
        int m = i;
        while (i < end && isTchar(at(i))) i++;
        if (i == m || i - m > 16 || at(i) != ' ') return bad();
        head = equals(m, i, METHOD_HEAD, false);
        i++;
        // request-target SP
        int t = i;
        while (i < end && at(i) > ' ' && at(i) != 0x7f) i++;
        if (i == t || at(i) != ' ') return bad();
        int pathEnd = t;
        while (pathEnd < i && at(pathEnd) != '?') pathEnd++;
        route = equals(t, pathEnd, PATH_ROOT, false) || equals(t, pathEnd, PATH_PLAINTEXT, false) ? ROUTE_HELLO
                : equals(t, pathEnd, PATH_ECHO, false) ? ROUTE_ECHO : equals(t, pathEnd, PATH_SLEEP, false) ? ROUTE_SLEEP : ROUTE_OTHER;
        sleepMillis = 0;
        if (route == ROUTE_SLEEP && pathEnd + 1 + QUERY_MS.length <= i && equals(pathEnd + 1, pathEnd + 1 + QUERY_MS.length, QUERY_MS, false)) {
            long ms = parseLength(pathEnd + 1 + QUERY_MS.length, i);
            sleepMillis = ms < 0 ? 0 : Math.min(ms, 60_000);
        }
        i++;
        // HTTP-version CRLF
        if (i + 10 > end) return bad();
        if (equals(i, i + 8, HTTP11, false)) keepAlive = http11 = true;
        else if (equals(i, i + 8, HTTP10, false)) keepAlive = http11 = false;
        else return bad();
        i += 8;
        if (at(i) != '\r' || at(i + 1) != '\n') return bad();
        i += 2;
        // header fields, up to the empty line
        while (true) {
            if (i + 1 >= end) return bad();
            if (at(i) == '\r') {
                if (at(i + 1) != '\n') return bad();
                // RFC 9112 3.2: an HTTP/1.1 request needs exactly one Host (HTTP/1.0 may have none, never two).
                if (hosts > 1 || (http11 && hosts == 0)) return bad();
                break;
            }
            int n = i;
            while (i < end && isTchar(at(i))) i++;
            if (i == n || i >= end || at(i) != ':') return bad();
            int nameEnd = i++;
            while (i < end && (at(i) == ' ' || at(i) == '\t')) i++;
            int v = i;
            while (i < end && at(i) != '\r') {
                int c = at(i) & 0xff;                // unsigned: obs-text (0x80-0xff) is allowed in values
                if ((c < ' ' && c != '\t') || c == 0x7f) return bad();
                i++;
            }
            if (i + 1 >= end || at(i + 1) != '\n') return bad();
            int valueEnd = i;
            while (valueEnd > v && (at(valueEnd - 1) == ' ' || at(valueEnd - 1) == '\t')) valueEnd--;
            i += 2;
            if (equals(n, nameEnd, CONTENT_LENGTH, true)) {
                long len = parseLength(v, valueEnd);
                if (len < 0 || (sawLength && len != contentLength)) return bad();
                contentLength = len;
                sawLength = true;
            } else if (equals(n, nameEnd, TRANSFER_ENCODING, true)) {
                status = 501;
                return this;
            } else if (equals(n, nameEnd, HOST, true)) {
                hosts++;
            } else if (equals(n, nameEnd, CONNECTION, true)) {
                if (containsToken(v, valueEnd, CLOSE)) keepAlive = false;
                else if (containsToken(v, valueEnd, KEEP_ALIVE)) keepAlive = true;
            }
        }
        return this;
    }

    private Request bad() {
        status = 400;
        return this;
    }

    /** Digits only; -1 if malformed; saturates at Long.MAX_VALUE (then refused as too large). */
    private long parseLength(int from, int to) {
        if (from == to) return -1;
        long v = 0;
        for (int i = from; i < to; i++) {
            byte c = at(i);
            if (c < '0' || c > '9') return -1;
            v = v > (Long.MAX_VALUE - 9) / 10 ? Long.MAX_VALUE : v * 10 + (c - '0');
        }
        return v;
    }

    private boolean equals(int from, int to, byte[] want, boolean ignoreCase) {
        if (to - from != want.length) return false;
        for (int k = 0; k < want.length; k++) {
            byte c = at(from + k);
            if (ignoreCase && c >= 'A' && c <= 'Z') c += 32;
            if (c != want[k]) return false;
        }
        return true;
    }

    /** A comma-separated list contains the token (case-insensitive). */
    private boolean containsToken(int from, int to, byte[] token) {
        int i = from;
        while (i < to) {
            while (i < to && (at(i) == ' ' || at(i) == '\t' || at(i) == ',')) i++;
            int e = i;
            while (e < to && at(e) != ',' && at(e) != ' ' && at(e) != '\t') e++;
            if (e > i && equals(i, e, token, true)) return true;
            i = e;
        }
        return false;
    }

    private static boolean isTchar(byte c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+'
                || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
    }
}
