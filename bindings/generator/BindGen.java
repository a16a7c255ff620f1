/*
 * knot-bindgen: Knot's binding generator, a small stand-in for jextract (which no registry we can
 * reach carries). Two stages, see bindings/README.md:
 *
 *   capture  compile a probe against the real headers with the arch's C compiler (`cc -S`, so cross
 *            compilers work without running anything) and write what the compiler knows as an ABI
 *            file: constant values, struct sizes/alignments/offsets, type sizes, checked prototypes.
 *   emit     turn a spec and the ABI files of all its arches into jextract-shaped Java sources.
 *
 * Run with a JDK 22+ as a single-file program: java bindings/generator/BindGen.java <command> ...
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
    static final String VERSION = "1";
    static final String ABI_FORMAT = "1";

    public static void main(String[] args) throws Exception {
        if (args.length == 0) usage();
        try {
            switch (args[0]) {
                case "capture" -> {
                    need(args, 4);
                    Spec spec = Spec.parse(Path.of(args[1]));
                    String abi = capture(spec, spec.arch(args[2]));
                    write(Path.of(args[3]), abi);
                }
                case "probe" -> {
                    need(args, 3);
                    Spec spec = Spec.parse(Path.of(args[1]));
                    System.out.print(probeSource(spec, spec.arch(args[2])));
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
                    sb.append("generator-sha256 ").append(sha256(Path.of("bindings/generator/BindGen.java"))).append('\n');
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

    static final class Failure extends RuntimeException {
        Failure(String m) { super(m); }
    }

    static void write(Path p, String s) throws IOException {
        if (p.getParent() != null) Files.createDirectories(p.getParent());
        Files.writeString(p, s, StandardCharsets.UTF_8);
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    // ---------------------------------------------------------------------------------------- spec

    record Arch(String name, List<String> javaArchNames, List<String> cc) {}

    record Field(String name, String hint) {}            // hint: "", "ptr", "bytes", "u64"

    record Struct(String name, boolean typedef, List<Field> fields) {
        String cType() { return typedef ? name : "struct " + name; }
    }

    record Param(String cType, String name, boolean variadic) {}

    record Func(String ret, String name, List<Param> params, boolean errno, String line) {
        boolean variadic() { return params.stream().anyMatch(Param::variadic); }
        int firstVariadic() {
            for (int i = 0; i < params.size(); i++) if (params.get(i).variadic) return i;
            return -1;
        }
        /** The C function type used to check the header's prototype, e.g. {@code int (int, ...)}. */
        String cFunctionType() {
            StringBuilder sb = new StringBuilder(ret).append(" (");
            boolean first = true;
            for (Param p : params) {
                if (p.variadic) { sb.append(first ? "" : ", ").append("..."); break; }
                sb.append(first ? "" : ", ").append(p.cType);
                first = false;
            }
            if (params.isEmpty()) sb.append("void");
            return sb.append(')').toString();
        }
    }

    static final class HeaderClass {
        final String name;
        final List<String> includes;
        final List<String> consts = new ArrayList<>();
        final Map<String, String> exprs = new LinkedHashMap<>();
        final List<Struct> structs = new ArrayList<>();
        final List<String> opaques = new ArrayList<>();
        final List<Func> funcs = new ArrayList<>();
        final List<String> errnos = new ArrayList<>();
        HeaderClass(String name, List<String> includes) { this.name = name; this.includes = includes; }
    }

    static final class Spec {
        Path path;
        String os;
        String pkg;
        boolean transcribed;
        final List<String> defines = new ArrayList<>();
        final List<Arch> arches = new ArrayList<>();
        final List<HeaderClass> classes = new ArrayList<>();
        final Set<String> pointerTypes = new LinkedHashSet<>();

        Arch arch(String name) {
            for (Arch a : arches) if (a.name.equals(name)) return a;
            throw new Failure("spec " + path + " has no arch '" + name + "'");
        }

        List<String> includes() {
            Set<String> all = new LinkedHashSet<>();
            for (HeaderClass c : classes) all.addAll(c.includes);
            return new ArrayList<>(all);
        }

        static final Pattern FUNC = Pattern.compile("func\\s+(.+?)\\s*\\b(\\w+)\\s*\\((.*)\\)\\s*(errno)?\\s*");

        static Spec parse(Path path) throws IOException {
            Spec s = new Spec();
            s.path = path;
            HeaderClass cur = null;
            Struct struct = null;
            int lineNo = 0;
            for (String raw : Files.readAllLines(path)) {
                lineNo++;
                String line = raw.replaceAll("#.*", "").strip();
                if (line.isEmpty()) continue;
                String[] w = line.split("\\s+");
                String where = path + ":" + lineNo + ": ";
                switch (w[0]) {
                    case "os" -> s.os = w[1];
                    case "package" -> s.pkg = w[1];
                    case "transcribed" -> s.transcribed = true;
                    case "define" -> s.defines.add(w[1]);
                    case "arch" -> {
                        if (w.length < 4) throw new Failure(where + "arch NAME JAVA_ARCHES CC [FLAGS]");
                        s.arches.add(new Arch(w[1], List.of(w[2].split(",")),
                                List.of(w).subList(3, w.length)));
                    }
                    case "header" -> {
                        List<String> inc = new ArrayList<>();
                        for (int i = 2; i < w.length; i++) inc.add(w[i].replaceAll("[<>]", ""));
                        cur = new HeaderClass(w[1], inc);
                        s.classes.add(cur);
                        struct = null;
                    }
                    case "pointer" -> s.pointerTypes.add(w[1]);
                    case "const", "expr", "struct", "opaque", "func", "errno", "field" -> {
                        if (cur == null) throw new Failure(where + w[0] + " outside a header block");
                        switch (w[0]) {
                            case "const" -> { for (int i = 1; i < w.length; i++) cur.consts.add(w[i]); }
                            case "errno" -> { for (int i = 1; i < w.length; i++) cur.errnos.add(w[i]); }
                            case "expr" -> cur.exprs.put(w[1], line.substring(line.indexOf(w[1]) + w[1].length()).strip());
                            case "opaque" -> cur.opaques.add(w[1]);
                            case "struct" -> {
                                struct = new Struct(w[1], w.length > 2 && w[2].equals("typedef"), new ArrayList<>());
                                cur.structs.add(struct);
                            }
                            case "field" -> {
                                if (struct == null) throw new Failure(where + "field outside a struct");
                                String hint = w.length > 2 ? w[2] : "";
                                if (!List.of("", "ptr", "bytes", "u64").contains(hint)) throw new Failure(where + "unknown field hint " + hint);
                                struct.fields.add(new Field(w[1], hint));
                            }
                            case "func" -> cur.funcs.add(parseFunc(line, where));
                            default -> throw new AssertionError();
                        }
                    }
                    default -> throw new Failure(where + "unknown directive '" + w[0] + "'");
                }
            }
            if (s.os == null || s.pkg == null || s.arches.isEmpty()) throw new Failure(path + ": needs os, package and arch");
            return s;
        }

        static Func parseFunc(String line, String where) {
            Matcher m = FUNC.matcher(line);
            if (!m.matches()) throw new Failure(where + "cannot read function prototype: " + line);
            List<Param> params = new ArrayList<>();
            String list = m.group(3).strip();
            boolean variadic = false;
            if (!list.isEmpty() && !list.equals("void")) {
                for (String p : list.split(",")) {
                    p = p.strip();
                    if (p.startsWith("...")) { variadic = true; p = p.substring(3).strip(); }
                    Matcher pm = Pattern.compile("(.*?[\\s*])(\\w+)").matcher(p);
                    String type, name;
                    if (pm.matches() && !isTypeWord(pm.group(2)) && !pm.group(1).isBlank()) {
                        type = pm.group(1).strip();
                        name = pm.group(2);
                    } else {
                        type = p;
                        name = null;
                    }
                    params.add(new Param(type, name, variadic));
                }
            }
            return new Func(m.group(1).strip(), m.group(2), params, m.group(4) != null, line.substring(4).strip());
        }

        static boolean isTypeWord(String w) {
            return Set.of("int", "long", "short", "char", "void", "unsigned", "signed").contains(w) || w.endsWith("_t");
        }
    }

    // ------------------------------------------------------------------------------------- capture

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
        c.append("/* knot-bindgen ").append(VERSION).append(" probe for ").append(spec.os).append('/').append(arch.name)
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
        a.append("# Knot ABI description, format ").append(ABI_FORMAT)
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

    // ----------------------------------------------------------------------------------------- abi

    /** One parsed ABI file: "kind name key value key value ..." lines. */
    static final class Abi {
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

    // ---------------------------------------------------------------------------------------- emit

    static final class Emitter {
        final Spec spec;
        final Map<String, Abi> abis;           // arch -> ABI, in spec order
        final List<String> arches;

        Emitter(Spec spec, Map<String, Abi> abis) {
            this.spec = spec;
            this.abis = abis;
            this.arches = new ArrayList<>(abis.keySet());
            for (HeaderClass hc : spec.classes) {
                for (Func f : hc.funcs) {
                    for (String a : arches) abis.get(a).get("func " + f.name, "checked", spec.os + "-" + a + ".abi");
                }
            }
        }

        Map<String, String> emitAll() {
            Map<String, String> files = new TreeMap<>();
            String dir = spec.pkg.replace('.', '/') + "/";
            files.put(dir + "Abi.java", abiClass());
            for (HeaderClass hc : spec.classes) {
                files.put(dir + hc.name + ".java", headerClass(hc));
                for (Struct st : hc.structs) files.put(dir + javaName(st.name) + ".java", structClass(hc, st));
                for (String o : hc.opaques) files.put(dir + o + ".java", opaqueClass(hc, o));
            }
            return files;
        }

        String banner() {
            StringBuilder sb = new StringBuilder();
            sb.append("// Generated by knot-bindgen ").append(VERSION).append(" from bindings/spec/")
              .append(spec.path.getFileName()).append(" and ");
            List<String> files = new ArrayList<>();
            for (String a : arches) files.add("bindings/abi/" + spec.os + "-" + a + ".abi");
            sb.append(String.join(", ", files)).append(".\n// Do not edit: change the spec and run scripts/bindings.\n");
            sb.append("package ").append(spec.pkg).append(";\n\n");
            return sb.toString();
        }

        String abiFile(String arch) { return spec.os + "-" + arch + ".abi"; }

        /** A Java expression choosing among per-arch values, or the single value when they agree. */
        String perArch(List<String> values) {
            if (values.stream().distinct().count() == 1) return values.get(0);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < values.size() - 1; i++) {
                sb.append("Abi.").append(archConst(arches.get(i))).append(" ? ").append(values.get(i)).append(" : ");
            }
            return sb.append(values.get(values.size() - 1)).toString();
        }

        boolean archDependent(List<String> values) { return values.stream().distinct().count() > 1; }

        static String archConst(String arch) { return arch.toUpperCase().replace('-', '_'); }

        String includesText(HeaderClass hc) {
            List<String> l = new ArrayList<>();
            for (String i : hc.includes) l.add("{@code <" + i + ">}");
            return String.join(", ", l);
        }

        String osName() {
            return switch (spec.os) {
                case "linux" -> "Linux";
                case "freebsd" -> "FreeBSD";
                case "macos" -> "Mac OS X";
                default -> spec.os;
            };
        }

        String abiClass() {
            StringBuilder sb = new StringBuilder(banner());
            sb.append("""
                import java.lang.foreign.FunctionDescriptor;
                import java.lang.foreign.Linker;
                import java.lang.foreign.MemoryLayout;
                import java.lang.foreign.MemorySegment;
                import java.lang.foreign.StructLayout;
                import java.lang.foreign.ValueLayout;
                import java.lang.invoke.MethodHandle;
                import java.util.List;

                /**
                 * The ABIs these bindings were made for, which one this JVM runs on, and the downcall plumbing
                 * shared by the header classes of this package.
                """);
            for (String a : arches) {
                sb.append(" * <p>").append(a).append(": ").append(escape(abis.get(a).header.getOrDefault("source", "?"))).append('\n');
            }
            sb.append(" */\npublic final class Abi {\n    private Abi() {}\n\n");
            sb.append("    /** The OS these bindings describe, as {@code os.name} reports it. */\n");
            sb.append("    public static final String OS = \"").append(osName()).append("\";\n\n");
            sb.append("    /** The arches these bindings were made for. */\n");
            sb.append("    public static final List<String> ARCHES = List.of(");
            List<String> q = new ArrayList<>();
            for (String a : arches) q.add("\"" + a + "\"");
            sb.append(String.join(", ", q)).append(");\n\n");
            sb.append("    /** Index of the running arch in {@link #ARCHES}, or -1 when this JVM runs on none of them. */\n");
            sb.append("    public static final int INDEX = index(System.getProperty(\"os.name\", \"\"), System.getProperty(\"os.arch\", \"\"));\n\n");
            sb.append("    /** True when this JVM runs on the OS and one of the arches of these bindings. */\n");
            sb.append("    public static final boolean SUPPORTED = INDEX >= 0;\n\n");
            for (int i = 0; i < arches.size(); i++) {
                sb.append("    /** True when this JVM runs on ").append(arches.get(i)).append(". */\n");
                sb.append("    public static final boolean ").append(archConst(arches.get(i))).append(" = INDEX == ").append(i).append(";\n\n");
            }
            sb.append("    private static int index(String os, String arch) {\n");
            sb.append("        if (!os.startsWith(OS)) return -1;\n");
            sb.append("        return switch (arch) {\n");
            for (int i = 0; i < arches.size(); i++) {
                List<String> names = new ArrayList<>();
                for (String n : spec.arch(arches.get(i)).javaArchNames) names.add("\"" + n + "\"");
                sb.append("            case ").append(String.join(", ", names)).append(" -> ").append(i).append(";\n");
            }
            sb.append("            default -> -1;\n        };\n    }\n\n");
            sb.append("""
                    /** Throws a clear error when these bindings do not describe the running platform. */
                    public static void require() {
                        if (!SUPPORTED) {
                            throw new UnsupportedOperationException("Knot's " + OS + " bindings were made for " + ARCHES
                                    + "; this JVM runs on " + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
                        }
                    }

                    /** Layout of the call state that {@code Linker.Option.captureCallState("errno")} writes. */
                    public static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();

                    private static final long ERRNO_OFFSET =
                            CALL_STATE_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

                    /** The errno a downcall with a {@code callState} argument left in that segment. */
                    public static int errno(MemorySegment callState) {
                        return callState.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
                    }

                    static MethodHandle downcall(String name, FunctionDescriptor descriptor, boolean errno, int firstVariadic) {
                        MemorySegment address = Linker.nativeLinker().defaultLookup().find(name)
                                .orElseThrow(() -> new UnsatisfiedLinkError("knot: the C library has no symbol " + name));
                        List<Linker.Option> options = new java.util.ArrayList<>();
                        if (errno) options.add(Linker.Option.captureCallState("errno"));
                        if (firstVariadic >= 0) options.add(Linker.Option.firstVariadicArg(firstVariadic));
                        return Linker.nativeLinker().downcallHandle(address, descriptor, options.toArray(Linker.Option[]::new));
                    }
                }
                """);
            return sb.toString();
        }

        record JavaConst(String type, String value) {}

        JavaConst javaConst(String kind, String name) {
            List<String> values = new ArrayList<>();
            String type = "int";
            for (String a : arches) {
                Abi abi = abis.get(a);
                long v = abi.get(kind + " " + name, "value", abiFile(a));
                long size = abi.get(kind + " " + name, "size", abiFile(a));
                boolean signed = abi.get(kind + " " + name, "signed", abiFile(a)) == 1;
                if (size > 4) type = "long";
                values.add(literal(v, size, signed));
            }
            if (type.equals("long")) values.replaceAll(v -> v.endsWith("L") ? v : v + "L");
            return new JavaConst(type, perArch(values));
        }

        static String literal(long v, long size, boolean signed) {
            if (size <= 4) {
                long u = v & 0xFFFFFFFFL;
                int i = (int) v;
                boolean flagLike = (!signed && u > 9) || (u >= 0x100 && Long.bitCount(u) == 1) || u >= 0x10000;
                if (i < 0 && signed && i > -4096) return Integer.toString(i);
                return flagLike || i < 0 ? "0x" + Long.toHexString(u) : Integer.toString(i);
            }
            return (v < 0 || v >= 0x10000 ? "0x" + Long.toHexString(v) : Long.toString(v)) + "L";
        }

        String headerClass(HeaderClass hc) {
            StringBuilder body = new StringBuilder();
            boolean needsRequire = false;
            List<String> constNames = new ArrayList<>(hc.consts);
            constNames.addAll(hc.exprs.keySet());
            for (String k : constNames) {
                JavaConst c = javaConst("const", k);
                needsRequire |= c.value.contains("Abi.");
                String origin = hc.exprs.containsKey(k) ? "{@code " + escape(hc.exprs.get(k)) + "}" : "{@code " + k + "}";
                body.append("    /** ").append(origin).append(" */\n");
                body.append("    public static final ").append(c.type).append(' ').append(k).append(" = ").append(c.value).append(";\n");
            }
            if (!hc.errnos.isEmpty()) body.append(errnoMembers(hc));
            for (Func f : hc.funcs) body.append(function(f));
            StringBuilder sb = new StringBuilder(banner());
            if (!hc.funcs.isEmpty()) {
                sb.append("import java.lang.foreign.FunctionDescriptor;\nimport java.lang.foreign.MemorySegment;\n")
                  .append("import java.lang.invoke.MethodHandle;\n\nimport static java.lang.foreign.ValueLayout.*;\n\n");
            }
            sb.append("/** Constants and functions of ").append(includesText(hc)).append(" for ").append(spec.os)
              .append(" (").append(String.join(", ", arches)).append("). */\n");
            sb.append("public final class ").append(hc.name).append(" {\n    private ").append(hc.name).append("() {}\n\n");
            if (needsRequire) sb.append("    static {\n        Abi.require();\n    }\n\n");
            sb.append(body);
            sb.append("}\n");
            return sb.toString();
        }

        String errnoMembers(HeaderClass hc) {
            StringBuilder sb = new StringBuilder();
            Map<String, String> firstNameByValue = new LinkedHashMap<>();
            for (String k : hc.errnos) {
                JavaConst c = javaConst("errno", k);
                sb.append("    /** {@code ").append(k).append("} */\n");
                sb.append("    public static final int ").append(k).append(" = ").append(c.value).append(";\n");
                firstNameByValue.putIfAbsent(k, k);
            }
            sb.append("\n    /** The symbolic name of an errno value (the first name the spec lists for it), or {@code \"E<n>\"}. */\n");
            sb.append("    public static String errnoName(int errno) {\n");
            // An if-chain rather than a switch: arch-dependent values are not compile-time constants.
            Set<String> seenValues = new LinkedHashSet<>();
            for (String k : hc.errnos) {
                String v = javaConst("errno", k).value;
                if (!seenValues.add(v)) continue;
                sb.append("        if (errno == ").append(k).append(") return \"").append(k).append("\";\n");
            }
            sb.append("        return \"E\" + errno;\n    }\n\n");
            return sb.toString();
        }

        String carrier(String cType, String arch) {
            if (isPointer(spec, cType)) return "ADDRESS";
            Abi abi = abis.get(arch);
            long size = abi.get("type " + cType.replace(' ', '_'), "size", abiFile(arch));
            return switch ((int) size) {
                case 1 -> "JAVA_BYTE";
                case 2 -> "JAVA_SHORT";
                case 4 -> "JAVA_INT";
                case 8 -> "JAVA_LONG";
                default -> throw new Failure("type " + cType + " has size " + size + ", which Java cannot carry");
            };
        }

        static String javaType(String carrier) {
            return switch (carrier) {
                case "ADDRESS" -> "MemorySegment";
                case "JAVA_BYTE" -> "byte";
                case "JAVA_SHORT" -> "short";
                case "JAVA_INT" -> "int";
                case "JAVA_LONG" -> "long";
                default -> throw new AssertionError(carrier);
            };
        }

        String function(Func f) {
            String arch0 = arches.get(0);
            List<String> descs = new ArrayList<>();
            for (String a : arches) {
                List<String> parts = new ArrayList<>();
                for (Param p : f.params) parts.add(carrier(p.cType, a));
                String args = String.join(", ", parts);
                descs.add(f.ret.equals("void")
                        ? "FunctionDescriptor.ofVoid(" + args + ")"
                        : "FunctionDescriptor.of(" + carrier(f.ret, a) + (args.isEmpty() ? "" : ", " + args) + ")");
            }
            String retJava = f.ret.equals("void") ? "void" : javaType(carrier(f.ret, arch0));
            List<String> sig = new ArrayList<>();
            List<String> call = new ArrayList<>();
            if (f.errno) { sig.add("MemorySegment callState"); call.add("callState"); }
            Set<String> used = new LinkedHashSet<>();
            for (int i = 0; i < f.params.size(); i++) {
                Param p = f.params.get(i);
                String n = p.name == null ? "x" + i : javaName(p.name);
                if (!used.add(n)) n = n + i;
                sig.add(javaType(carrier(p.cType, arch0)) + " " + n);
                call.add(n);
            }
            String holder = f.name + "$";
            StringBuilder sb = new StringBuilder();
            sb.append("\n    private static final class ").append(holder).append(" {\n");
            sb.append("        static final FunctionDescriptor DESC = ").append(perArch(descs)).append(";\n");
            sb.append("        static final MethodHandle HANDLE = Abi.downcall(\"").append(f.name).append("\", DESC, ")
              .append(f.errno).append(", ").append(f.firstVariadic()).append(");\n    }\n\n");
            sb.append("    /**\n     * {@snippet lang=c : ").append(escape(f.line.replace(" errno", "").replace("...", "..."))).append(" }\n");
            if (f.variadic()) sb.append("     * <p>Variadic: the arguments from the first variadic one on are passed as the types shown.\n");
            if (f.errno) sb.append("     * <p>{@code callState} receives errno ({@code Linker.Option.captureCallState(\"errno\")}); read it with {@link Abi#errno}.\n");
            sb.append("     */\n");
            sb.append("    public static ").append(retJava).append(' ').append(f.name).append('(').append(String.join(", ", sig)).append(") {\n");
            sb.append("        try {\n            ");
            if (!retJava.equals("void")) sb.append("return (").append(retJava).append(") ");
            sb.append(holder).append(".HANDLE.invokeExact(").append(String.join(", ", call)).append(");\n");
            sb.append("        } catch (Throwable t) {\n            throw new AssertionError(\"knot: downcall ").append(f.name)
              .append(" failed\", t);\n        }\n    }\n\n");
            sb.append("    /** The downcall handle of {@code ").append(f.name).append("}").append(f.errno ? ", taking the call-state segment first" : "").append(". */\n");
            sb.append("    public static MethodHandle ").append(f.name).append("$handle() {\n        return ").append(holder).append(".HANDLE;\n    }\n");
            return sb.toString();
        }

        record FieldInfo(Field f, long offset, long size, boolean signed) {}

        /** The layout of a struct on one arch, rebuilt from the compiler's offsets with explicit padding. */
        String structLayout(Struct st, String arch, List<FieldInfo> out) {
            Abi abi = abis.get(arch);
            String file = abiFile(arch);
            long size = abi.get("struct " + st.name, "size", file);
            long align = abi.get("struct " + st.name, "align", file);
            for (Field f : st.fields) {
                String e = "field " + st.name + " " + f.name;
                long off = abi.get(e, "offset", file);
                long fsize = abi.get(e, "size", file);
                boolean signed = f.hint.isEmpty() && abi.get(e, "signed", file) == 1;
                out.add(new FieldInfo(f, off, fsize, signed));
            }
            // Headers do not always declare fields in offset order (struct stat on x86_64), so sort.
            List<FieldInfo> byOffset = new ArrayList<>(out);
            byOffset.sort(java.util.Comparator.comparingLong(FieldInfo::offset));
            List<String> members = new ArrayList<>();
            long pos = 0;
            for (FieldInfo fi : byOffset) {
                if (fi.offset < pos) throw new Failure(st.name + "." + fi.f.name + " overlaps the field before it on " + arch);
                if (fi.offset > pos) members.add("MemoryLayout.paddingLayout(" + (fi.offset - pos) + ")");
                members.add(valueLayout(fi.f, fi.size, fi.offset, align) + ".withName(\"" + fi.f.name + "\")");
                pos = fi.offset + fi.size;
            }
            if (size > pos) members.add("MemoryLayout.paddingLayout(" + (size - pos) + ")");
            // Members are never aligned more than the struct, so stating the C alignment is always valid; it matters
            // where the bound fields do not reach it (siginfo_t's pointer-holding union is not bound).
            return "MemoryLayout.structLayout(\n                " + String.join(",\n                ", members)
                    + ").withName(\"" + st.name + "\").withByteAlignment(" + align + ")";
        }

        /** The member layout: natural alignment unless the offset or a packed struct says less (epoll_event on x86_64). */
        static String valueLayout(Field f, long size, long offset, long structAlign) {
            if (f.hint.equals("bytes")) {
                // An embedded struct or array: as aligned as its offset and the struct allow (timespec in itimerspec).
                long a = Math.min(8, structAlign);
                while (a > 1 && (offset % a != 0 || size % a != 0)) a /= 2;
                return "MemoryLayout.sequenceLayout(" + size + ", JAVA_BYTE)" + (a > 1 ? ".withByteAlignment(" + a + ")" : "");
            }
            String base = f.hint.equals("ptr") ? "ADDRESS" : switch ((int) size) {
                case 1 -> "JAVA_BYTE";
                case 2 -> "JAVA_SHORT";
                case 4 -> "JAVA_INT";
                case 8 -> "JAVA_LONG";
                default -> throw new Failure(f.name + " has size " + size + "; give it the 'bytes' hint");
            };
            long natural = size;
            long align = Math.min(natural, structAlign);
            while (offset % align != 0) align /= 2;
            return align == natural ? base : base + ".withByteAlignment(" + align + ")";
        }

        static String accessorType(FieldInfo fi) {
            if (fi.f.hint.equals("bytes")) return "MemorySegment";
            if (fi.f.hint.equals("ptr")) return "MemorySegment";
            return switch ((int) fi.size) {
                case 1 -> "byte";
                case 2 -> "short";
                case 4 -> "int";
                case 8 -> "long";
                default -> throw new AssertionError();
            };
        }

        static String layoutClass(String javaType) {
            return switch (javaType) {
                case "byte" -> "OfByte";
                case "short" -> "OfShort";
                case "int" -> "OfInt";
                case "long" -> "OfLong";
                case "MemorySegment" -> "AddressLayout";
                default -> throw new AssertionError(javaType);
            };
        }

        String structClass(HeaderClass hc, Struct st) {
            Map<String, List<FieldInfo>> infos = new LinkedHashMap<>();
            List<String> layouts = new ArrayList<>();
            List<String> sizes = new ArrayList<>();
            for (String a : arches) {
                List<FieldInfo> fi = new ArrayList<>();
                layouts.add(structLayout(st, a, fi));
                infos.put(a, fi);
                sizes.add(Long.toString(abis.get(a).get("struct " + st.name, "size", abiFile(a))));
            }
            String name = javaName(st.name);
            StringBuilder body = new StringBuilder();
            boolean dependent = archDependent(layouts);
            body.append("    /** The layout of {@code ").append(st.cType()).append("}").append(dependent ? " on the running arch" : "").append(". */\n");
            body.append("    public static final StructLayout LAYOUT = ").append(perArch(layouts)).append(";\n\n");
            body.append("    /** {@code sizeof(").append(st.cType()).append(")}: ").append(sizeSummary(sizes)).append(". */\n");
            body.append("    public static final long SIZEOF = ").append(perArch(sizes)).append(";\n");
            for (int i = 0; i < st.fields.size(); i++) {
                Field f = st.fields.get(i);
                List<String> offsets = new ArrayList<>();
                List<String> fieldLayouts = new ArrayList<>();
                List<String> types = new ArrayList<>();
                for (String a : arches) {
                    FieldInfo fi = infos.get(a).get(i);
                    offsets.add(Long.toString(fi.offset));
                    long align = abis.get(a).get("struct " + st.name, "align", abiFile(a));
                    fieldLayouts.add(valueLayout(f, fi.size, fi.offset, align));
                    types.add(accessorType(fi));
                }
                String jt = types.get(0);
                String fn = javaName(f.name);
                body.append("\n    /** Offset of {@code ").append(f.name).append("}. */\n");
                body.append("    public static final long ").append(fn).append("$OFFSET = ").append(perArch(offsets)).append(";\n");
                if (f.hint.equals("bytes")) {
                    List<String> sz = new ArrayList<>();
                    for (String a : arches) sz.add(Long.toString(infos.get(a).get(i).size));
                    body.append("    /** Size of {@code ").append(f.name).append("} in bytes. */\n");
                    body.append("    public static final long ").append(fn).append("$SIZE = ").append(perArch(sz)).append(";\n\n");
                    body.append("    /** A slice of {@code struct} over {@code ").append(f.name).append("}. */\n");
                    body.append("    public static MemorySegment ").append(fn).append("(MemorySegment struct) {\n");
                    body.append("        return struct.asSlice(").append(fn).append("$OFFSET, ").append(fn).append("$SIZE);\n    }\n");
                    continue;
                }
                if (archDependent(types)) {
                    body.append(widenedAccessors(f, i, infos, fieldLayouts));
                    continue;
                }
                String lc = layoutClass(jt);
                body.append("    /** Layout of {@code ").append(f.name).append("}. */\n");
                body.append("    public static final ").append(lc).append(' ').append(fn).append("$LAYOUT = ").append(perArch(fieldLayouts)).append(";\n\n");
                body.append("    /** Reads {@code ").append(f.name).append("}. */\n");
                body.append("    public static ").append(jt).append(' ').append(fn).append("(MemorySegment struct) {\n");
                body.append("        return struct.get(").append(fn).append("$LAYOUT, ").append(fn).append("$OFFSET);\n    }\n\n");
                body.append("    /** Writes {@code ").append(f.name).append("}. */\n");
                body.append("    public static void ").append(fn).append("(MemorySegment struct, ").append(jt).append(" value) {\n");
                body.append("        struct.set(").append(fn).append("$LAYOUT, ").append(fn).append("$OFFSET, value);\n    }\n");
            }
            body.append("""

                    /** Allocates one zeroed struct. */
                    public static MemorySegment allocate(SegmentAllocator allocator) {
                        return allocator.allocate(LAYOUT);
                    }

                    /** Allocates a zeroed array of {@code count} structs. */
                    public static MemorySegment allocateArray(long count, SegmentAllocator allocator) {
                        return allocator.allocate(LAYOUT, count);
                    }

                    /** The element at {@code index} of an array of these structs. */
                    public static MemorySegment asSlice(MemorySegment array, long index) {
                        return array.asSlice(index * SIZEOF, SIZEOF);
                    }
                """);
            StringBuilder sb = new StringBuilder(banner());
            sb.append("import java.lang.foreign.AddressLayout;\nimport java.lang.foreign.MemoryLayout;\n")
              .append("import java.lang.foreign.MemorySegment;\nimport java.lang.foreign.SegmentAllocator;\n")
              .append("import java.lang.foreign.StructLayout;\nimport java.lang.foreign.ValueLayout.OfByte;\n")
              .append("import java.lang.foreign.ValueLayout.OfInt;\nimport java.lang.foreign.ValueLayout.OfLong;\n")
              .append("import java.lang.foreign.ValueLayout.OfShort;\n\nimport static java.lang.foreign.ValueLayout.*;\n\n");
            sb.append("/** {@code ").append(st.cType()).append("} from ").append(includesText(hc)).append(". */\n");
            sb.append("@SuppressWarnings(\"unused\")\n");
            sb.append("public final class ").append(name).append(" {\n    private ").append(name).append("() {}\n\n");
            if (body.indexOf("Abi.") >= 0) sb.append("    static {\n        Abi.require();\n    }\n\n");
            sb.append(body).append("}\n");
            return sb.toString();
        }

        /**
         * Accessors for an integer field whose size differs between arches (st_nlink is 8 bytes on x86_64 and 4 on
         * aarch64): Java sees it as a long, extended as the field's signedness says.
         */
        String widenedAccessors(Field f, int i, Map<String, List<FieldInfo>> infos, List<String> fieldLayouts) {
            String fn = javaName(f.name);
            List<String> reads = new ArrayList<>();
            List<String> writes = new ArrayList<>();
            for (int k = 0; k < arches.size(); k++) {
                FieldInfo fi = infos.get(arches.get(k)).get(i);
                String layout = fieldLayouts.get(k);
                String read = "struct.get(" + layout + ", " + fn + "$OFFSET)";
                String write = "struct.set(" + layout + ", " + fn + "$OFFSET, value)";
                switch ((int) fi.size) {
                    case 8 -> { }
                    case 4 -> {
                        read = fi.signed ? read : "Integer.toUnsignedLong(" + read + ")";
                        write = "struct.set(" + layout + ", " + fn + "$OFFSET, (int) value)";
                    }
                    case 2 -> {
                        read = fi.signed ? read : "Short.toUnsignedLong(" + read + ")";
                        write = "struct.set(" + layout + ", " + fn + "$OFFSET, (short) value)";
                    }
                    default -> throw new Failure(f.name + ": cannot widen a field of " + fi.size + " bytes");
                }
                reads.add(read);
                writes.add(write);
            }
            StringBuilder b = new StringBuilder();
            b.append("    /** Reads {@code ").append(f.name).append("}, whose size depends on the arch, as a long. */\n");
            b.append("    public static long ").append(fn).append("(MemorySegment struct) {\n");
            b.append("        return ").append(perArch(reads)).append(";\n    }\n\n");
            b.append("    /** Writes {@code ").append(f.name).append("}, truncating to its size on the running arch. */\n");
            b.append("    public static void ").append(fn).append("(MemorySegment struct, long value) {\n");
            for (int k = 0; k < arches.size(); k++) {
                b.append(k == 0 ? "        if (" : " else if (").append("Abi.").append(archConst(arches.get(k))).append(") {\n")
                 .append("            ").append(writes.get(k)).append(";\n        }");
            }
            b.append("\n    }\n");
            return b.toString();
        }

        String sizeSummary(List<String> sizes) {
            if (sizes.stream().distinct().count() == 1) return sizes.get(0) + " bytes";
            List<String> l = new ArrayList<>();
            for (int i = 0; i < arches.size(); i++) l.add(sizes.get(i) + " on " + arches.get(i));
            return String.join(", ", l);
        }

        String opaqueClass(HeaderClass hc, String o) {
            List<String> sizes = new ArrayList<>();
            List<String> aligns = new ArrayList<>();
            for (String a : arches) {
                sizes.add(Long.toString(abis.get(a).get("opaque " + o, "size", abiFile(a))));
                aligns.add(Long.toString(abis.get(a).get("opaque " + o, "align", abiFile(a))));
            }
            StringBuilder sb = new StringBuilder(banner());
            sb.append("import java.lang.foreign.MemoryLayout;\nimport java.lang.foreign.MemorySegment;\n")
              .append("import java.lang.foreign.SegmentAllocator;\n\n");
            sb.append("/** {@code ").append(o).append("} from ").append(includesText(hc)).append(": only its size and alignment are bound. */\n");
            sb.append("public final class ").append(o).append(" {\n    private ").append(o).append("() {}\n\n");
            boolean dep = archDependent(sizes) || archDependent(aligns);
            if (dep) sb.append("    static {\n        Abi.require();\n    }\n\n");
            sb.append("    /** {@code sizeof(").append(o).append(")}: ").append(sizeSummary(sizes)).append(". */\n");
            sb.append("    public static final long SIZEOF = ").append(perArch(sizes)).append(";\n\n");
            sb.append("    /** {@code _Alignof(").append(o).append(")}. */\n");
            sb.append("    public static final long ALIGNOF = ").append(perArch(aligns)).append(";\n\n");
            sb.append("    /** The layout: opaque bytes of the right size and alignment. */\n");
            sb.append("    public static final MemoryLayout LAYOUT = MemoryLayout.paddingLayout(SIZEOF).withByteAlignment(ALIGNOF);\n\n");
            sb.append("    /** Allocates one zeroed {@code ").append(o).append("}. */\n");
            sb.append("    public static MemorySegment allocate(SegmentAllocator allocator) {\n");
            sb.append("        return allocator.allocate(SIZEOF, ALIGNOF);\n    }\n}\n");
            return sb.toString();
        }

        static final Set<String> KEYWORDS = Set.of("abstract", "assert", "boolean", "break", "byte", "case", "catch",
                "char", "class", "const", "continue", "default", "do", "double", "else", "enum", "extends", "final",
                "finally", "float", "for", "goto", "if", "implements", "import", "instanceof", "int", "interface",
                "long", "native", "new", "package", "private", "protected", "public", "return", "short", "static",
                "strictfp", "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try", "void",
                "volatile", "while", "var", "record", "yield");

        static String javaName(String c) { return KEYWORDS.contains(c) ? c + "$" : c; }

        static String escape(String s) { return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*/", "*&#47;"); }
    }
}
