// SPDX-License-Identifier: Apache-2.0
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
 * @param lockDir directory of the per-port locks that keep two masters off one {@code --reuseport} port
 * @param stableAfter a worker ready for this long resets its slot's respawn backoff
 * @param maxRequests a worker is replaced (gracefully) after this many requests; 0: never
 * @param maxRequestsJitter each worker's limit is {@code maxRequests} plus a random number in [0, jitter]
 * @param maxWorkerMemoryMb a worker whose PSS exceeds this many MiB is replaced (gracefully); 0: no limit
 * @param startConcurrency at most this many workers start (spawned, not yet ready) at once; 0: no limit
 */
public record PreforkConfig(List<SocketAddress> listen, int workers, boolean reusePort, Path controlDir, ForkPolicy forkPolicy,
                            Duration heartbeatInterval, Duration heartbeatTimeout, Duration bootTimeout,
                            Duration backoffBase, Duration backoffMax, int crashLoopCount, Duration crashLoopWindow,
                            Duration stopTimeout, List<String> workerJvmArgs, List<String> workerArgs,
                            Map<String, String> workerEnv, Path lockDir, Duration stableAfter, long maxRequests,
                            long maxRequestsJitter, long maxWorkerMemoryMb, int startConcurrency) {

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException for a worker count outside [0, 1024] or another value out of range
     */
    public PreforkConfig {
        listen = List.copyOf(listen);
        workerJvmArgs = List.copyOf(workerJvmArgs);
        workerArgs = List.copyOf(workerArgs);
        workerEnv = Map.copyOf(workerEnv);
        if (workers < 0 || workers > 1024) throw new IllegalArgumentException("workers must be in [0, 1024], not " + workers);
        if (maxRequests < 0 || maxRequestsJitter < 0) throw new IllegalArgumentException("--max-requests and --max-requests-jitter must be >= 0");
        if (maxRequestsJitter > 0 && maxRequests == 0) throw new IllegalArgumentException("--max-requests-jitter needs --max-requests");
        if (maxWorkerMemoryMb < 0) throw new IllegalArgumentException("--max-worker-memory must be >= 0");
        if (startConcurrency < 0) throw new IllegalArgumentException("--start-concurrency must be >= 0");
    }

    /**
     * 127.0.0.1:8080, two workers, shared listener, COPY, 1 s heartbeats with a 10 s timeout.
     *
     * @return the defaults
     */
    public static PreforkConfig defaults() {
        return new PreforkConfig(List.of(new InetSocketAddress("127.0.0.1", 8080)), 2, false, defaultControlDir(), ForkPolicy.COPY,
                Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofMillis(100), Duration.ofSeconds(10),
                5, Duration.ofSeconds(30), Duration.ofSeconds(30), List.of(), List.of(), Map.of(), defaultControlDir(),
                Duration.ofSeconds(10), 0, 0, 0, 0);
    }

    /**
     * $XDG_RUNTIME_DIR/knot, or /tmp/knot-UID.
     *
     * @return the directory for control sockets; the master creates it with mode 0700
     */
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

    /**
     * The control socket's path.
     *
     * @return the control socket's path inside the control directory
     */
    public Path controlSocket() {
        return controlDir.resolve("control.sock");
    }

    /**
     * Parses the command line of {@code knot} (see {@link #usage()}).
     *
     * @param args the command-line arguments, as {@code main} receives them
     * @return the configuration they describe, over {@link #defaults()}
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
        Path lockDir = d.lockDir;
        Duration stable = d.stableAfter;
        long maxRequests = 0, jitter = 0, memory = 0;
        int startConcurrency = 0;
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
                case "--lock-dir" -> lockDir = Path.of(value(args, ++i, a));
                case "--stable-ms" -> stable = Duration.ofMillis(number(args, ++i, a));
                case "--max-requests" -> maxRequests = number(args, ++i, a);
                case "--max-requests-jitter" -> jitter = number(args, ++i, a);
                case "--max-worker-memory" -> memory = number(args, ++i, a);
                case "--start-concurrency" -> startConcurrency = (int) Math.min(1024, number(args, ++i, a));
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + usage());
            }
        }
        return new PreforkConfig(listen.isEmpty() ? d.listen : listen, workers, reusePort, dir, policy, hbInterval, hbTimeout,
                boot, backoffBase, backoffMax, crashes, window, stop, jvm, wargs, env, lockDir, stable, maxRequests, jitter, memory,
                startConcurrency);
    }

    private static long number(String[] args, int i, String option) {
        String v = value(args, i, option);
        try {
            long n = Long.parseLong(v);
            if (n < 0) throw new IllegalArgumentException(option + " must be >= 0, not " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes a number, not '" + v + "'");
        }
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

    /** {@return the text {@code --help} prints: every option with its default} */
    public static String usage() {
        return """
            usage: knot [--port P | --listen HOST:PORT | --listen unix:PATH]... [--workers N] [--reuseport]
                        [--control-dir DIR] [--fork-policy copy|drop] [--heartbeat-ms MS] [--heartbeat-timeout-ms MS]
                        [--boot-timeout-ms MS] [--backoff-ms MS] [--backoff-max-ms MS] [--crash-loop COUNT/MS]
                        [--stop-timeout-ms MS] [--worker-jvm-arg ARG]... [--worker-env NAME=VALUE]...
                        [--max-requests N [--max-requests-jitter J]] [--max-worker-memory MIB] [--start-concurrency K]
                        [--stable-ms MS] [--lock-dir DIR]
            """ + AppConfig.usage() + """

            Starts a prefork server (default: the example HTTP server on 127.0.0.1:8080, 2 workers). Listeners passed by systemd
            (LISTEN_FDS) are adopted instead of binding. Query and steer it with: knotctl """ + Command.USAGE;
    }
}
