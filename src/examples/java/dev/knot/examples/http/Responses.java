// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** Pre-rendered response heads: each is completed by the Date value, the Content-Length and the end of the head. */
final class Responses {
    private Responses() {}

    /** A status line and fixed headers, ending with {@code "Date: "}. */
    record Head(byte[] prefix) {
        static Head of(String statusLine, String contentType) {
            String p = statusLine + "\r\nServer: knot\r\n" + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n") + "Date: ";
            return new Head(p.getBytes(StandardCharsets.US_ASCII));
        }
    }

    static final Head OK_TEXT = Head.of("HTTP/1.1 200 OK", "text/plain");
    static final Head OK_OCTETS = Head.of("HTTP/1.1 200 OK", "application/octet-stream");
    static final Head NOT_FOUND = Head.of("HTTP/1.1 404 Not Found", null);
    static final Head BAD_REQUEST = Head.of("HTTP/1.1 400 Bad Request", null);
    static final Head PAYLOAD_TOO_LARGE = Head.of("HTTP/1.1 413 Content Too Large", null);
    static final Head HEADERS_TOO_LARGE = Head.of("HTTP/1.1 431 Request Header Fields Too Large", null);
    static final Head NOT_IMPLEMENTED = Head.of("HTTP/1.1 501 Not Implemented", null);

    static final byte[] CONTENT_LENGTH = "\r\nContent-Length: ".getBytes(StandardCharsets.US_ASCII);
    static final byte[] END = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CLOSE_END = "\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** Writes {@code v} in decimal at {@code off}; returns the digits written. */
    static int putDecimal(MemorySegment out, long off, int v) {
        int digits = v < 10 ? 1 : (int) Math.log10(v) + 1;
        for (int i = digits - 1; i >= 0; i--) {
            out.set(ValueLayout.JAVA_BYTE, off + i, (byte) ('0' + v % 10));
            v /= 10;
        }
        return digits;
    }
}
