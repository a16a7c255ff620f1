// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;


/** One parsed ABI file: "kind name key value key value ..." lines. */
final class Abi {
    final Map<String, String> header = new LinkedHashMap<>();
    final Map<String, Map<String, Long>> entries = new LinkedHashMap<>();

    static Abi parse(Path p) throws IOException {
        if (!Files.exists(p)) throw new Failure("missing ABI file " + p + " (run scripts/bindings capture)");
        Abi abi = new Abi();
        for (String raw : Files.readAllLines(p)) {
            String line = raw.replaceAll("#.*", "").strip();
            if (line.isEmpty()) continue;
            String[] w = line.split("\\s+");
            switch (w[0]) {
                case "os", "arch", "source", "libc" -> abi.header.put(w[0], line.substring(w[0].length()).strip());
                case "field" -> abi.entries.put("field " + w[1] + " " + w[2], kv(w, 3, p));
                default -> abi.entries.put(w[0] + " " + w[1], kv(w, 2, p));
            }
        }
        return abi;
    }

    static Map<String, Long> kv(String[] w, int from, Path p) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = from; i + 1 < w.length; i += 2) {
            try {
                m.put(w[i], Long.parseLong(w[i + 1]));
            } catch (NumberFormatException e) {
                if (!w[i + 1].equals("checked") && !w[i].equals("checked")) throw new Failure(p + ": bad value in " + String.join(" ", w));
            }
        }
        if ((w.length - from) % 2 == 1) m.put(w[w.length - 1], 1L); // e.g. "func name checked"
        return m;
    }

    long get(String entry, String key, String file) {
        Map<String, Long> m = entries.get(entry);
        if (m == null || !m.containsKey(key)) throw new Failure(file + ": no '" + key + "' for " + entry);
        return m.get(key);
    }

    boolean has(String entry) { return entries.containsKey(entry); }
}
