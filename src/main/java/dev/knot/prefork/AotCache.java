// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.fork.ForkPolicy;
import dev.knot.fork.Handoff;
import dev.knot.fork.Spawner;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The workers' AOT cache (JEP 483, trained in one step as JEP 514 allows): the master trains it once, by running a
 * worker of the app with {@code -XX:AOTCacheOutput} until it has started and served for a moment, and then starts
 * every worker with {@code -XX:AOTCache}, so that a worker's JVM finds the classes it needs already loaded and
 * linked.
 *
 * <p>The cache file is named by a hash of what decides its validity: the JDK (its home and version), the worker's
 * JVM options, every class path entry of Knot's and the app's (each file's path, size and modification time; a
 * directory's files likewise) and the app class. When any of them changes the name changes, so the cache is
 * trained again and the old files are removed. A cache the JVM cannot use (damaged, or made by another JVM) only
 * makes it print a warning and start without one: a worker never fails because of it.
 *
 * <p>What JDK 25 keeps out of the cache, as {@code -Xlog:aot} and {@code -Xlog:class+load} show it (checked
 * against JEP 483/514/515: Knot's class path entries are jars, the same in training and use, and the cache is
 * written in one step with {@code -XX:AOTCacheOutput}): the classes the app's own class loader ({@code --classpath})
 * defines (the assembly step processes them, but a worker loads them from their jar again), and everything the
 * FFM linker generates when a downcall is first linked: the binding stubs ({@code DowncallStub}), about 170
 * {@code LambdaForm$MH} classes and the {@code BoundMethodHandle} species ("Skipping ... because it is dynamically
 * generated"). A worker links about 16 downcalls before it is ready, so that linking, not class loading, is most of
 * what the cache leaves of a worker's start-up (benchmarks/RESULTS.md).
 *
 * <p>Threading: {@link #prepare} runs on the master's thread before its loop starts, and blocks while it trains.
 */
final class AotCache {
    /** How long the training worker runs after it reported ready, exercising its start-up path. */
    static final long TRAIN_MILLIS = 1500;
    /** A training run (start, serve, write the cache) that takes longer is killed; the workers run without a cache. */
    static final long TRAIN_TIMEOUT_MILLIS = 180_000;

    /** The last line of every outcome without a cache. */
    static final String WITHOUT = "AOT cache: workers start without a cache";

    private AotCache() {}

    /**
     * The JVM options that give workers the cache: {@code -XX:AOTCache=FILE} once the cache exists (training it
     * first if it does not), or none if training failed.
     *
     * @param dir the cache directory (created if missing)
     * @param workerCommand a worker's whole command line, as the master would spawn it, without cache options: the
     *                      JVM is its first element and the main class follows the JVM options
     * @param environment a worker's environment, without the hand-off variables
     * @param appClassPath the app's class path entries (part of the key)
     * @param log where to say what happened
     * @return JVM options to insert after the JVM in every worker's command
     */
    static List<String> prepare(Path dir, List<String> workerCommand, Map<String, String> environment, List<Path> appClassPath,
                                Consumer<String> log) {
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isEmpty() && Files.isDirectory(Path.of(e))) {
                log.accept("AOT cache: the JVM archives classes from jars only, and Knot's class path has the directory " + e);
                log.accept(WITHOUT);
                return List.of();
            }
        }
        Path cache;
        try {
            Files.createDirectories(dir);
            cache = dir.resolve("knot-" + key(workerCommand, appClassPath) + ".aot");
        } catch (IOException e) {
            log.accept("AOT cache: cannot use " + dir + " (" + e.getMessage() + ")");
            log.accept(WITHOUT);
            return List.of();
        }
        if (Files.isRegularFile(cache)) {
            String refusal = check(workerCommand, cache);
            if (refusal == null) {
                log.accept("AOT cache: workers start with " + cache);
                return List.of("-XX:AOTCache=" + cache);
            }
            log.accept("AOT cache: the JVM cannot use " + cache + " (" + refusal + "); training it again");
            try {
                Files.delete(cache);
            } catch (IOException e) {
                log.accept("AOT cache: cannot remove " + cache + " (" + e.getMessage() + ")");
                log.accept(WITHOUT);
                return List.of();
            }
        }
        long t0 = System.nanoTime();
        log.accept("AOT cache: training " + cache + " (first start of this app and JDK)");
        Path tmp = dir.resolve(cache.getFileName() + ".training");
        try {
            Files.deleteIfExists(tmp);
            int status = train(workerCommand, environment, tmp);
            if (status != 0 || !Files.isRegularFile(tmp) || Files.size(tmp) == 0) {
                log.accept("AOT cache: training failed (" + describe(status) + ")");
                log.accept(WITHOUT);
                return List.of();
            }
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            removeStale(dir, cache);
            log.accept("AOT cache: trained in " + (System.nanoTime() - t0) / 1_000_000 + " ms (" + Files.size(cache) / 1024 + " KiB)");
            log.accept("AOT cache: workers start with " + cache);
            return List.of("-XX:AOTCache=" + cache);
        } catch (IOException | RuntimeException e) {
            log.accept("AOT cache: training failed (" + e + ")");
            log.accept(WITHOUT);
            return List.of();
        } finally {
            try {
                Files.deleteIfExists(tmp);
                Files.deleteIfExists(Path.of(tmp + ".config"));
            } catch (IOException ignored) {
                // best effort: a later training replaces it
            }
        }
    }

    /**
     * Runs one worker as a real one (inherited listener and control channel, the master's registrations copied)
     * on a listener of its own, with {@code -XX:AOTCacheOutput}; it drains itself after {@link #TRAIN_MILLIS}.
     *
     * @return its wait status, or -1 if it was killed at the timeout
     */
    private static int train(List<String> workerCommand, Map<String, String> environment, Path output) throws IOException {
        List<String> cmd = new ArrayList<>(workerCommand);
        cmd.add(1, "-XX:AOTCacheOutput=" + output);
        cmd.addAll(List.of("--train-ms", Long.toString(TRAIN_MILLIS)));
        try (ListenSocket listener = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
             Selector template = Selector.open();
             EventLoop loop = EventLoop.open()) {
            StreamSocket[] pair = StreamSocket.pair();
            try {
                template.register(listener, Selector.OP_READ, null);
                template.watch(Master.HEARTBEAT_TIMER, EVFILT_TIMER, 0, 0, 1000, null);
                template.selectNow();
                int pid;
                try (Handoff h = new Handoff(ForkPolicy.COPY).fd(Master.CONTROL_FD, pair[1].fd()).fd(Master.LISTEN_FD + 0, listener.fd())) {
                    h.prepare(template);
                    Map<String, String> env = new java.util.LinkedHashMap<>(environment);
                    env.putAll(h.environment());
                    pid = Spawner.spawn(new Spawner.Spec(cmd, env, h.fds(), null, null));
                }
                pair[1].close();
                int[] status = {-1};
                loop.watch(pid, EVFILT_PROC, 0, NOTE_EXIT, 0, k -> {
                    status[0] = Spawner.reap(pid, true);
                    loop.shutdownNow();
                });
                loop.schedule(() -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly), TRAIN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                loop.run();
                return status[0];
            } finally {
                pair[0].close();
                pair[1].close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Starts the worker's JVM (its options and class path, no main class) with the cache and {@code -XX:AOTMode=on},
     * under which a cache that does not load is an error instead of a warning.
     *
     * @return null if the cache loads, else the JVM's first complaint
     */
    static String check(List<String> workerCommand, Path cache) {
        int main = workerCommand.indexOf(WorkerMain.class.getName());
        List<String> cmd = new ArrayList<>(workerCommand.subList(0, main < 0 ? workerCommand.size() : main));
        cmd.addAll(1, List.of("-XX:AOTCache=" + cache, "-XX:AOTMode=on"));
        cmd.add("-version");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();      // ends when the JVM exits (-version is quick)
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "the check did not finish in 30 s";
            }
            if (p.exitValue() == 0) return null;
            String text = new String(out, StandardCharsets.UTF_8);
            return text.lines().filter(l -> l.contains("[aot]") || l.contains("Error")).findFirst()
                    .orElse("exit code " + p.exitValue()).replaceFirst("^(\\[[^\\]]*\\])+ *", "");
        } catch (IOException | RuntimeException e) {
            return "cannot run the check: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static String describe(int status) {
        if (status < 0) return "no exit status";
        return Spawner.termSignal(status) != 0 ? "killed by signal " + Spawner.termSignal(status) : "exit code " + Spawner.exitCode(status);
    }

    private static void removeStale(Path dir, Path keep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!p.equals(keep) && n.startsWith("knot-") && n.endsWith(".aot")) Files.deleteIfExists(p);
            }
        }
    }

    /** A hash of everything that decides whether a cache fits: JDK, JVM options, class path files, app. */
    static String key(List<String> workerCommand, List<Path> appClassPath) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Consumer<String> add = s -> md.update((s + "\0").getBytes(StandardCharsets.UTF_8));
        add.accept(System.getProperty("java.home"));
        add.accept(System.getProperty("java.vm.version"));
        add.accept(System.getProperty("java.runtime.version"));
        int main = workerCommand.indexOf(WorkerMain.class.getName());
        // The JVM options and the app class; not the per-worker arguments (slot, generation).
        workerCommand.subList(0, main < 0 ? workerCommand.size() : main).forEach(add);
        int app = workerCommand.indexOf("--app");
        if (app >= 0 && app + 1 < workerCommand.size()) add.accept(workerCommand.get(app + 1));
        List<Path> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) if (!e.isEmpty()) entries.add(Path.of(e));
        entries.addAll(appClassPath);
        for (Path p : entries) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    for (Path f : s.filter(Files::isRegularFile).sorted().toList()) stamp(f, add);
                }
            } else if (Files.exists(p)) {
                stamp(p, add);
            } else {
                add.accept(p + " missing");
            }
        }
        return HexFormat.of().formatHex(md.digest(), 0, 12);
    }

    private static void stamp(Path f, Consumer<String> add) throws IOException {
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
        add.accept(f.toAbsolutePath() + " " + a.size() + " " + a.lastModifiedTime().toMillis());
    }
}
