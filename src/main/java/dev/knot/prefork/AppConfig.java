// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which {@link WorkerApp} the workers run, from where, with which arguments, and where the master keeps the AOT
 * cache of the workers' JVMs.
 *
 * @param appClass the app's binary class name ({@link AppLoader#DEFAULT_APP} is the example HTTP server)
 * @param classPath the user's jars and class directories, loaded by each worker through its own class loader whose
 *                  parent is the loader that has Knot; empty when the app is on Knot's own class path
 * @param args the app's arguments ({@link WorkerContext#args()})
 * @param aotCacheDir where the master trains and keeps the workers' AOT cache (JEP 483/514), or null for none
 */
public record AppConfig(String appClass, List<Path> classPath, List<String> args, Path aotCacheDir) {
    /**
     * Checks the values are well formed (what they name is checked by {@link AppLoader#resolve}).
     *
     * @throws IllegalArgumentException if the class name is blank
     * @throws NullPointerException if a list or an element is null
     */
    public AppConfig {
        classPath = List.copyOf(classPath);
        args = List.copyOf(args);
        if (appClass == null || appClass.isBlank()) throw new IllegalArgumentException("--app needs a class name");
    }

    /**
     * The example HTTP server from Knot's examples jar, no arguments, no AOT cache.
     *
     * @return the default
     */
    public static AppConfig defaults() {
        return new AppConfig(AppLoader.DEFAULT_APP, List.of(), List.of(), null);
    }

    /**
     * The options of this record taken out of a command line, and what is left for {@link PreforkConfig#parse}.
     *
     * @param app the app settings
     * @param rest the other options, in order
     */
    public record Parsed(AppConfig app, String[] rest) {}

    /**
     * Takes {@code --app CLASS}, {@code --classpath PATH[:PATH...]} (repeatable, entries add up),
     * {@code --app-arg ARG} (repeatable) and {@code --aot-cache DIR} out of {@code args}.
     *
     * @param args a master's command line
     * @return the settings and the remaining options
     * @throws IllegalArgumentException if one of these options has no value, or a class path entry is empty
     */
    public static Parsed parse(String[] args) {
        String app = AppLoader.DEFAULT_APP;
        List<Path> cp = new ArrayList<>();
        List<String> appArgs = new ArrayList<>();
        Path aot = null;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--app" -> app = value(args, ++i, a);
                case "--classpath" -> cp.addAll(splitClassPath(value(args, ++i, a)));
                case "--app-arg" -> appArgs.add(value(args, ++i, a));
                case "--aot-cache" -> aot = Path.of(value(args, ++i, a));
                // The example HTTP server's limits, as app arguments (HttpServer.Config.with checks them).
                case "--max-connections", "--header-timeout-ms", "--idle-timeout-ms", "--body-timeout-ms" -> {
                    appArgs.add(a);
                    appArgs.add(value(args, ++i, a));
                }
                default -> rest.add(a);
            }
        }
        return new Parsed(new AppConfig(app, cp, appArgs, aot), rest.toArray(String[]::new));
    }

    /**
     * Splits a class path at {@code :}.
     *
     * @param s entries separated by the path separator
     * @return the entries, in order
     * @throws IllegalArgumentException if an entry is empty
     */
    static List<Path> splitClassPath(String s) {
        List<Path> l = new ArrayList<>();
        for (String e : s.split(java.io.File.pathSeparator, -1)) {
            if (e.isEmpty()) throw new IllegalArgumentException("--classpath has an empty entry: '" + s + "'");
            l.add(Path.of(e));
        }
        return l;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    /**
     * This app with another class path.
     *
     * @param cp the new class path
     * @return a copy with {@code cp}
     */
    AppConfig withClassPath(List<Path> cp) {
        return new AppConfig(appClass, cp, args, aotCacheDir);
    }

    /**
     * The worker's command-line arguments that carry these settings to {@link WorkerMain}.
     *
     * @return {@code --app CLASS [--classpath CP] [--app-arg ARG]...}
     */
    List<String> workerArgs() {
        List<String> l = new ArrayList<>(Arrays.asList("--app", appClass));
        if (!classPath.isEmpty()) {
            l.add("--classpath");
            l.add(String.join(java.io.File.pathSeparator, classPath.stream().map(Path::toString).toList()));
        }
        for (String a : args) {
            l.add("--app-arg");
            l.add(a);
        }
        return l;
    }

    /** The usage lines of these options. */
    static String usage() {
        return """
              [--app CLASS] [--classpath PATH[:PATH...]] [--app-arg ARG]... [--aot-cache DIR]
            --app names the WorkerApp each worker runs (default: the example HTTP server, from the examples jar);
            --classpath gives the jars and class directories it is loaded from; --app-arg passes an argument to it;
            --aot-cache DIR trains an AOT cache for the workers' JVMs once (per app class path and JDK) and starts
            every worker with it.
              [--max-connections N] [--header-timeout-ms MS] [--idle-timeout-ms MS] [--body-timeout-ms MS]
            the example HTTP server's limits per worker, passed to it as app arguments (defaults: the descriptor
            limit less 64 connections, a 10 s header-read timeout, 30 s keep-alive idle and request-body timeouts).""";
    }
}
