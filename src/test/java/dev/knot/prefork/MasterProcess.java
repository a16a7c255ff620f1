// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.testing.ChildJvm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A prefork master running as a real child JVM, with its own control directory and log. */
final class MasterProcess implements AutoCloseable {
    final Process process;
    final Path dir;
    final Path log;
    final int port;
    final java.util.Set<Integer> seenWorkers = new java.util.concurrent.ConcurrentSkipListSet<>();

    record WorkerInfo(int slot, int pid, int generation, String state, long requests, long connections) {}

    private MasterProcess(Process process, Path dir, Path log, int port) {
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
    }

    /** Starts {@code Master} with these options (plus a fresh control directory and port 0), waits until it serves. */
    static MasterProcess start(String... options) throws Exception {
        return start(List.of(), options);
    }

    /** As {@link #start(String...)}, with a shell prefix run before exec (e.g. opening extra descriptors). */
    static MasterProcess start(List<String> shellPrefix, String... options) throws Exception {
        return startMain("dev.knot.prefork.Master", shellPrefix, options);
    }

    /** As {@link #start(List, String...)}, with another main class that takes the master's options. */
    static MasterProcess startMain(String mainClass, List<String> shellPrefix, String... options) throws Exception {
        return startMain(ChildJvm.classPath(), mainClass, shellPrefix, options);
    }

    /**
     * The test class path with each class directory replaced by a jar of it in {@code dir}: a master (and its
     * workers) on it load classes as a deployed one does, without opening a file per class.
     */
    static String jarredClassPath(Path dir) throws IOException {
        List<String> entries = new java.util.ArrayList<>();
        for (String e : ChildJvm.classPath().split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (!Files.isDirectory(p)) {
                entries.add(e);
                continue;
            }
            Path jar = dir.resolve(entries.size() + ".jar");
            jar(p, jar);
            entries.add(jar.toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** A jar of a class directory. */
    static void jar(Path classes, Path jar) throws IOException {
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar)); var files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new java.util.jar.JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }

    /** As {@link #startMain(String, List, String...)}, with the master JVM on another class path. */
    static MasterProcess startMain(String classPath, String mainClass, List<String> shellPrefix, String... options) throws Exception {
        Path dir = Files.createTempDirectory("knot-ctl");       // rwx------, as the master wants
        Path log = Files.createTempFile("knot-master", ".log");
        Process p = new ProcessBuilder(command(classPath, mainClass, shellPrefix, dir, options)).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        Pattern listening = Pattern.compile("listening on /127\\.0\\.0\\.1:(\\d+)");
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            Matcher m = listening.matcher(Files.readString(log));
            if (m.find()) {
                MasterProcess mp = new MasterProcess(p, dir, log, Integer.parseInt(m.group(1)));
                // The control socket opens after binding (and after an AOT training, which may take a while).
                long ctlDeadline = System.currentTimeMillis() + 240_000;
                while (!Files.readString(log).contains("control socket ") && p.isAlive() && System.currentTimeMillis() < ctlDeadline) {
                    Thread.sleep(50);
                }
                return mp;
            }
            if (!p.isAlive()) break;
            Thread.sleep(50);
        }
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        String text = Files.readString(log);
        deleteTree(dir);
        Files.deleteIfExists(log);
        throw new AssertionError("the master did not start:\n" + text);
    }

    /**
     * The master's command line: a fresh control directory (also its lock directory unless the options name one),
     * port 0 unless the options give --listen or --port, fast-starting JVM options and 200 ms heartbeats.
     */
    static List<String> command(List<String> shellPrefix, Path dir, String... options) {
        return command("dev.knot.prefork.Master", shellPrefix, dir, options);
    }

    /** As {@link #command(List, Path, String...)} with another main class that takes the master's options. */
    static List<String> command(String mainClass, List<String> shellPrefix, Path dir, String... options) {
        return command(ChildJvm.classPath(), mainClass, shellPrefix, dir, options);
    }

