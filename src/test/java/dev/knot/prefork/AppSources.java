// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/** Apps compiled at test time into a temporary directory, outside Knot's jar and the test class path. */
final class AppSources implements AutoCloseable {
    final Path dir;

    AppSources() throws IOException {
        dir = Files.createTempDirectory("knot-app");
    }

    /** Compiles {@code sources} (binary class name to source) into {@link #dir}, against the test class path. */
    AppSources compile(Map<String, String> sources) throws IOException {
        Path src = Files.createTempDirectory("knot-app-src");
        try {
            List<String> args = new ArrayList<>(List.of("--release", "25", "-proc:none", "-cp", System.getProperty("java.class.path"),
                    "-d", dir.toString()));
            for (var e : sources.entrySet()) {
                Path f = src.resolve(e.getKey().replace('.', '/') + ".java");
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue());
                args.add(f.toString());
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
            int rc = javac.run(null, err, err, args.toArray(String[]::new));
            assertTrue(rc == 0, "javac failed:\n" + err);
            return this;
        } finally {
            delete(src);
        }
    }

    /**
     * A WorkerApp that answers every connection with one line, {@code <answer> slot <slot> args <args>}, then closes
     * it: attached to the restored listener key when there is one.
     */
    static String greeter(String className, String answer) {
        int dot = className.lastIndexOf('.');
        return """
            package %s;

            import dev.knot.loop.EventLoop;
            import dev.knot.loop.Key;
            import dev.knot.loop.Selector;
            import dev.knot.net.ListenSocket;
            import dev.knot.prefork.WorkerApp;
            import dev.knot.prefork.WorkerContext;
            import java.lang.foreign.Arena;
            import java.nio.charset.StandardCharsets;

            public class %s implements WorkerApp {
                public void start(WorkerContext ctx) {
                    for (int i = 0; i < ctx.listeners().size(); i++) {
                        ListenSocket l = ctx.listeners().get(i);
                        EventLoop.Handler h = k -> l.acceptAll(ctx.loop(), k, s -> {
                            try (Arena a = Arena.ofConfined(); s) {
                                String line = "%s slot " + ctx.slot() + " args " + ctx.args() + "\\n";
                                var m = a.allocateFrom(line, StandardCharsets.US_ASCII);
                                s.write(m.asSlice(0, line.length()));
                            }
                            ctx.requestDone();
                        });
                        Key key = ctx.listenKey(i);
                        if (key != null) ctx.loop().attach(key, h);
                        else ctx.loop().register(l.fd(), Selector.OP_READ, h);
                    }
                }
            }
            """.formatted(className.substring(0, dot), className.substring(dot + 1), answer);
    }

    /** Connects, reads the one line a greeter sends. */
    static String line(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
    }

    static void delete(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Override
    public void close() throws IOException {
        delete(dir);
    }
}
