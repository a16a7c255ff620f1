// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;


// The spec: which headers, constants, structs and functions to bind, and for which arches (bindings/spec/*.spec).
final class Arch {
    final String name;
    final List<String> javaArchNames;
    final List<String> cc;

    Arch(String name, List<String> javaArchNames, List<String> cc) {
        this.name = name; this.javaArchNames = javaArchNames; this.cc = cc;
    }
}

/** hint: "", "ptr", "bytes", "u64" */
final class Field {
    final String name;
    final String hint;

    Field(String name, String hint) {
        this.name = name; this.hint = hint;
    }
}

final class Struct {
    final String name;
    final boolean typedef;
    final List<Field> fields;

    Struct(String name, boolean typedef, List<Field> fields) {
        this.name = name; this.typedef = typedef; this.fields = fields;
    }

    String cType() { return typedef ? name : "struct " + name; }
}

final class Param {
    final String cType;
    final String name;
    final boolean variadic;

    Param(String cType, String name, boolean variadic) {
        this.cType = cType; this.name = name; this.variadic = variadic;
    }
}

final class Func {
    final String ret;
    final String name;
    final List<Param> params;
    final boolean errno;
    /** Also bind a variant taking pointer arguments as raw addresses ({@code long}), for callers that hold one. */
    final boolean raw;
    /**
     * Also bind {@code NAME$critical}: raw addresses, no errno capture, linked with {@code Linker.Option.critical}
     * (no thread-state transition), for per-event queries that return at once and never block.
     */
    final boolean critical;
    final String line;

    Func(String ret, String name, List<Param> params, boolean errno, String line) {
        this(ret, name, params, errno, false, false, line);
    }

    Func(String ret, String name, List<Param> params, boolean errno, boolean raw, String line) {
        this(ret, name, params, errno, raw, false, line);
    }

    Func(String ret, String name, List<Param> params, boolean errno, boolean raw, boolean critical, String line) {
        this.ret = ret; this.name = name; this.params = params; this.errno = errno; this.raw = raw;
        this.critical = critical; this.line = line;
    }

    boolean variadic() { return params.stream().anyMatch(p -> p.variadic); }
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

final class HeaderClass {
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

final class Spec {
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

    static final Pattern FUNC = Pattern.compile("func\\s+(.+?)\\s*\\b(\\w+)\\s*\\((.*)\\)((?:\\s*\\b(?:errno|raw|critical)\\b)*)\\s*");

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
        List<String> flags = List.of(m.group(4).strip().split("\\s+"));
        return new Func(m.group(1).strip(), m.group(2), params, flags.contains("errno"), flags.contains("raw"),
                flags.contains("critical"), line.substring(4, line.lastIndexOf(')') + 1).strip());
    }

    static boolean isTypeWord(String w) {
        return Set.of("int", "long", "short", "char", "void", "unsigned", "signed").contains(w) || w.endsWith("_t");
    }
}
