// SPDX-License-Identifier: Apache-2.0
package dev.knot.net;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;
import dev.knot.sys.Errno;
import dev.knot.system.Fds;
import dev.knot.testing.Posix;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The child of {@link AcceptPauseTest}: queues connections on a listener, lowers its own descriptor limit so that
 * accepting them runs out, and reports what the loop did. Prints its findings; exits 1 on anything unexpected.
 */
public final class AcceptPauseChild {
    static final int CLIENTS = 100;

    public static void main(String[] args) throws Exception {
        // Classes are read from directories here, and opening a class file needs a descriptor: load them all now.
        preloadKnotClasses();
        long pid = ProcessHandle.current().pid();
        String[] limit = Files.readAllLines(Path.of("/proc/self/limits")).stream()
                .filter(s -> s.startsWith("Max open files")).findFirst().orElseThrow().substring(26).trim().split("\\s+");

        EventLoop loop = EventLoop.open();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        List<StreamSocket> accepted = Collections.synchronizedList(new ArrayList<>());
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        loop.onError(errors::add);
        List<String> log = new CopyOnWriteArrayList<>();
        loop.onLog(log::add);
        List<Integer> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) clients.add(Posix.tcpConnect(l.port()));   // they wait in the queue
        loop.start("accept");
        // Fill the holes below the highest descriptor, so that the limit leaves exactly 10 numbers free.
        int highest = Fds.openDescriptors().stream().mapToInt(Integer::intValue).max().orElseThrow();
        List<Integer> fillers = new ArrayList<>();
        int filler;
        do {
            filler = Posix.open("/dev/null", dev.knot.bindings.linux.fcntl_h.O_RDONLY);
            fillers.add(filler);
        } while (filler < highest);
        int soft = Math.max(highest, filler) + 1 + 10;
        // Restoring must not need a descriptor (a spawn needs pipes): start the restorer now, release it later.
        Process restorer = new ProcessBuilder("/bin/sh", "-c", "read go; exec /usr/bin/prlimit --pid " + pid + " --nofile=" + limit[0] + ":" + limit[1])
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Process lower = new ProcessBuilder("/usr/bin/prlimit", "--pid", Long.toString(pid), "--nofile=" + soft + ":" + limit[1])
                .inheritIO().start();
        check(lower.waitFor(10, TimeUnit.SECONDS) && lower.exitValue() == 0, "prlimit failed");

        loop.execute(() -> loop.register(l.fd(), Selector.OP_READ, k -> l.acceptAll(loop, k, accepted::add)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (errors.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
        long before = loop.metrics().iterations();
        Thread.sleep(300);
        long iterations = loop.metrics().iterations() - before;
        int acceptedBefore = accepted.size();

        restorer.getOutputStream().write('\n');
        restorer.getOutputStream().close();
        check(restorer.waitFor(10, TimeUnit.SECONDS) && restorer.exitValue() == 0, "restoring the limit failed");

        check(!errors.isEmpty(), "no pause reported; accepted " + acceptedBefore);
        Throwable report = errors.get(0);
        check(report.getMessage().contains("paused") && report.getCause() instanceof ErrnoException, String.valueOf(report));
        System.out.println("paused: " + Errno.name(((ErrnoException) report.getCause()).errno()) + " (" + report.getMessage() + ")");
        System.out.println("iterations while out of descriptors: " + iterations + " in 300 ms");
        System.out.println("accepted before the pause: " + acceptedBefore + " of " + CLIENTS);

        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (accepted.size() < CLIENTS && System.nanoTime() < deadline) Thread.sleep(10);
        check(accepted.size() == CLIENTS, "accepted " + accepted.size() + " of " + CLIENTS + " after the limit was restored");
        // The shortage ends when the queue is drained: the resume line follows the last accept.
        while (log.stream().noneMatch(m -> m.contains("resumed after")) && System.nanoTime() < deadline) Thread.sleep(10);
        // One report when the shortage began, one line when it ended: not one per 100 ms retry.
        check(errors.size() == 1, "reports during the shortage (one expected): " + errors);
        check(log.stream().filter(m -> m.contains("resumed after")).count() == 1, "no single resume line: " + log);
        System.out.println("log: " + log);
        System.out.println("resumed: all accepted");
        loop.close();
        synchronized (accepted) {
            for (StreamSocket s : accepted) s.close();
        }
        l.close();
        for (int fd : clients) Posix.rawClose(fd);
        for (int fd : fillers) Posix.rawClose(fd);
    }

    private static void preloadKnotClasses() throws Exception {
        ClassLoader loader = AcceptPauseChild.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path root = Path.of(entry);
            if (!Files.isDirectory(root)) continue;
            try (var files = Files.walk(root)) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                    String name = root.relativize(f).toString().replace(java.io.File.separatorChar, '.');
                    if (!name.startsWith("dev.knot.") || name.endsWith("module-info.class")) continue;
                    try {
                        Class.forName(name.substring(0, name.length() - ".class".length()), false, loader);
                    } catch (LinkageError | ClassNotFoundException e) {
                        // a test class whose test framework is not on this class path: not needed here
                    }
                }
            }
        }
    }

    private static void check(boolean ok, String what) {
        if (ok) return;
        System.out.println("FAIL " + what);
        System.exit(1);
    }
}
