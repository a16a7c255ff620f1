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


/**
 * The capture stage: a C probe compiled with the arch's compiler ({@code cc -S}) against the real headers, and
 * the ABI file written from what the compiler reports.
 */
final class Probe {
    private Probe() {}

    static final String MARK = "@knot@";

    static boolean isPointer(Spec spec, String cType) {
        return cType.contains("*") || spec.pointerTypes.contains(cType.replace("const ", "").strip());
    }

    /** Scalar C types used by prototypes, whose size the probe records (pointers are always ADDRESS). */
    static List<String> scalarTypes(Spec spec) {
        Set<String> types = new LinkedHashSet<>();
        for (HeaderClass c : spec.classes) {
            for (Func f : c.funcs) {
                if (!f.ret.equals("void") && !isPointer(spec, f.ret)) types.add(f.ret);
                for (Param p : f.params) if (!isPointer(spec, p.cType)) types.add(p.cType);
            }
        }
        return new ArrayList<>(types);
    }

    static String probeSource(Spec spec, Arch arch) {
        StringBuilder c = new StringBuilder();
        c.append("/* knot-bindgen ").append(BindGen.VERSION).append(" probe for ").append(spec.os).append('/').append(arch.name)
         .append(". Compiled with -S only: every fact is an immediate operand in the assembly. */\n");
        for (String d : spec.defines) {
            String[] kv = d.split("=", 2);
            c.append("#define ").append(kv[0]).append(kv.length > 1 ? " " + kv[1] : "").append('\n');
        }
        c.append("#include <stddef.h>\n");
        for (String inc : spec.includes()) c.append("#include <").append(inc).append(">\n");
        c.append("""
            #define KNOT_FACT(tag, val) __asm__ volatile ("\\n@knot@ " tag " %0\\n" : : "i" ((long long) (val)))
            #define KNOT_SIGNED(e) ((__typeof__(e)) -1 < (__typeof__(e)) 0)
            #define KNOT_CHECK(name, type) _Static_assert(__builtin_types_compatible_p(__typeof__(name), type), \\
                "knot: the prototype of " #name " in the headers differs from the spec: " #type)
            """);
        for (HeaderClass hc : spec.classes) {
            for (Func f : hc.funcs) c.append("KNOT_CHECK(").append(f.name).append(", ").append(f.cFunctionType()).append(");\n");
        }
        c.append("void knot_probe(void) {\n");
        c.append("#ifdef __GLIBC__\n  KNOT_FACT(\"libc glibc major\", __GLIBC__);\n  KNOT_FACT(\"libc glibc minor\", __GLIBC_MINOR__);\n#endif\n");
        for (String t : scalarTypes(spec)) {
            c.append("  KNOT_FACT(\"type ").append(t).append(" size\", sizeof(").append(t).append("));\n");
            c.append("  KNOT_FACT(\"type ").append(t).append(" signed\", KNOT_SIGNED((").append(t).append(") 0));\n");
        }
        for (String t : spec.pointerTypes) {
            c.append("  KNOT_FACT(\"type ").append(t).append(" size\", sizeof(").append(t).append("));\n");
        }
        for (HeaderClass hc : spec.classes) {
            for (String k : hc.consts) constFacts(c, "const", k, k);
            for (Map.Entry<String, String> e : hc.exprs.entrySet()) constFacts(c, "const", e.getKey(), e.getValue());
            for (String k : hc.errnos) constFacts(c, "errno", k, k);
            for (String o : hc.opaques) {
                c.append("  KNOT_FACT(\"opaque ").append(o).append(" size\", sizeof(").append(o).append("));\n");
                c.append("  KNOT_FACT(\"opaque ").append(o).append(" align\", _Alignof(").append(o).append("));\n");
            }
            for (Struct st : hc.structs) {
                String t = st.cType();
                c.append("  KNOT_FACT(\"struct ").append(st.name).append(" size\", sizeof(").append(t).append("));\n");
                c.append("  KNOT_FACT(\"struct ").append(st.name).append(" align\", _Alignof(").append(t).append("));\n");
                for (Field f : st.fields) {
                    String tag = "field " + st.name + " " + f.name;
                    String member = "((" + t + " *) 0)->" + f.name;
                    c.append("  KNOT_FACT(\"").append(tag).append(" offset\", offsetof(").append(t).append(", ").append(f.name).append("));\n");
                    c.append("  KNOT_FACT(\"").append(tag).append(" size\", sizeof(").append(member).append("));\n");
                    if (f.hint.isEmpty()) {
                        c.append("  KNOT_FACT(\"").append(tag).append(" signed\", KNOT_SIGNED(").append(member).append("));\n");
                    }
                }
            }
        }
        c.append("}\n");
        return c.toString();
    }

