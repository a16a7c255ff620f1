// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

/*
 * knot-bindgen: Knot's binding generator, a small stand-in for jextract (which no registry we can
 * reach carries). Two stages, see bindings/README.md:
 *
 *   capture  compile a probe against the real headers with the arch's C compiler (`cc -S`, so cross
 *            compilers work without running anything) and write what the compiler knows as an ABI
 *            file: constant values, struct sizes/alignments/offsets, type sizes, checked prototypes.
 *   emit     turn a spec and the ABI files of all its arches into jextract-shaped Java sources.
 *
 * Run with a JDK 22+ as a source program: java bindings/generator/dev/knot/bindgen/BindGen.java <command> ...
 * The parts: Spec (the spec parser), Probe (capture), Abi (the ABI file parser), Emitter (emit).
 */

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


public final class BindGen {
    static final String VERSION = "2";
    static final String ABI_FORMAT = "1";

    public static void main(String[] args) throws Exception {
        if (args.length == 0) usage();
        try {
            switch (args[0]) {
                case "capture" -> {
                    need(args, 4);
                    Spec spec = Spec.parse(Path.of(args[1]));
                    String abi = Probe.capture(spec, spec.arch(args[2]));
                    write(Path.of(args[3]), abi);
                }
                case "probe" -> {
                    need(args, 3);
                    Spec spec = Spec.parse(Path.of(args[1]));
                    System.out.print(Probe.probeSource(spec, spec.arch(args[2])));
                }
                case "emit" -> {
                    need(args, 4);
                    Spec spec = Spec.parse(Path.of(args[1]));
                    Path abiDir = Path.of(args[2]);
                    Map<String, Abi> abis = new LinkedHashMap<>();
                    for (Arch a : spec.arches) {
                        abis.put(a.name, Abi.parse(abiDir.resolve(spec.os + "-" + a.name + ".abi")));
                    }
                    Emitter e = new Emitter(spec, abis);
                    for (Map.Entry<String, String> f : e.emitAll().entrySet()) {
                        write(Path.of(args[3]).resolve(f.getKey()), f.getValue());
                    }
                }
                case "provenance" -> {
                    // provenance <out> <file>...: generator version and the sha-256 of every input.
                    need(args, 3);
                    StringBuilder sb = new StringBuilder();
                    sb.append("# Provenance of the generated bindings (no timestamps, no absolute paths).\n");
                    sb.append("generator knot-bindgen ").append(VERSION).append('\n');
                    sb.append("generator-sha256 ").append(generatorSha256()).append('\n');
                    for (int i = 2; i < args.length; i++) {
                        Path p = Path.of(args[i]);
                        sb.append("input ").append(p.toString().replace('\\', '/')).append(" sha256 ")
                          .append(sha256(p)).append('\n');
                        if (p.toString().endsWith(".abi")) {
                            Abi abi = Abi.parse(p);
                            sb.append("  source ").append(abi.header.getOrDefault("source", "?")).append('\n');
                            if (abi.header.containsKey("libc")) sb.append("  libc ").append(abi.header.get("libc")).append('\n');
                        }
                    }
                    write(Path.of(args[1]), sb.toString());
                }
                default -> usage();
            }
        } catch (Failure f) {
            System.err.println("knot-bindgen: " + f.getMessage());
            System.exit(2);
        }
    }

    static void usage() {
        System.err.println("""
            usage: java BindGen.java capture <spec> <arch> <out.abi>   capture an ABI file with the arch's C compiler
                   java BindGen.java probe <spec> <arch>               print the probe C source
                   java BindGen.java emit <spec> <abi-dir> <java-dir>  emit Java sources from the spec and ABI files
                   java BindGen.java provenance <out> <inputs...>      write the provenance file""");
        System.exit(64);
    }

    static void need(String[] args, int n) { if (args.length < n) usage(); }


    static void write(Path p, String s) throws IOException {
        if (p.getParent() != null) Files.createDirectories(p.getParent());
        Files.writeString(p, s, StandardCharsets.UTF_8);
    }

    /** One hash over the generator's sources: each file's path under bindings/generator and content, in path order. */
    static String generatorSha256() throws Exception {
        Path root = Path.of("bindings/generator");
        List<Path> files;
        try (var walk = Files.walk(root)) {
            files = walk.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (Path f : files) {
            md.update(root.relativize(f).toString().replace('\\', '/').getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(Files.readAllBytes(f));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }
}
