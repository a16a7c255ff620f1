// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds and loads a {@link WorkerApp}: the master checks what it was given before it spawns a worker
 * ({@link #resolve}), and each worker loads and instantiates the app ({@link #instantiate}).
 *
 * <p>The app's class path gets its own class loader whose parent is the loader that has Knot, so the app sees
 * Knot's classes (and the JDK's) and Knot never sees the app's. Threading: stateless, any thread.
 */
public final class AppLoader {
    /** The app workers run when none is named: the example HTTP server, from Knot's examples jar. */
    public static final String DEFAULT_APP = "dev.knot.examples.http.HttpApp";

    /** The system property that names the examples jar when it is not where {@link #examplesJar()} looks. */
    public static final String EXAMPLES_JAR_PROPERTY = "knot.examples.jar";

    private AppLoader() {}

    /**
     * Checks, in the master, what a worker would load: every class path entry exists, the class is found, is a
     * concrete {@link WorkerApp} and has a public no-arg constructor. The class is loaded but not initialized, so
     * none of the app's code runs in the master. For the default app that is not on Knot's class path, adds the
     * examples jar to the class path.
     *
     * @param app what the master was given
     * @return {@code app}, or a copy whose class path also holds the examples jar
     * @throws IllegalArgumentException with one line naming what is wrong
     */
    public static AppConfig resolve(AppConfig app) {
        AppConfig resolved = app;
        if (app.appClass().equals(DEFAULT_APP) && app.classPath().isEmpty() && !onKnotClassPath(DEFAULT_APP)) {
            Path jar = examplesJar().orElseThrow(() -> new IllegalArgumentException("the default app " + DEFAULT_APP
                    + " lives in Knot's examples jar, which was not found (looked for " + examplesJarCandidates()
                    + "; build it with 'mvn package', set -D" + EXAMPLES_JAR_PROPERTY + "=JAR, or name your own app with --app)"));
            resolved = app.withClassPath(List.of(jar));
        }
        for (Path p : resolved.classPath()) {
            if (!Files.exists(p)) throw new IllegalArgumentException("--classpath entry " + p + " does not exist");
            if (!Files.isDirectory(p) && !Files.isReadable(p)) throw new IllegalArgumentException("--classpath entry " + p + " is not readable");
        }
        try (URLClassLoader loader = loader(resolved.classPath())) {
            constructor(load(resolved.appClass(), loader, false, resolved.classPath()));
        } catch (IOException e) {
            throw new IllegalArgumentException("closing the class loader of " + resolved.appClass() + ": " + e.getMessage(), e);
        }
        return resolved;
    }

    /**
     * Loads, initializes and instantiates the app in a worker.
     *
     * @param className the app's binary name
     * @param classPath the user's entries (the loader stays open for the worker's life: the app's classes need it)
     * @return a new instance
     * @throws IllegalArgumentException if the class is missing, not a concrete {@link WorkerApp} or lacks a public
     *                                  no-arg constructor
     * @throws Exception whatever the app's static initializer or constructor throws
     */
    @SuppressWarnings("resource")
    public static WorkerApp instantiate(String className, List<Path> classPath) throws Exception {
        Class<? extends WorkerApp> c = load(className, loader(classPath), true, classPath);
        try {
            return constructor(c).newInstance();
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        } catch (ExceptionInInitializerError e) {
            throw e.getCause() instanceof Exception x ? x : new IllegalStateException(e.getCause());
        }
    }

    private static URLClassLoader loader(List<Path> classPath) {
        List<URL> urls = new ArrayList<>();
        for (Path p : classPath) {
            try {
                urls.add(p.toAbsolutePath().toUri().toURL());
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("--classpath entry " + p + " is not a valid path: " + e.getMessage(), e);
            }
        }
        return new URLClassLoader("knot-app", urls.toArray(URL[]::new), WorkerApp.class.getClassLoader());
    }

    private static Class<? extends WorkerApp> load(String name, ClassLoader loader, boolean initialize, List<Path> cp) {
        Class<?> c;
        try {
            c = Class.forName(name, initialize, loader);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("app class " + name + " not found on " + where(cp));
        } catch (LinkageError e) {
            if (e instanceof ExceptionInInitializerError) throw e;
            throw new IllegalArgumentException("app class " + name + " cannot be loaded: " + e);
        }
        if (!WorkerApp.class.isAssignableFrom(c)) {
            throw new IllegalArgumentException("app class " + name + " does not implement " + WorkerApp.class.getName());
        }
        if (c.isInterface() || Modifier.isAbstract(c.getModifiers())) {
            throw new IllegalArgumentException("app class " + name + " is abstract; name a concrete class");
        }
        return c.asSubclass(WorkerApp.class);
    }

    private static Constructor<? extends WorkerApp> constructor(Class<? extends WorkerApp> c) {
        if (!Modifier.isPublic(c.getModifiers())) {
            throw new IllegalArgumentException("app class " + c.getName() + " is not public");
        }
        try {
            return c.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("app class " + c.getName() + " has no public no-arg constructor");
        }
    }

    private static String where(List<Path> cp) {
        return cp.isEmpty() ? "Knot's class path (give its jars or directories with --classpath)"
                : "the class path " + String.join(java.io.File.pathSeparator, cp.stream().map(Path::toString).toList());
    }

    private static boolean onKnotClassPath(String name) {
        try {
            Class.forName(name, false, WorkerApp.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * Where Knot's examples jar is: {@code -Dknot.examples.jar}, else next to Knot's own jar ({@code examples/}
     * beside {@code knot-VERSION.jar}, as {@code mvn package} lays them out in {@code target/}), else
     * {@code ../examples/} of Knot's class directory in a build tree.
     *
     * @return the jar, if there is one
     */
    public static Optional<Path> examplesJar() {
        for (Path p : examplesJarCandidates()) if (Files.isRegularFile(p)) return Optional.of(p);
        return Optional.empty();
    }

    private static List<Path> examplesJarCandidates() {
        List<Path> l = new ArrayList<>();
        String prop = System.getProperty(EXAMPLES_JAR_PROPERTY);
        if (prop != null && !prop.isEmpty()) {
            l.add(Path.of(prop));
            return l;
        }
        Path knot;
        try {
            knot = Path.of(WorkerApp.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            return l;
        }
        String name = knot.getFileName().toString();
        if (Files.isRegularFile(knot) && name.startsWith("knot-") && name.endsWith(".jar")) {
            String version = name.substring("knot-".length(), name.length() - ".jar".length());
            l.add(knot.resolveSibling("examples").resolve("knot-examples-" + version + ".jar"));
            l.add(knot.resolveSibling("knot-examples-" + version + ".jar"));
        } else if (Files.isDirectory(knot) && knot.getParent() != null) {
            Path dir = knot.getParent().resolve("examples");
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().matches("knot-examples-.*\\.jar")).sorted().forEach(l::add);
            } catch (IOException e) {
                l.add(dir.resolve("knot-examples-VERSION.jar"));
            }
        }
        return l;
    }
}