    static void constFacts(StringBuilder c, String kind, String name, String expr) {
        c.append("  KNOT_FACT(\"").append(kind).append(' ').append(name).append(" value\", ").append(expr).append(");\n");
        c.append("  KNOT_FACT(\"").append(kind).append(' ').append(name).append(" size\", sizeof(").append(expr).append("));\n");
        c.append("  KNOT_FACT(\"").append(kind).append(' ').append(name).append(" signed\", KNOT_SIGNED(").append(expr).append("));\n");
    }

    static String capture(Spec spec, Arch arch) throws Exception {
        Path dir = Files.createTempDirectory("knot-bindgen");
        try {
            Path src = dir.resolve("probe.c");
            Path asm = dir.resolve("probe.s");
            Files.writeString(src, probeSource(spec, arch));
            List<String> cmd = new ArrayList<>(arch.cc);
            // The CC environment variable overrides the native compiler of the first arch only.
            if (System.getenv("CC") != null && arch == spec.arches.get(0)) cmd.set(0, System.getenv("CC"));
            cmd.addAll(List.of("-S", "-O0", "-w", "-o", asm.toString(), src.toString()));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new Failure("cannot run the C compiler for " + spec.os + "/" + arch.name + " (" + cmd.get(0) + "): " + e.getMessage());
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) { p.destroyForcibly(); throw new Failure("C compiler timed out"); }
            if (p.exitValue() != 0) {
                throw new Failure("the probe for " + spec.os + "/" + arch.name + " does not compile with " + cmd.get(0)
                        + " (a constant, struct, field or prototype of the spec differs from the headers):\n" + out);
            }
            return abiText(spec, arch, Files.readAllLines(asm));
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Turns the marker lines of the probe's assembly into the ABI file, in spec order. */
    static String abiText(Spec spec, Arch arch, List<String> asm) {
        Map<String, Long> facts = new LinkedHashMap<>();
        Pattern fact = Pattern.compile(".*" + Pattern.quote(MARK) + " (.+) (\\w+) [$#]?(-?\\d+)\\s*");
        for (String line : asm) {
            Matcher m = fact.matcher(line);
            if (m.matches()) facts.put(m.group(1) + " " + m.group(2), Long.parseLong(m.group(3)));
        }
        StringBuilder a = new StringBuilder();
        a.append("# Knot ABI description, format ").append(BindGen.ABI_FORMAT)
         .append(". Captured by bindings/generator/BindGen.java; do not edit by hand.\n");
        a.append("os ").append(spec.os).append('\n');
        a.append("arch ").append(arch.name).append('\n');
        a.append("source captured: C compiler probe (").append(arch.cc.get(0).replaceAll(".*/", "")).append(" -S) against the system headers\n");
        if (facts.containsKey("libc glibc major")) {
            a.append("libc glibc ").append(facts.get("libc glibc major")).append('.').append(facts.get("libc glibc minor")).append('\n');
        }
        for (String t : scalarTypes(spec)) {
            a.append("type ").append(t.replace(' ', '_')).append(" size ").append(get(facts, "type " + t + " size"))
             .append(" signed ").append(get(facts, "type " + t + " signed")).append('\n');
        }
        for (String t : spec.pointerTypes) {
            a.append("type ").append(t).append(" size ").append(get(facts, "type " + t + " size")).append(" pointer 1\n");
        }
        for (HeaderClass hc : spec.classes) {
            List<String> names = new ArrayList<>(hc.consts);
            names.addAll(hc.exprs.keySet());
            for (String k : names) constLine(a, facts, "const", k);
            for (String k : hc.errnos) constLine(a, facts, "errno", k);
            for (String o : hc.opaques) {
                a.append("opaque ").append(o).append(" size ").append(get(facts, "opaque " + o + " size"))
                 .append(" align ").append(get(facts, "opaque " + o + " align")).append('\n');
            }
            for (Struct st : hc.structs) {
                a.append("struct ").append(st.name).append(" size ").append(get(facts, "struct " + st.name + " size"))
                 .append(" align ").append(get(facts, "struct " + st.name + " align")).append('\n');
                for (Field f : st.fields) {
                    String tag = "field " + st.name + " " + f.name;
                    a.append(tag).append(" offset ").append(get(facts, tag + " offset"))
                     .append(" size ").append(get(facts, tag + " size"));
                    if (f.hint.isEmpty()) a.append(" signed ").append(get(facts, tag + " signed"));
                    a.append('\n');
                }
            }
            for (Func f : hc.funcs) a.append("func ").append(f.name).append(" checked\n");
        }
        return a.toString();
    }

    static void constLine(StringBuilder a, Map<String, Long> facts, String kind, String k) {
        a.append(kind).append(' ').append(k).append(" value ").append(get(facts, kind + " " + k + " value"))
         .append(" size ").append(get(facts, kind + " " + k + " size"))
         .append(" signed ").append(get(facts, kind + " " + k + " signed")).append('\n');
    }

    static long get(Map<String, Long> facts, String key) {
        Long v = facts.get(key);
        if (v == null) throw new Failure("the probe's assembly has no value for '" + key + "'");
        return v;
    }
}
