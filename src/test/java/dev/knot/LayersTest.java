// SPDX-License-Identifier: Apache-2.0
package dev.knot;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dependency graph of ARCHITECTURE.md, checked on the compiled library classes: each layer uses only the
 * layers below it, generated bindings are used only by the layers whose job that is, and Netty only by the
 * Netty transport.
 */
class LayersTest {
    /** Bottom to top. A layer may use any layer before it in this list, never one after it. */
    static final List<String> LAYERS = List.of(
            "dev.knot.bindings..",
            "dev.knot.system..",
            "dev.knot.emulation..",
            "dev.knot.kqueue..",
            "dev.knot.loop..",
            "dev.knot.net..",
            "dev.knot.fork..",
            "dev.knot.prefork..");

    /** Exported error and platform types; every layer may use them, and they use only the system layer. */
    static final String SYS = "dev.knot.sys..";
    static final String NETTY = "dev.knot.netty..";
    static final String EXAMPLES = "dev.knot.examples..";
    static final String BINDINGS = "dev.knot.bindings..";

    /**
     * Today's known violations, by the class that commits them. This list only shrinks: each entry is removed by
     * the change that fixes it, and a new violation is never added here.
     */
    static final Set<String> KNOWN = Set.of();

    static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("dev.knot");
    }

    private static final DescribedPredicate<JavaClass> NOT_KNOWN =
            DescribedPredicate.describe("are not known violations", c -> !KNOWN.contains(outermost(c).getName()));

    private static JavaClass outermost(JavaClass c) {
        JavaClass o = c;
        while (o.getEnclosingClass().isPresent()) o = o.getEnclosingClass().get();
        return o;
    }

    @Test
    void nothingPointsUp() {
        for (int i = 0; i < LAYERS.size(); i++) {
            List<String> above = new ArrayList<>(LAYERS.subList(i + 1, LAYERS.size()));
            above.add(NETTY);
            above.add(EXAMPLES);
            above.add("dev.knot"); // the launcher (dev.knot.Main) sits on top of everything
            if (i == 0) above.add(SYS);
            ArchRule rule = noClasses().that().resideInAPackage(LAYERS.get(i)).and(NOT_KNOWN)
                    .should().dependOnClassesThat().resideInAnyPackage(above.toArray(String[]::new))
                    .because(LAYERS.get(i) + " sits below " + above)
                    .allowEmptyShould(true); // a layer may be empty while a package moves
            rule.check(classes);
        }
    }

    @Test
    void sysUsesOnlyTheSystemLayer() {
        String[] forbidden = above(1, BINDINGS);
        noClasses().that().resideInAPackage(SYS).and(NOT_KNOWN)
                .should().dependOnClassesThat().resideInAnyPackage(forbidden)
                .because("dev.knot.sys is the exported face of the system layer")
                .check(classes);
    }

    @Test
    void nettySitsAboveNetAndBelowFork() {
        noClasses().that().resideInAPackage(NETTY).and(NOT_KNOWN)
                .should().dependOnClassesThat()
                .resideInAnyPackage("dev.knot.fork..", "dev.knot.prefork..", "dev.knot.emulation..", BINDINGS, EXAMPLES)
                .because("the Netty transport uses kqueue, loop, net, sys and system only")
                .allowEmptyShould(true)
                .check(classes);
    }

    @Test
    void theLibraryNeverUsesTheExamples() {
        noClasses().that().resideOutsideOfPackage(EXAMPLES).and(NOT_KNOWN)
                .should().dependOnClassesThat().resideInAPackage(EXAMPLES)
                .because("the examples are programs built on the library, outside it")
                .check(classes);
    }

    @Test
    void onlyTheSystemLayerTheEmulationAndTheBackendsUseBindings() {
        noClasses().that().resideOutsideOfPackages(BINDINGS, "dev.knot.system..", "dev.knot.emulation..")
                .and(DescribedPredicate.describe("are not kqueue backends", (JavaClass c) ->
                        !(c.getPackageName().equals("dev.knot.kqueue") && outermost(c).getSimpleName().endsWith("Backend"))))
                .and(NOT_KNOWN)
                .should().dependOnClassesThat().resideInAPackage(BINDINGS)
                .because("generated bindings are raw; everything above the system layer uses its typed calls")
                .check(classes);
    }

    /**
     * The bytecode check above cannot see a binding constant that the compiler inlined (every {@code static final
     * int} of the generated headers), so the sources are checked too: no file outside the allowed layers names
     * {@code dev.knot.bindings} at all.
     */
    @Test
    void onlyTheSystemLayerTheEmulationAndTheBackendsNameBindingsInSource() throws IOException {
        List<String> offenders = new ArrayList<>();
        for (String root : List.of("src/main/java", "src/examples/java")) {
            Path dir = Path.of(root);
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    String rel = dir.relativize(f).toString().replace('/', '.');
                    String cls = rel.substring(0, rel.length() - ".java".length());
                    if (cls.startsWith("dev.knot.system.") || cls.startsWith("dev.knot.emulation.")
                            || cls.matches("dev\\.knot\\.kqueue\\.[A-Za-z]*Backend") || KNOWN.contains(cls)) {
                        continue;
                    }
                    if (Files.readString(f).contains("dev.knot.bindings.")) offenders.add(cls);
                }
            }
        }
        if (!offenders.isEmpty()) {
            throw new AssertionError("generated bindings named outside dev.knot.system, dev.knot.emulation and the"
                    + " kqueue backends: " + offenders);
        }
    }

    @Test
    void onlyTheNettyTransportUsesNetty() {
        noClasses().that().resideOutsideOfPackage(NETTY)
                .should().dependOnClassesThat().resideInAPackage("io.netty..")
                .because("Netty is optional: the core never loads it")
                .check(classes);
    }

    @Test
    void theGraphHasNoUnknownLayer() {
        // A new top-level package must be placed in the graph (and in ARCHITECTURE.md) before it can pass.
        List<String> known = new ArrayList<>(LAYERS);
        known.addAll(Arrays.asList(SYS, NETTY, EXAMPLES));
        for (JavaClass c : classes) {
            String p = c.getPackageName();
            if (p.equals("dev.knot")) continue;
            boolean placed = known.stream().map(k -> k.substring(0, k.length() - 2))
                    .anyMatch(k -> p.equals(k) || p.startsWith(k + "."));
            if (!placed) throw new AssertionError(c.getName() + " is in no layer of " + known);
        }
    }

    private static String[] above(int layer, String... extra) {
        List<String> a = new ArrayList<>(LAYERS.subList(layer + 1, LAYERS.size()));
        a.addAll(Arrays.asList(NETTY, EXAMPLES));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }
}
