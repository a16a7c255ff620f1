// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the binding generator's C probe for the running arch and checks every constant, struct size and field
 * offset it reports against the generated Java classes. A header change, a hand edit of the generated code or a
 * generator bug makes this fail.
 */
class AbiCaptureTest {
    private static final String PKG = "dev.knot.bindings.linux.";
    private static List<String[]> facts;
    private static final Map<String, String> classOfConst = new HashMap<>();

    @BeforeAll
    static void capture() throws Exception {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> throw new IllegalStateException("no Linux ABI for " + System.getProperty("os.arch"));
        };
        Path out = Files.createTempFile("knot-abi", ".abi");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "bindings/generator/dev/knot/bindgen/BindGen.java", "capture",
                "bindings/spec/linux.spec", arch, out.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe timed out");
        assertEquals(0, p.exitValue(), "the C probe failed:\n" + log);
        facts = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            facts.add(line.trim().split("\\s+"));
        }
        Files.delete(out);
        mapConstantsToClasses();
    }

    private static void mapConstantsToClasses() throws IOException {
        String cls = null;
        for (String raw : Files.readAllLines(Path.of("bindings/spec/linux.spec"))) {
            String[] w = raw.replaceAll("#.*", "").trim().split("\\s+");
            if (w[0].equals("header")) cls = w[1];
            else if (w[0].equals("const") || w[0].equals("errno")) for (int i = 1; i < w.length; i++) classOfConst.put(w[i], cls);
            else if (w[0].equals("expr")) classOfConst.put(w[1], cls);
        }
    }

    private static long value(String[] f, String key) {
        for (int i = 2; i + 1 < f.length; i++) if (f[i].equals(key)) return Long.parseLong(f[i + 1]);
        throw new AssertionError("no " + key + " in " + String.join(" ", f));
    }

    private static Object staticField(String cls, String name) throws Exception {
        Field fld = Class.forName(PKG + cls).getField(name);
        return fld.get(null);
    }

    @Test
    void everyConstantMatchesTheProbe() throws Exception {
        int checked = 0;
        for (String[] f : facts) {
            if (!f[0].equals("const") && !f[0].equals("errno")) continue;
            String name = f[1];
            String cls = classOfConst.get(name);
            assertNotNull(cls, "constant " + name + " is in no header block of the spec");
            Object v = staticField(cls, name);
            long expected = value(f, "value");
            long size = value(f, "size");
            if (size <= 4) {
                assertEquals((int) expected, ((Number) v).intValue(), cls + "." + name);
                assertTrue(v instanceof Integer, cls + "." + name + " should be an int");
            } else {
                assertEquals(expected, ((Number) v).longValue(), cls + "." + name);
            }
            checked++;
        }
        assertTrue(checked > 300, "only " + checked + " constants checked");
    }

    @Test
    void everyStructSizeAlignmentAndFieldOffsetMatchesTheProbe() throws Exception {
        int fields = 0;
        for (String[] f : facts) {
            switch (f[0]) {
                case "struct" -> {
                    StructLayout layout = (StructLayout) staticField(f[1], "LAYOUT");
                    assertEquals(value(f, "size"), layout.byteSize(), "sizeof(" + f[1] + ")");
                    assertEquals(value(f, "size"), ((Number) staticField(f[1], "SIZEOF")).longValue(), f[1] + ".SIZEOF");
                    assertEquals(value(f, "align"), layout.byteAlignment(), "_Alignof(" + f[1] + ")");
                }
                case "field" -> {
                    String st = f[1], name = f[2];
                    long offset = Long.parseLong(f[4]);
                    long size = Long.parseLong(f[6]);
                    assertEquals(offset, ((Number) staticField(st, name + "$OFFSET")).longValue(), st + "." + name + " offset");
                    StructLayout layout = (StructLayout) staticField(st, "LAYOUT");
                    assertEquals(offset, layout.byteOffset(MemoryLayout.PathElement.groupElement(name)), st + "." + name + " offset in LAYOUT");
                    assertEquals(size, layout.select(MemoryLayout.PathElement.groupElement(name)).byteSize(), st + "." + name + " size");
                    fields++;
                }
                case "opaque" -> {
                    assertEquals(value(f, "size"), ((Number) staticField(f[1], "SIZEOF")).longValue(), "sizeof(" + f[1] + ")");
                    assertEquals(value(f, "align"), ((Number) staticField(f[1], "ALIGNOF")).longValue(), "_Alignof(" + f[1] + ")");
                }
                default -> { }
            }
        }
        assertTrue(fields > 60, "only " + fields + " fields checked");
    }

    @Test
    void everyCheckedPrototypeHasAHandle() throws Exception {
        int n = 0;
        Map<String, Class<?>> owners = new HashMap<>();
        for (String cls : new java.util.TreeSet<>(classOfConst.values())) owners.put(cls, Class.forName(PKG + cls));
        String cls = null;
        for (String raw : Files.readAllLines(Path.of("bindings/spec/linux.spec"))) {
            String[] w = raw.replaceAll("#.*", "").trim().split("\\s+");
            if (w[0].equals("header")) cls = w[1];
            if (!w[0].equals("func")) continue;
            String name = raw.replaceAll(".*?\\b(\\w+)\\s*\\(.*", "$1").trim();
            boolean probed = facts.stream().anyMatch(f -> f[0].equals("func") && f[1].equals(name) && f[2].equals("checked"));
            assertTrue(probed, "the probe did not check the prototype of " + name);
            try {
                Class.forName(PKG + cls).getMethod(name + "$handle");
            } catch (NoSuchMethodException e) {
                fail(cls + " has no handle for " + name);
            }
            n++;
        }
        assertTrue(n > 50, "only " + n + " functions");
    }
}