    /** As {@link #command(String, List, Path, String...)}, with the master JVM on another class path. */
    static List<String> command(String classPath, String mainClass, List<String> shellPrefix, Path dir, String... options) {
        List<String> opts = List.of(options);
        List<String> args = new ArrayList<>();
        if (!opts.contains("--listen") && !opts.contains("--port")) args.addAll(List.of("--listen", "127.0.0.1:0"));
        args.addAll(List.of("--control-dir", dir.toString()));
        if (!opts.contains("--lock-dir")) args.addAll(List.of("--lock-dir", dir.toString()));
        args.addAll(List.of("--worker-jvm-arg", "-XX:+UseSerialGC", "--worker-jvm-arg", "-XX:TieredStopAtLevel=1", "--heartbeat-ms", "200"));
        args.addAll(opts);
        List<String> cmd = new ArrayList<>(ChildJvm.command(classPath, List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"), mainClass, args.toArray(String[]::new)));
        if (!shellPrefix.isEmpty()) {
            List<String> sh = new ArrayList<>(List.of("/bin/sh", "-c", String.join("; ", shellPrefix) + "; exec \"$@\"", "sh"));
            sh.addAll(cmd);
            cmd = sh;
        }
        return cmd;
    }

    /** The exit status and output of a master expected to fail at start. */
    record Exit(int code, String log) {}

    /** Runs a master that is expected to exit by itself within 30 s (a start-up failure); its control dir is fresh. */
    static Exit runToExit(String... options) throws Exception {
        return runToExit(List.of(), options);
    }

    /** As {@link #runToExit(String...)}, the command run by {@code wrapper} (e.g. setpriv). */
    static Exit runToExit(List<String> wrapper, String... options) throws Exception {
        Path dir = Files.createTempDirectory("knot-ctl");
        try {
            List<String> cmd = new ArrayList<>(wrapper);
            cmd.addAll(command(List.of(), dir, options));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the master did not exit:\n" + out);
            }
            return new Exit(p.exitValue(), out);
        } finally {
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                p.toFile().setWritable(true);
                Files.deleteIfExists(p);
            }
        }
    }

    String ctl(String command) throws IOException {
        return Ctl.send(dir.resolve("control.sock"), command);
    }

    List<WorkerInfo> workers() throws IOException {
        List<WorkerInfo> l = new ArrayList<>();
        for (String line : ctl("workers").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 7 || !f[0].matches("\\d+")) continue;
            l.add(new WorkerInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]), f[3], Long.parseLong(f[5]), Long.parseLong(f[6])));
            seenWorkers.add(Integer.parseInt(f[1]));
        }
        return l;
    }

    /** Waits until {@code n} workers of the given generation (0: any) report ready. */
    List<WorkerInfo> awaitReady(int n, int generation, long millis) throws Exception {
        long deadline = System.currentTimeMillis() + millis;
        List<WorkerInfo> w = List.of();
        while (System.currentTimeMillis() < deadline) {
            w = workers();
            long ready = w.stream().filter(x -> x.state.equals("ready") && (generation == 0 || x.generation == generation)).count();
            if (ready == n && w.size() == n) return w;
            Thread.sleep(50);
        }
        throw new AssertionError("expected " + n + " ready workers (generation " + generation + "), have " + w + "\n" + logText());
    }

    String logText() throws IOException {
        return Files.readString(log);
    }

    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline) {
            if (condition.getAsBoolean()) return;
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting for " + what);
    }

    /** True while the process runs; a zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
    static boolean alive(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    /** One request on its own connection; returns the whole response, or throws. */
    static String get(int port, String path) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    static boolean complete200(String response) {
        return response.startsWith("HTTP/1.1 200 OK\r\n") && response.endsWith("\r\n\r\nHello, World!");
    }

    static void kill(int pid, int sig) {
        dev.knot.bindings.linux.signal_h.kill(dev.knot.system.CallState.forThread(), pid, sig);
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        // Workers of a killed master leave on their own; make sure none stays behind for the next test.
        for (int pid : seenWorkers) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        deleteTree(dir);
        Files.deleteIfExists(log);       // a failing test has put the log in its assertion message already
    }
}
