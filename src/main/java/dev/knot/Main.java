package dev.knot;

import dev.knot.examples.KqueueDemo;
import dev.knot.prefork.Master;

/**
 * The entry point of {@code java -jar knot.jar}: the prefork HTTP server (default 127.0.0.1:8080, 2 workers; see
 * {@code --help}), or {@code demo} for a tour of the kqueue surface.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("demo")) {
            KqueueDemo.main(java.util.Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(dev.knot.prefork.PreforkConfig.usage());
            return;
        }
        Master.main(args);
    }
}
