// SPDX-License-Identifier: Apache-2.0
package dev.knot;

import dev.knot.prefork.AppLoader;
import dev.knot.prefork.Master;

import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The entry point of {@code java -jar knot.jar}: the prefork server (default: the example HTTP server on
 * 127.0.0.1:8080, 2 workers; see {@code --help}), or {@code demo} for a tour of the kqueue surface.
 *
 * <p>The demo is an example, so it lives in the examples jar, not in this one: {@code demo} loads it from there
 * ({@link AppLoader#examplesJar()}).
 */
public final class Main {
    private Main() {}

    static final String DEMO = "dev.knot.examples.KqueueDemo";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("demo")) {
            demo(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(dev.knot.prefork.PreforkConfig.usage());
            return;
        }
        Master.main(args);
    }

    private static void demo(String[] args) throws Exception {
        Path jar = AppLoader.examplesJar().orElse(null);
        if (jar == null) {
            System.err.println("knot: the demo lives in Knot's examples jar (target/examples/knot-examples-VERSION.jar), which was not "
                    + "found next to this jar; build it with 'mvn package' or set -D" + AppLoader.EXAMPLES_JAR_PROPERTY + "=JAR");
            System.exit(64);
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, Main.class.getClassLoader())) {
            Class.forName(DEMO, true, loader).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }
}
