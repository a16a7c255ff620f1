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

    record WorkerInfo(int slot, int pid, int generation, String state, long requests) {}

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

    /** As {@link #startMain(String, List, String...)}, with the master JVM on another class path. */
    static MasterProcess startMain(String classPath, String mainClass, List<String> shellPrefix, String... options) throws Exception {
        Path dir = Files.createTempDirectory("knot-ctl");       // rwx------, as the master wants
        Path log = Files.createTempFile("knot-master", ".log");
        List<String> cmd = new ArrayList<>(ChildJvm.command(classPath, List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1"), mainClass, "--listen", "127.0.0.1:0", "--control-dir", dir.toString(),
                "--worker-jvm-arg", "-XX:+UseSerialGC", "--worker-jvm-arg", "-XX:TieredStopAtLevel=1", "--heartbeat-ms", "200"));
        cmd.addAll(List.of(options));
        if (!shellPrefix.isEmpty()) {
            List<String> sh = new ArrayList<>(List.of("/bin/sh", "-c", String.join("; ", shellPrefix) + "; exec \"$@\"", "sh"));
            sh.addAll(cmd);
            cmd = sh;
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Pattern listening = Pattern.compile("listening on /127\\.0\\.0\\.1:(\\d+)");
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            Matcher m = listening.matcher(Files.readString(log));
            if (m.find()) {
                MasterProcess mp = new MasterProcess(p, dir, log, Integer.parseInt(m.group(1)));
                return mp;
            }
            if (!p.isAlive()) break;
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new AssertionError("the master did not start:\n" + Files.readString(log));
    }

    String ctl(String command) throws IOException {
        return Ctl.send(dir.resolve("control.sock"), command);
    }

    List<WorkerInfo> workers() throws IOException {
        List<WorkerInfo> l = new ArrayList<>();
        for (String line : ctl("workers").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || !f[0].matches("\\d+")) continue;
            l.add(new WorkerInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]), f[3], Long.parseLong(f[5])));
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
        try (var s = Files.list(dir)) {
            s.forEach(p -> p.toFile().delete());
        }
        Files.deleteIfExists(dir);
        Files.deleteIfExists(log);       // a failing test has put the log in its assertion message already
    }
}
