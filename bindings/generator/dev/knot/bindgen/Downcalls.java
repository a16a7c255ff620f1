// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

// Func and Param live in Spec.java; naming Spec first lets the source launcher find them.
import dev.knot.bindgen.Spec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The emit stage for functions: each bound function becomes Java methods over lazily linked downcall handles, in
 * jextract's shape plus Knot's errno and raw-address variants (see bindings/README.md, "Allocation-free downcalls").
 */
final class Downcalls {
    private final Emitter e;

    Downcalls(Emitter e) {
        this.e = e;
    }

    String function(Func f) {
        String arch0 = e.arches.get(0);
        String retJava = f.ret.equals("void") ? "void" : Emitter.javaType(e.carrier(f.ret, arch0));
        List<String> names = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        for (int i = 0; i < f.params.size(); i++) {
            Param p = f.params.get(i);
            String n = p.name == null ? "x" + i : Emitter.javaName(p.name);
            if (!used.add(n)) n = n + i;
            names.add(n);
        }
        String c = Emitter.escape(f.line.replace("...", "..."));
        StringBuilder sb = new StringBuilder();
        // The header's shape, errno captured when the spec says so.
        sb.append(variant(f, f.name + "$", f.name, f.errno, false, retJava, names,
                "{@snippet lang=c : " + c + " }" + (f.variadic() ? "\n     * <p>Variadic: the arguments from the first variadic one on are passed as the types shown." : "")
                        + (f.errno ? "\n     * <p>{@code callState} receives errno ({@code Linker.Option.captureCallState(\"errno\")}); read it with {@link Abi#errno}." : "")));
        sb.append("    /** The downcall handle of {@code ").append(f.name).append("}").append(f.errno ? ", taking the call-state segment first" : "").append(". */\n");
        sb.append("    public static MethodHandle ").append(f.name).append("$handle() {\n        return ").append(f.name).append("$.HANDLE;\n    }\n\n");
        sb.append("    /** The function descriptor of {@code ").append(f.name).append("}, as jextract names it. */\n");
        sb.append("    public static FunctionDescriptor ").append(f.name).append("$descriptor() {\n        return ").append(f.name).append("$.DESC;\n    }\n\n");
        sb.append("    /** The address of {@code ").append(f.name).append("} in the C library. */\n");
        sb.append("    public static MemorySegment ").append(f.name).append("$address() {\n        return Abi.symbol(\"").append(f.name).append("\");\n    }\n");
        if (f.errno && !f.variadic()) {
            // jextract's own shape has no errno capture; offered for code written against it. errno is not reliable
            // after such a call (the JVM may run code that sets it before the caller reads it).
            sb.append(variant(f, f.name + "$plain", f.name, false, false, retJava, names,
                    "{@snippet lang=c : " + c + " }\n     * <p>As jextract binds it: without errno capture, so errno is lost; use the {@code callState} overload where it matters."));
        }
        if (f.critical) {
            sb.append(variant(f, f.name + "$critical$", f.name + "$critical", false, true, true, retJava, names,
                    "{@snippet lang=c : " + c + " }\n     * <p>For calls that return at once and never block (a query such as FIONREAD):"
                            + " linked with {@code Linker.Option.critical(false)}, so the thread stays in Java state and a"
                            + " safepoint waits for the call; pointer arguments are raw addresses and errno is not"
                            + " captured, so on failure make the call again through {@code " + f.name + "(callState, ...)}"
                            + " to learn why. No thread-state change, call-state slice or segment session is touched."));
        }
        if (f.raw) {
            sb.append(variant(f, f.name + "$raw$", f.name + "$raw", f.errno, true, retJava, names,
                    "{@snippet lang=c : " + c + " }\n     * <p>Pointer arguments as raw addresses, for callers that hold one (a framework's direct buffer):"
                            + " no {@code MemorySegment} is made per call."
                            + (f.errno ? "\n     * <p>{@code callState} receives errno; read it with {@link Abi#errno}." : "")));
        }
        return sb.toString();
    }

    /**
     * One Java method over one lazily linked downcall: {@code holder} is initialised, and the function linked, on
     * the first call only, so a program links just the functions it calls (as jextract's holder classes do).
     */
    String variant(Func f, String holder, String method, boolean errno, boolean raw, String retJava, List<String> names, String doc) {
        return variant(f, holder, method, errno, raw, false, retJava, names, doc);
    }

    /**
     * As above; a {@code critical} variant is called through its {@code static final} handle, which the JIT inlines
     * whole: it makes no call-state slice, so the reason for the non-final {@code CALL} (see Abi) does not apply.
     */
    String variant(Func f, String holder, String method, boolean errno, boolean raw, boolean critical, String retJava,
                   List<String> names, String doc) {
        String arch0 = e.arches.get(0);
        List<String> descs = new ArrayList<>();
        for (String a : e.arches) {
            List<String> parts = new ArrayList<>();
            for (Param p : f.params) {
                String carrier = e.carrier(p.cType, a);
                parts.add(raw && carrier.equals("ADDRESS") ? "JAVA_LONG" : carrier);
            }
            String args = String.join(", ", parts);
            descs.add(f.ret.equals("void")
                    ? "FunctionDescriptor.ofVoid(" + args + ")"
                    : "FunctionDescriptor.of(" + e.carrier(f.ret, a) + (args.isEmpty() ? "" : ", " + args) + ")");
        }
        List<String> sig = new ArrayList<>();
        List<String> call = new ArrayList<>();
        if (errno) { sig.add("MemorySegment callState"); call.add("callState"); }
        for (int i = 0; i < f.params.size(); i++) {
            String t = Emitter.javaType(e.carrier(f.params.get(i).cType, arch0));
            sig.add((raw && t.equals("MemorySegment") ? "long" : t) + " " + names.get(i));
            call.add(names.get(i));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("\n    private static final class ").append(holder).append(" {\n");
        sb.append("        static final FunctionDescriptor DESC = ").append(e.perArch(descs)).append(";\n");
        sb.append("        static final MethodHandle HANDLE = Abi.downcall(\"").append(f.name).append("\", DESC, ")
          .append(errno).append(", ").append(f.firstVariadic()).append(critical ? ", true" : "").append(");\n");
        if (!critical) sb.append("        static MethodHandle CALL = HANDLE;      // not final: see Abi\n");
        sb.append("    }\n\n");
        sb.append("    /**\n     * ").append(doc).append("\n     */\n");
        sb.append("    public static ").append(retJava).append(' ').append(method).append('(').append(String.join(", ", sig)).append(") {\n");
        sb.append("        try {\n            ");
        if (!retJava.equals("void")) sb.append("return (").append(retJava).append(") ");
        sb.append(holder).append(critical ? ".HANDLE" : ".CALL").append(".invokeExact(").append(String.join(", ", call)).append(");\n");
        sb.append("        } catch (Throwable t) {\n            throw new AssertionError(\"knot: downcall ").append(f.name)
          .append(" failed\", t);\n        }\n    }\n\n");
        return sb.toString();
    }
}
