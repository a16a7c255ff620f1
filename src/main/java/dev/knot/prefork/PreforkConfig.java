package dev.knot.prefork;

import dev.knot.fork.ForkPolicy;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a prefork master runs: what it listens on, how many workers, how it watches and restarts them.
 *
 * @param listen addresses to bind (ignored for those adopted through systemd's LISTEN_FDS)
 * @param workers workers to keep running
 * @param reusePort give every worker its own SO_REUSEPORT socket per address (the kernel balances between them)
 *                  instead of one shared listener
 * @param controlDir directory of the control socket; only its owner may enter it
 * @param forkPolicy COPY: workers start with the registrations of the master's worker template (the listeners'
 *                   READ knotes and the heartbeat timer); DROP: workers register them themselves
 * @param heartbeatInterval how often a worker reports
 * @param heartbeatTimeout a worker silent for longer is killed (SIGKILL) and replaced
 * @param bootTimeout how long a new worker may take to report ready
 * @param backoffBase first respawn delay after a crash; doubles per consecutive crash
 * @param backoffMax the respawn delay cap
 * @param crashLoopCount this many crashes within {@code crashLoopWindow} halt the master
 * @param crashLoopWindow see above
 * @param stopTimeout a graceful stop kills workers still draining after this long
 * @param workerJvmArgs extra JVM options for workers
 * @param workerArgs extra arguments for the worker's main (test hooks)
 * @param workerEnv extra environment variables for workers
 */
public record PreforkConfig(List<SocketAddress> listen, int workers, boolean reusePort, Path controlDir, ForkPolicy forkPolicy,
                            Duration heartbeatInterval, Duration heartbeatTimeout, Duration bootTimeout,
                            Duration backoffBase, Duration backoffMax, int crashLoopCount, Duration crashLoopWindow,
                            Duration stopTimeout, List<String> workerJvmArgs, List<String> workerArgs,
                            Map<String, String> workerEnv) {

    public PreforkConfig {
        listen = List.copyOf(listen);
        workerJvmArgs = List.copyOf(workerJvmArgs);
        workerArgs = List.copyOf(workerArgs);
        workerEnv = Map.copyOf(workerEnv);
        if (workers < 0 || workers > 1024) throw new IllegalArgumentException("workers must be in [0, 1024], not " + workers);
    }

    /** 127.0.0.1:8080, two workers, shared listener, COPY, 1 s heartbeats with a 10 s timeout. */
    public static PreforkConfig defaults() {
        return new PreforkConfig(List.of(new InetSocketAddress("127.0.0.1", 8080)), 2, false, defaultControlDir(), ForkPolicy.COPY,
                Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofMillis(100), Duration.ofSeconds(10),
                5, Duration.ofSeconds(30), Duration.ofSeconds(30), List.of(), List.of(), Map.of());
    }

    /** $XDG_RUNTIME_DIR/knot, or /tmp/knot-UID. */
    public static Path defaultControlDir() {
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute()) return Path.of(xdg, "knot");
        return Path.of("/tmp", "knot-" + uid());
    }

    /** This process's uid, without a native call (so that knotctl needs no native access). */
    static int uid() {
        try {
            return (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            throw new IllegalStateException("cannot tell this process's uid from /proc/self", e);
        }
    }

    /** The control socket's path. */
    public Path controlSocket() {
        return controlDir.resolve("control.sock");
    }

    /**
     * Parses the command line of {@code knot} (see {@link #usage()}).
     *
     * @throws IllegalArgumentException naming the bad option
     */
    public static PreforkConfig parse(String[] args) {
        PreforkConfig d = defaults();
        List<SocketAddress> listen = new ArrayList<>();
        int workers = d.workers;
        boolean reusePort = false;
        Path dir = d.controlDir;
        ForkPolicy policy = d.forkPolicy;
        Duration hbInterval = d.heartbeatInterval, hbTimeout = d.heartbeatTimeout, boot = d.bootTimeout;
        Duration backoffBase = d.backoffBase, backoffMax = d.backoffMax, window = d.crashLoopWindow, stop = d.stopTimeout;
        int crashes = d.crashLoopCount;
        List<String> jvm = new ArrayList<>(), wargs = new ArrayList<>();
        Map<String, String> env = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--listen" -> listen.add(address(value(args, ++i, a)));
                case "--port" -> listen.add(new InetSocketAddress("127.0.0.1", Integer.parseInt(value(args, ++i, a))));
                case "--workers" -> workers = Integer.parseInt(value(args, ++i, a));
                case "--reuseport" -> reusePort = true;
                case "--control-dir" -> dir = Path.of(value(args, ++i, a));
                case "--fork-policy" -> policy = ForkPolicy.valueOf(value(args, ++i, a).toUpperCase(java.util.Locale.ROOT));
                case "--heartbeat-ms" -> hbInterval = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--heartbeat-timeout-ms" -> hbTimeout = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--boot-timeout-ms" -> boot = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--backoff-ms" -> backoffBase = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--backoff-max-ms" -> backoffMax = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--crash-loop" -> {
                    String[] v = value(args, ++i, a).split("/");
                    if (v.length != 2) throw new IllegalArgumentException("--crash-loop takes COUNT/MILLIS, e.g. 5/30000");
                    crashes = Integer.parseInt(v[0]);
                    window = Duration.ofMillis(Long.parseLong(v[1]));
                }
                case "--stop-timeout-ms" -> stop = Duration.ofMillis(Long.parseLong(value(args, ++i, a)));
                case "--worker-jvm-arg" -> jvm.add(value(args, ++i, a));
                case "--worker-arg" -> wargs.add(value(args, ++i, a));
                case "--worker-env" -> {
                    String kv = value(args, ++i, a);
                    int eq = kv.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--worker-env takes NAME=VALUE");
                    env.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + usage());
            }
        }
        return new PreforkConfig(listen.isEmpty() ? d.listen : listen, workers, reusePort, dir, policy, hbInterval, hbTimeout,
                boot, backoffBase, backoffMax, crashes, window, stop, jvm, wargs, env);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    /** host:port, [v6]:port, or unix:/path. */
    static SocketAddress address(String s) {
        if (s.startsWith("unix:")) return java.net.UnixDomainSocketAddress.of(s.substring(5));
        int colon = s.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("--listen takes HOST:PORT or unix:PATH, not " + s);
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        return new InetSocketAddress(host, Integer.parseInt(s.substring(colon + 1)));
    }

    public static String usage() {
        return """
            usage: knot [--port P | --listen HOST:PORT | --listen unix:PATH]... [--workers N] [--reuseport]
                        [--control-dir DIR] [--fork-policy copy|drop] [--heartbeat-ms MS] [--heartbeat-timeout-ms MS]
                        [--boot-timeout-ms MS] [--backoff-ms MS] [--backoff-max-ms MS] [--crash-loop COUNT/MS]
                        [--stop-timeout-ms MS] [--worker-jvm-arg ARG]... [--worker-env NAME=VALUE]...
            """ + AppConfig.usage() + """

            Starts a prefork server (default: the example HTTP server on 127.0.0.1:8080, 2 workers). Listeners passed by systemd
            (LISTEN_FDS) are adopted instead of binding. Query and steer it with: knotctl status|workers|reload|stop [--fast]|scale N""";
    }
}
