// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class that leaves descriptors open: compares /proc/self/fd before and after the class. Descriptors
 * the JVM opens lazily for itself and keeps (jar files of the class path, the JDK's modules image, the random devices
 * of SecureRandom, which File.createTempFile uses) are not counted, and the rings of Knot's io_uring pool are opened
 * before the count ({@link Rings}).
 */
public final class NoFdLeaks implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoFdLeaks.class);

    static Map<Integer, String> snapshot() throws IOException {
        Map<Integer, String> m = new HashMap<>();
        for (int fd : dev.knot.system.Fds.openDescriptors()) {
            String target;
            try {
                target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            } catch (IOException gone) {
                continue;
            }
            if (target.endsWith(".jar") || target.endsWith("/modules") || target.endsWith(".jsa")
                    || target.equals("/dev/random") || target.equals("/dev/urandom")) continue;
            m.put(fd, target);
        }
        return m;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        // Knot's pool of io_uring rings opens its rings once per process and keeps them: open them before counting.
        Rings.warmPool();
        context.getStore(NS).put("fds", snapshot());
    }

    @Override
    @SuppressWarnings("unchecked")
    public void afterAll(ExtensionContext context) throws Exception {
        Map<Integer, String> before = (Map<Integer, String>) context.getStore(NS).get("fds");
        Map<Integer, String> after = snapshot();
        List<String> leaked = new ArrayList<>();
        after.forEach((fd, target) -> {
            if (!target.equals(before.get(fd))) leaked.add(fd + " -> " + target);
        });
        if (!leaked.isEmpty()) throw new AssertionError(context.getDisplayName() + " leaked descriptors: " + leaked);
    }
}
