// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.loop.Key;
import dev.knot.net.StreamSocket;

/**
 * The master's record of one worker process: its slot, generation, control channel and what its heartbeats last
 * said. Confined to the master's loop thread.
 */
final class Worker {
    /** Why a worker is on its way out (or null while it serves). */
    enum Retiring { NONE, RELOAD, PHASED, RECYCLE, SCALE, STOP, UPGRADE }

    final int slot, generation, pid;
    final StreamSocket channel;
    final long started = System.nanoTime();
    final StringBuilder input = new StringBuilder();
    /** The request count after which this worker asks to be replaced (0: no limit). */
    final long maxRequests;
    /** Restarts of this slot before this worker, and the reason of the last one (for stats). */
    final int restarts;
    final String lastRestartReason;
    Key channelKey, procKey;
    boolean ready, killed;
    long readyAt;
    Retiring retiring = Retiring.NONE;
    /** A replacement for this worker (recycling, phased restart) is starting; this one keeps serving meanwhile. */
    Worker replacement;
    /** This worker replaces {@code replaces} once ready, which then retires for {@code replacing}. */
    Worker replaces;
    Retiring replacing = Retiring.NONE;
    /** Started ahead of {@code replaces}' request limit: that worker serves on until it reports the limit. */
    boolean holdUntilLimit;
    long lastHeartbeat = System.nanoTime();
    long requests, connections, gcCount, gcMillis, loopLagMicros;
    long pssKb = -1;
    /** The worker's soft RLIMIT_NOFILE as /proc last showed it; -1 until read. */
    long openFiles = -1;
    /** The worker said it reached its request limit and stopped taking requests. */
    boolean atLimit;

    Worker(int slot, int generation, int pid, StreamSocket channel, long maxRequests, int restarts, String lastRestartReason) {
        this.slot = slot;
        this.generation = generation;
        this.pid = pid;
        this.channel = channel;
        this.maxRequests = maxRequests;
        this.restarts = restarts;
        this.lastRestartReason = lastRestartReason;
    }

    /**
     * Reads what the worker sent into {@link #input}; at EOF (the worker is exiting, its NOTE_EXIT follows) the
     * channel is closed. False if the worker sends more than 64 KiB without a newline.
     */
    boolean read() throws java.io.IOException {
        ControlLines.Read r = ControlLines.readAvailable(channel, input, 64 * 1024);
        if (r == ControlLines.Read.EOF) {
            channelKey.cancelForClose();
            channel.close();
        }
        return r != ControlLines.Read.OVERFLOW;
    }

    /** Writes a line to the worker; a worker going away is handled when its exit comes. */
    void send(String line) {
        if (!channel.isOpen()) return;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            channel.write(a.allocateFrom(line + "\n", java.nio.charset.StandardCharsets.US_ASCII).asSlice(0, line.length() + 1));
        } catch (java.io.IOException e) {
            // the worker is going away
        }
    }

    boolean draining() {
        return retiring != Retiring.NONE;
    }

    /** Serving or about to: ready and not retiring. */
    boolean serving() {
        return ready && !draining();
    }

    String state() {
        return killed ? "killed" : draining() ? "draining" : ready ? "ready" : "starting";
    }
    /** A worker's environment: only what a JVM needs, nothing else of the master's (credentials, LISTEN_*). */
    static java.util.Map<String, String> environment(PreforkConfig config) {
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
        for (String k : new String[] {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "TMPDIR"}) {
            String v = System.getenv(k);
            if (v != null) env.put(k, v);
        }
        env.putAll(config.workerEnv());
        return env;
    }

    /** The worker JVM's command line. */
    static java.util.List<String> command(PreforkConfig config, AppConfig app, int slot, int generation, long maxRequests) {
        java.util.List<String> cmd = new java.util.ArrayList<>();
        cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(config.workerJvmArgs());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WorkerMain.class.getName());
        cmd.addAll(java.util.List.of("--slot", Integer.toString(slot), "--generation", Integer.toString(generation),
                "--heartbeat-ms", Long.toString(config.heartbeatInterval().toMillis())));
        if (maxRequests > 0) cmd.addAll(java.util.List.of("--max-requests", Long.toString(maxRequests)));
        cmd.addAll(app.workerArgs());
        cmd.addAll(config.workerArgs());
        return cmd;
    }
}
