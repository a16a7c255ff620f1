package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.bindings.linux.signal_h;
import dev.knot.fork.Handoff;
import dev.knot.fork.ListenFds;
import dev.knot.fork.Spawner;
import dev.knot.kqueue.KqueueException;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;
import dev.knot.system.CallState;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The prefork master: binds the listeners (or adopts systemd's), spawns worker JVMs that inherit them, and keeps
 * the wanted number running on one event loop.
 *
 * <p>It watches each worker with EVFILT_PROC NOTE_EXIT and reaps it by pid; restarts crashed workers after a
 * backoff that doubles per consecutive crash (capped), and halts when they crash-loop; kills a worker whose
 * heartbeats stop; reloads gracefully (a new generation is spawned and ready before the old one drains); stops
 * gracefully (workers finish their requests) or fast; changes the worker count at run time. Commands arrive on
 * the control socket ({@code knotctl}) or as signals the JVM lets Java handle: HUP reloads, TERM stops
 * gracefully, INT stops fast, TTIN and TTOU add or remove a worker, WINCH drains every worker but keeps the master.
 *
 * <p>Threading: everything runs on the loop thread of {@link #run()}.
 */
public final class Master {
    static final String CONTROL_FD = "control";
    static final String LISTEN_FD = "listen.";
    /** The ident of the heartbeat timer in the worker template (and so in every COPY worker's kqueue). */
    static final long HEARTBEAT_TIMER = 1;

    private enum State { RUNNING, RELOADING, STOPPING, HALTED }

    private final PreforkConfig config;
    private AppConfig app;
    private List<String> aotJvmArgs = List.of();     // -XX:AOTCache=FILE once the cache is trained
    private final EventLoop loop;
    private final List<Listener> listeners = new ArrayList<>();
    private final Map<Integer, Worker> workers = new LinkedHashMap<>();     // by pid
    private final Deque<Long> crashes = new ArrayDeque<>();
    private Selector template;                       // the registrations COPY workers start with
    private ControlSocket control;
    private State state = State.RUNNING;
    private int target;
    private int generation = 1;
    private int consecutiveCrashes;
    private int nextSlot = 1;
    private final long startedNanos = System.nanoTime();
    private int exitCode;
    private String haltReason;

    /** One listening address: the shared socket, or with SO_REUSEPORT one socket per worker slot. */
    private record Listener(SocketAddress address, ListenSocket shared, Map<Integer, ListenSocket> perSlot, String origin) {}

    private final class Worker {
        final int slot, generation, pid;
        final StreamSocket channel;
        final long started = System.nanoTime();
        final StringBuilder input = new StringBuilder();
        Key channelKey, procKey;
        boolean ready, draining, killed;
        long lastHeartbeat = System.nanoTime();
        long requests, connections;

        Worker(int slot, int generation, int pid, StreamSocket channel) {
            this.slot = slot;
            this.generation = generation;
            this.pid = pid;
            this.channel = channel;
        }

        String state() {
            return killed ? "killed" : draining ? "draining" : ready ? "ready" : "starting";
        }
    }

    /**
     * A master of the default app ({@link AppConfig#defaults()}).
     *
     * @param config how the master runs
     * @throws KqueueException if its event loop cannot be opened
     */
    public Master(PreforkConfig config) throws KqueueException {
        this(config, AppConfig.defaults());
    }

    /**
     * A master whose workers run {@code app}.
     *
     * @param config how the master runs
     * @param app the workers' app, checked by {@link #run()} before anything is bound or spawned
     * @throws KqueueException if its event loop cannot be opened
     */
    public Master(PreforkConfig config, AppConfig app) throws KqueueException {
        this.config = config;
        this.app = java.util.Objects.requireNonNull(app, "app");
        this.loop = EventLoop.open();
        this.target = config.workers();
    }

    private static void log(String msg) {
        System.err.println(Instant.now() + " knot-master[" + ProcessHandle.current().pid() + "]: " + msg);
    }

    /**
     * Runs the master until it stops: binds, spawns, supervises. Returns the process exit status (0 after a stop,
     * non-zero after a halt).
     */
    public int run() throws IOException {
        app = AppLoader.resolve(app);          // a bad app fails here, with one line, before anything is spawned
        log("app " + app.appClass() + (app.classPath().isEmpty() ? "" : " from " + app.classPath()));
        openListeners();
        for (Listener l : listeners) log("listening on " + l.address + " (" + l.origin + ")");
        // Bound first: while the cache trains, connections wait in the backlog instead of being refused.
        if (app.aotCacheDir() != null) aotJvmArgs = AotCache.prepare(app.aotCacheDir(), workerCommand(0), workerEnvironment(), app.classPath(), Master::log);
        template = Selector.open();
        for (Listener l : listeners) if (l.shared != null) template.register(l.shared, Selector.OP_READ, null);
        template.watch(HEARTBEAT_TIMER, EVFILT_TIMER, 0, 0, config.heartbeatInterval().toMillis(), null);
        template.selectNow();
        control = ControlSocket.open(loop, config.controlSocket(), this::command, true);
        for (int sig : new int[] {signal_h.SIGHUP, signal_h.SIGTERM, signal_h.SIGINT, signal_h.SIGTTIN, signal_h.SIGTTOU, signal_h.SIGWINCH}) {
            loop.watch(sig, EVFILT_SIGNAL, 0, 0, 0, k -> signal((int) k.ident()));
        }
        loop.scheduleAtFixedRate(this::checkHeartbeats, 250, 250, TimeUnit.MILLISECONDS);
        log("control socket " + control.path() + "; try: knotctl status");
        loop.execute(() -> {
            for (int i = 0; i < target; i++) spawn(nextSlot++);
        });
        loop.run();
        cleanUp();
        if (haltReason != null) log("halted: " + haltReason);
        else log("stopped");
        return exitCode;
    }

    private void openListeners() throws IOException {
        for (ListenFds.Passed p : ListenFds.adopt()) {
            listeners.add(new Listener(p.socket().localAddress(), p.socket(), new LinkedHashMap<>(), "from systemd LISTEN_FDS, name " + p.name()));
        }
        if (!listeners.isEmpty()) return;
        for (SocketAddress a : config.listen()) {
            if (config.reusePort()) {
                // Probe the address once so that a bad one fails at start, then keep one socket per slot.
                ListenSocket first = ListenSocket.bind(a, ListenSocket.Options.defaults().reusePort(true));
                Map<Integer, ListenSocket> perSlot = new LinkedHashMap<>();
                perSlot.put(1, first);
                listeners.add(new Listener(first.localAddress(), null, perSlot, "SO_REUSEPORT, one socket per worker"));
            } else {
                ListenSocket s = ListenSocket.bind(a);
                listeners.add(new Listener(s.localAddress(), s, null, "shared by all workers"));
            }
        }
    }

    private ListenSocket listenerFor(Listener l, int slot) throws IOException {
        if (l.shared != null) return l.shared;
        ListenSocket s = l.perSlot.get(slot);
        if (s == null) {
            s = ListenSocket.bind(l.address, ListenSocket.Options.defaults().reusePort(true));
            l.perSlot.put(slot, s);
        }
        return s;
    }

    // ------------------------------------------------------------------------------------ workers

    private void spawn(int slot) {
        if (state == State.STOPPING || state == State.HALTED) return;
        StreamSocket[] pair = null;
        try {
            pair = StreamSocket.pair();
            Handoff h = new Handoff(config.forkPolicy()).fd(CONTROL_FD, pair[1].fd());
            for (int i = 0; i < listeners.size(); i++) h.fd(LISTEN_FD + i, listenerFor(listeners.get(i), slot).fd());
            // With per-slot sockets the template cannot hold them: a COPY worker re-registers its own.
            h.prepare(template);
            try (h) {
                Map<String, String> env = new LinkedHashMap<>(workerEnvironment());
                env.putAll(h.environment());
                int pid = Spawner.spawn(new Spawner.Spec(workerCommand(slot), env, h.fds(), null, null));
                pair[1].close();
                Worker w = new Worker(slot, generation, pid, pair[0]);
                workers.put(pid, w);
                w.channelKey = loop.register(pair[0], Selector.OP_READ, k -> fromWorker(w));
                w.procKey = loop.watch(pid, EVFILT_PROC, 0, NOTE_EXIT, 0, k -> exited(w, (int) k.eventData()));
                log("spawned worker " + slot + " (generation " + generation + ", pid " + pid + ", " + h.entries() + " registrations copied)");
            }
        } catch (IOException | RuntimeException e) {
            log("cannot spawn worker " + slot + ": " + e.getMessage());
            if (pair != null) {
                closeQuietly(pair[0]);
                closeQuietly(pair[1]);
            }
            crashed(slot, "spawn failed: " + e.getMessage());
        }
    }

    private Map<String, String> workerEnvironment() {
        // Only what a JVM needs: nothing else of the master's environment (credentials, LISTEN_*) reaches workers.
        Map<String, String> env = new LinkedHashMap<>();
        for (String k : new String[] {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "TMPDIR"}) {
            String v = System.getenv(k);
            if (v != null) env.put(k, v);
        }
        env.putAll(config.workerEnv());
        return env;
    }

    private List<String> workerCommand(int slot) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(aotJvmArgs);
        cmd.addAll(config.workerJvmArgs());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WorkerMain.class.getName());
        cmd.addAll(List.of("--slot", Integer.toString(slot), "--generation", Integer.toString(generation),
                "--heartbeat-ms", Long.toString(config.heartbeatInterval().toMillis())));
        cmd.addAll(app.workerArgs());
        cmd.addAll(config.workerArgs());
        return cmd;
    }

    /** Lines from a worker: "ready", "hb REQUESTS CONNECTIONS". */
    private void fromWorker(Worker w) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            while (true) {
                int n = w.channel.read(buf);
                if (n == 0) break;
                if (n < 0) {
                    // The worker closed its end (exiting); its NOTE_EXIT follows.
                    w.channelKey.cancelForClose();
                    w.channel.close();
                    return;
                }
                w.input.append(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
            }
        }
        int nl;
        while ((nl = w.input.indexOf("\n")) >= 0) {
            String line = w.input.substring(0, nl);
            w.input.delete(0, nl + 1);
            w.lastHeartbeat = System.nanoTime();
            if (line.equals("ready")) {
                w.ready = true;
                log("worker " + w.slot + " (pid " + w.pid + ") ready");
                maybeRetireOldGeneration();
            } else if (line.startsWith("hb ")) {
                String[] f = line.split(" ");
                if (f.length >= 3) {
                    w.requests = Long.parseLong(f[1]);
                    w.connections = Long.parseLong(f[2]);
                }
            }
        }
    }

    private void send(Worker w, String line) {
        if (!w.channel.isOpen()) return;
        try (Arena a = Arena.ofConfined()) {
            w.channel.write(a.allocateFrom(line + "\n", StandardCharsets.US_ASCII).asSlice(0, line.length() + 1));
        } catch (IOException e) {
            // the worker is going away; its exit is handled when it comes
        }
    }

    private void exited(Worker w, int status) {
        try {
            int reaped = Spawner.reap(w.pid, false);
            if (reaped >= 0) status = reaped;
        } catch (IOException e) {
            // already reaped (ECHILD): keep the status the kernel reported with NOTE_EXIT
        }
        workers.remove(w.pid);
        if (w.channelKey != null && w.channelKey.isValid()) w.channelKey.cancelForClose();
        closeQuietly(w.channel);
        String how = Spawner.termSignal(status) != 0 ? "killed by signal " + Spawner.termSignal(status) : "exit code " + Spawner.exitCode(status);
        boolean expected = w.draining || state == State.STOPPING || state == State.HALTED;
        log("worker " + w.slot + " (pid " + w.pid + ") exited: " + how + (expected ? "" : ", unexpectedly"));
        if (state == State.STOPPING || state == State.HALTED) {
            if (workers.isEmpty()) loop.shutdownGracefully();
            return;
        }
        if (expected) {
            if (state == State.RELOADING && workers.values().stream().noneMatch(x -> x.generation < generation)) {
                state = State.RUNNING;
                log("reload complete: generation " + generation);
            }
            return;
        }
        if (w.slot <= slotsWanted() && !slotTaken(w.slot)) crashed(w.slot, how);
    }

    private int slotsWanted() {
        return target;
    }

    private boolean slotTaken(int slot) {
        return workers.values().stream().anyMatch(x -> x.slot == slot && x.generation == generation && !x.draining);
    }

    private void crashed(int slot, String how) {
        long now = System.nanoTime();
        crashes.addLast(now);
        while (!crashes.isEmpty() && now - crashes.peekFirst() > config.crashLoopWindow().toNanos()) crashes.removeFirst();
        if (crashes.size() >= config.crashLoopCount()) {
            halt("workers crash-looped: " + crashes.size() + " unexpected exits within " + config.crashLoopWindow().toMillis()
                    + " ms (last: worker " + slot + ", " + how + "); fix the workers and start again");
            return;
        }
        consecutiveCrashes++;
        long delay = Math.min(config.backoffMax().toNanos(), config.backoffBase().toNanos() << Math.min(20, consecutiveCrashes - 1));
        log("respawning worker " + slot + " in " + delay / 1_000_000 + " ms");
        loop.schedule(() -> {
            if (!slotTaken(slot) && slot <= slotsWanted()) spawn(slot);
        }, delay, TimeUnit.NANOSECONDS);
    }

    private void checkHeartbeats() {
        long now = System.nanoTime();
        for (Worker w : List.copyOf(workers.values())) {
            long limit = w.ready ? config.heartbeatTimeout().toNanos() : config.bootTimeout().toNanos();
            if (!w.killed && now - w.lastHeartbeat > limit) {
                log("worker " + w.slot + " (pid " + w.pid + ") silent for " + (now - w.lastHeartbeat) / 1_000_000 + " ms: killing it");
                kill(w, signal_h.SIGKILL);
            }
            // A stable worker resets the crash backoff.
            if (w.ready && now - w.started > 10_000_000_000L) consecutiveCrashes = 0;
        }
        if (state == State.STOPPING && stopDeadline != 0 && now - stopDeadline > 0) {
            for (Worker w : List.copyOf(workers.values())) {
                if (!w.killed) {
                    log("worker " + w.slot + " (pid " + w.pid + ") still draining at the stop timeout: killing it");
                    kill(w, signal_h.SIGKILL);
                }
            }
        }
    }

    private void kill(Worker w, int sig) {
        w.killed = sig == signal_h.SIGKILL || w.killed;
        signal_h.kill(CallState.forThread(), w.pid, sig);
    }

    // ------------------------------------------------------------------------------- commands

    /**
     * Stops the master as {@code knotctl stop [--fast]} does; {@link #run()} returns once the workers are gone.
     * Any thread; does nothing once the master has stopped.
     *
     * @param fast kill the workers at once instead of letting them drain
     */
    public void requestStop(boolean fast) {
        try {
            loop.execute(() -> stop(fast));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // already stopping or stopped
        }
    }

    private long stopDeadline;

    private void signal(int sig) {
        if (sig == signal_h.SIGHUP) reload();
        else if (sig == signal_h.SIGTERM) stop(false);
        else if (sig == signal_h.SIGINT) stop(true);
        else if (sig == signal_h.SIGTTIN) scale(target + 1);
        else if (sig == signal_h.SIGTTOU) scale(Math.max(0, target - 1));
        else if (sig == signal_h.SIGWINCH) scale(0);
    }

    /** A new generation comes up; the old one drains once every new worker is ready. */
    private void reload() {
        if (state != State.RUNNING && state != State.RELOADING) return;
        generation++;
        state = State.RELOADING;
        log("reload: starting generation " + generation);
        List<Integer> slots = new ArrayList<>();
        for (int i = 1; i <= target; i++) slots.add(i);
        for (int slot : slots) spawn(slot);
        if (target == 0) maybeRetireOldGeneration();
    }

    private void maybeRetireOldGeneration() {
        if (state != State.RELOADING) return;
        long readyNew = workers.values().stream().filter(w -> w.generation == generation && w.ready).count();
        if (readyNew < target) return;
        for (Worker w : workers.values()) {
            if (w.generation < generation && !w.draining) {
                w.draining = true;
                send(w, "drain");
            }
        }
        if (workers.values().stream().noneMatch(x -> x.generation < generation)) {
            state = State.RUNNING;
            log("reload complete: generation " + generation);
        }
    }

    private void stop(boolean fast) {
        if (state == State.STOPPING && !fast) return;
        state = State.STOPPING;
        log(fast ? "fast stop" : "graceful stop");
        if (workers.isEmpty()) {
            loop.shutdownGracefully();
            return;
        }
        stopDeadline = System.nanoTime() + config.stopTimeout().toNanos();
        for (Worker w : workers.values()) {
            w.draining = true;
            if (fast) kill(w, signal_h.SIGKILL);
            else send(w, "drain");
        }
    }

    private void scale(int n) {
        if (state == State.STOPPING || state == State.HALTED) return;
        int old = target;
        target = Math.max(0, Math.min(1024, n));
        log("scale: " + old + " -> " + target + " workers");
        for (int slot = 1; slot <= target; slot++) {
            if (!slotTaken(slot)) spawn(slot);
        }
        for (Worker w : workers.values()) {
            if (w.slot > target && !w.draining) {
                w.draining = true;
                send(w, "drain");
            }
        }
    }

    private void halt(String reason) {
        haltReason = reason;
        exitCode = 3;
        state = State.HALTED;
        for (Worker w : workers.values()) kill(w, signal_h.SIGKILL);
        if (workers.isEmpty()) loop.shutdownGracefully();
    }

    /** The control socket's commands. */
    String command(String line) {
        String[] w = line.trim().split("\\s+");
        switch (w[0]) {
            case "status" -> {
                long running = workers.values().stream().filter(x -> !x.draining).count();
                long requests = workers.values().stream().mapToLong(x -> x.requests).sum();
                StringBuilder sb = new StringBuilder();
                sb.append("master ").append(ProcessHandle.current().pid()).append('\n');
                sb.append("state ").append(state.name().toLowerCase(java.util.Locale.ROOT)).append('\n');
                for (Listener l : listeners) sb.append("listen ").append(l.address).append(" (").append(l.origin).append(")\n");
                sb.append("workers ").append(running).append('/').append(target).append('\n');
                sb.append("generation ").append(generation).append('\n');
                sb.append("uptime ").append((System.nanoTime() - startedNanos) / 1_000_000_000L).append(" s\n");
                sb.append("requests ").append(requests).append('\n');
                return sb.toString();
            }
            case "workers" -> {
                StringBuilder sb = new StringBuilder("slot pid generation state uptime_s requests connections heartbeat_ms\n");
                long now = System.nanoTime();
                for (Worker x : workers.values()) {
                    sb.append(x.slot).append(' ').append(x.pid).append(' ').append(x.generation).append(' ').append(x.state()).append(' ')
                      .append((now - x.started) / 1_000_000_000L).append(' ').append(x.requests).append(' ').append(x.connections).append(' ')
                      .append((now - x.lastHeartbeat) / 1_000_000L).append('\n');
                }
                return sb.toString();
            }
            case "reload" -> {
                reload();
                return "reloading: generation " + generation + "\n";
            }
            case "stop" -> {
                boolean fast = w.length > 1 && w[1].equals("--fast");
                stop(fast);
                return fast ? "stopping (fast)\n" : "stopping (graceful)\n";
            }
            case "scale" -> {
                if (w.length != 2) return "error: scale takes a worker count\n";
                int n;
                try {
                    n = Integer.parseInt(w[1]);
                } catch (NumberFormatException e) {
                    return "error: not a number: " + w[1] + "\n";
                }
                if (n < 0 || n > 1024) return "error: worker count out of range: " + n + "\n";
                scale(n);
                return "scaling to " + n + " workers\n";
            }
            default -> {
                return "error: unknown command '" + line.trim() + "' (status, workers, reload, stop [--fast], scale N)\n";
            }
        }
    }

    private void cleanUp() {
        try {
            if (control != null) control.close();
        } catch (IOException e) {
            log("removing the control socket: " + e.getMessage());
        }
        for (Listener l : listeners) {
            closeQuietly(l.shared);
            if (l.perSlot != null) l.perSlot.values().forEach(Master::closeQuietly);
        }
        if (template != null) template.close();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // shutting down
        }
    }

    /** {@code java -cp knot.jar dev.knot.prefork.Master [options]}; see {@link PreforkConfig#usage()}. */
    public static void main(String[] args) throws Exception {
        PreforkConfig config;
        AppConfig app;
        try {
            AppConfig.Parsed p = AppConfig.parse(args);
            app = p.app();
            config = PreforkConfig.parse(p.rest());
        } catch (IllegalArgumentException e) {
            System.err.println("knot: " + e.getMessage());
            System.exit(64);
            return;
        }
        int code;
        try {
            code = new Master(config, app).run();
        } catch (IllegalArgumentException e) {
            System.err.println("knot: " + e.getMessage());
            code = 64;
        } catch (IOException e) {
            log(e.getMessage());
            code = 1;
        }
        System.exit(code);
    }
}
