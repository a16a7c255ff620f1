// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The HTTP request-head parser on arbitrary bytes: it must answer a status (0, 400 or 501) and never throw, and a head
 * it accepts has a sane length and route. {@code @FuzzTest} runs under Jazzer ({@code scripts/fuzz} fuzzes it;
 * {@code mvn verify} runs its seeds in regression mode); the seeded {@code @Test} runs the same property on random
 * mutations of valid heads in every build.
 */
class RequestFuzzTest {
    static void check(byte[] head) {
        byte[] b = new byte[head.length + 4];
        System.arraycopy(head, 0, b, 0, head.length);
        b[head.length] = '\r';
        b[head.length + 1] = '\n';
        b[head.length + 2] = '\r';
        b[head.length + 3] = '\n';
        Request r = new Request().parse(b, 0, b.length);
        assertTrue(r.status == 0 || r.status == 400 || r.status == 501, "status " + r.status);
        if (r.status == 0) {
            assertTrue(r.contentLength >= 0, "negative Content-Length");
            assertTrue(r.route >= Request.ROUTE_HELLO && r.route <= Request.ROUTE_SLEEP, "route " + r.route);
            assertTrue(r.sleepMillis >= 0 && r.sleepMillis <= 60_000, "sleep " + r.sleepMillis);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void fuzz(byte[] data) {
        check(data);
    }

    static final String[] SEEDS = {
        "GET / HTTP/1.1\r\nHost: x", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5", "GET /sleep?ms=10 HTTP/1.0",
        "HEAD /plaintext HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked",
        "GET / HTTP/1.1\r\nHost: x\r\nX: caf\u00e9",
    };

    @Test
    void randomMutationsOfValidHeadsNeverThrow() {
        Random rnd = new Random(13);
        for (int i = 0; i < 20_000; i++) {
            byte[] seed = SEEDS[rnd.nextInt(SEEDS.length)].getBytes(StandardCharsets.ISO_8859_1);
            byte[] b = java.util.Arrays.copyOf(seed, seed.length + rnd.nextInt(8));
            for (int m = rnd.nextInt(6); m >= 0; m--) {
                int at = rnd.nextInt(b.length);
                switch (rnd.nextInt(4)) {
                    case 0 -> b[at] = (byte) rnd.nextInt(256);
                    case 1 -> b[at] = (byte) "\r\n :\t,0123456789".charAt(rnd.nextInt(16));
                    case 2 -> b = java.util.Arrays.copyOf(b, at);
                    default -> b[at] = (byte) (b[at] ^ 0x20);
                }
                if (b.length == 0) break;
            }
            check(b);
        }
    }
}
