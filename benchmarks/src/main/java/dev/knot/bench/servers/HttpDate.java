// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** The Date header value, rendered exactly as Knot's HTTP example does (29 ASCII bytes, IMF-fixdate). */
final class HttpDate {
    private HttpDate() {}

    static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

    static byte[] now() {
        byte[] d = FORMAT.format(ZonedDateTime.now(ZoneOffset.UTC)).getBytes(StandardCharsets.US_ASCII);
        if (d.length != 29) throw new IllegalStateException("Date is " + d.length + " bytes");
        return d;
    }
}
