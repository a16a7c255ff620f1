// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;

import dev.knot.fork.Spawner;
import dev.knot.kqueue.KqueueException;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Errnos;
import dev.knot.system.Processes;

import java.io.IOException;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The prefork master: binds the listeners (or adopts systemd's), spawns worker JVMs that inherit them, and keeps
 * the wanted number running on one event loop.
 *
 * <p>It watches each worker with EVFILT_PROC NOTE_EXIT and reaps it by pid. Supervision follows {@link Supervisor}:
 * workers that fail before they are ready count towards a crash-loop halt, workers that ran and died are respawned
 * with a per-slot backoff, spawn failures for lack of resources are retried. It kills a worker whose heartbeats
 * stop; reloads gracefully (a new generation is spawned and ready before the old one drains) or one slot at a time
 * (phased restart); recycles workers after a number of requests or above a memory (PSS) limit, the replacement
 * ready before the old worker drains; starts at most {@code --start-concurrency} workers at once; stops gracefully
 * (workers finish their requests) or fast; changes the worker count at run time. Commands arrive on the control
 * socket ({@code knotctl}) or as signals the JVM lets Java handle: HUP reloads, TERM stops gracefully, INT stops
 * fast, TTIN and TTOU add or remove a worker, WINCH drains every worker but keeps the master.
 *
 * <p>Threading: everything runs on the loop thread of {@link #run()}, control commands included.
 */
public final class Master {
    static final String CONTROL_FD = "control";
    static final String LISTEN_FD = "listen.";
    /** The ident of the heartbeat timer in the worker template (and so in every COPY worker's kqueue). */
    static final long HEARTBEAT_TIMER = 1;

    enum State { RUNNING, RELOADING, PHASED, STOPPING, HALTED }

    final PreforkConfig config;
    private AppConfig app;
    final EventLoop loop;
    final Supervisor supervisor;
    Listeners listeners;
    /** Every worker process not yet reaped, by pid. */
    final Map<Integer, Worker> workers = new LinkedHashMap<>();
    /** The workers wanted and how they are brought up. */
    private final Starts starts = new Starts(this);
    Selector template;                       // the registrations COPY workers start with
    ControlSocket control;
    State state = State.RUNNING;
    int target;
    /** The master's soft RLIMIT_NOFILE after raising it at start; -1 until then. */
    long openFiles = -1;
    int generation = 1;
    final long startedNanos = System.nanoTime();
    private int exitCode;
    private String haltReason;
    private long stopDeadline;
    private long lastMemoryCheck;
    /** {@code knotctl upgrade}: the successor this master started, or the predecessor it took over from. */
    final Succession succession = new Succession(this);

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
        this.supervisor = new Supervisor(config.backoffBase(), config.backoffMax(), config.crashLoopCount(), config.crashLoopWindow(),
                config.stableAfter());
    }

    static void log(String msg) {
        System.err.println(Instant.now() + " knot-master[" + ProcessHandle.current().pid() + "]: " + msg);
    }

    /**
     * Runs the master until it stops: binds, spawns, supervises. Returns the process exit status (0 after a stop,
     * non-zero after a halt).
     *
     * @return the exit status: 0 after a stop, non-zero after a halt
     * @throws IOException if the listeners cannot be bound or the control socket cannot be created
     */
    public int run() throws IOException {
        long pid = ProcessHandle.current().pid();
        openFiles = FileLimit.raise("master", Master::log);   // the workers inherit the raised limit, and raise theirs too
        try {
            app = AppLoader.resolve(app);          // a bad app fails here, with one line, before anything is spawned
            log("app " + app.appClass() + (app.classPath().isEmpty() ? "" : " from " + app.classPath()));
            succession.predecessor = Upgrade.inheritance();
            succession.owner = "pid " + pid + ", control socket " + config.controlSocket();
            listeners = Listeners.open(config, succession.predecessor, succession.owner);
            for (Listeners.Listener l : listeners.all()) log("listening on " + l.address() + " (" + l.origin() + ")");
            // Bound first: while the cache trains, connections wait in the backlog instead of being refused.
            if (app.aotCacheDir() != null) {
                starts.aotJvmArgs = AotCache.prepare(app.aotCacheDir(), Worker.command(config, app, 0, 0, 0), Worker.environment(config),
                        app.classPath(), Master::log);
            }
            template = Selector.open();
            for (Listeners.Listener l : listeners.all()) if (l.shared() != null) template.register(l.shared(), Selector.OP_READ, null);
            template.watch(HEARTBEAT_TIMER, EVFILT_TIMER, 0, 0, config.heartbeatInterval().toMillis(), null);
            template.selectNow();
            control = ControlSocket.open(loop, config.controlSocket(), line -> Command.run(this, line), true, succession.predecessor != null);
        } catch (IOException | RuntimeException e) {
            cleanUp();
            loop.shutdownNow();                      // never ran: this closes its kqueue
            throw e;
        }
        for (int sig : new int[] {Processes.SIGHUP, Processes.SIGTERM, Processes.SIGINT, Processes.SIGTTIN, Processes.SIGTTOU, Processes.SIGWINCH}) {
            loop.watch(sig, EVFILT_SIGNAL, 0, 0, 0, k -> signal((int) k.ident()));
        }
        try {
            // USR2 upgrades, as in nginx and Unicorn, where the JVM lets Java have it (HotSpot 25 on Linux does).
            loop.watch(Processes.SIGUSR2, EVFILT_SIGNAL, 0, 0, 0, k -> {
                log("SIGUSR2: upgrade");
                log(succession.startUpgrade(List.of()).strip());
            });
        } catch (RuntimeException e) {
            log("SIGUSR2 is the JVM's here (" + e.getMessage() + "): upgrade through knotctl only");
        }
        loop.scheduleAtFixedRate(this::check, 250, 250, TimeUnit.MILLISECONDS);
        log("control socket " + control.path() + "; try: knotctl status");
        succession.started();
        loop.execute(() -> {
            for (int slot = 1; slot <= target; slot++) starts.want(slot, null, Worker.Retiring.NONE, null);
        });
        loop.run();
        cleanUp();
        if (haltReason != null) log("halted: " + haltReason);
        else log("stopped");
        return exitCode;
    }

    // ------------------------------------------------------------------------------------ workers

    /** A worker of the current generation holds (or is starting in) {@code slot}. */
    boolean slotTaken(int slot) {
        return workers.values().stream().anyMatch(x -> x.slot == slot && x.generation == generation && !x.draining());
    }

    /** Lines from a worker: "ready", "hb REQUESTS CONNECTIONS [GC_COUNT GC_MS LAG_US]", "limit REQUESTS". */
    void fromWorker(Worker w) throws IOException {
        if (!w.read()) {
            log("worker " + w.slot + " (pid " + w.pid + ") sends lines longer than 64 KiB: killing it");
            kill(w, Processes.SIGKILL);
            return;
        }
        int nl;
        while ((nl = w.input.indexOf("\n")) >= 0) {
            String line = w.input.substring(0, nl);
            w.input.delete(0, nl + 1);
            w.lastHeartbeat = System.nanoTime();
            String[] f = line.split(" ");
            try {
                switch (f[0]) {
                    case "ready" -> ready(w);
                    case "hb" -> {
                        if (f.length >= 3) {
                            w.requests = Long.parseLong(f[1]);
                            w.connections = Long.parseLong(f[2]);
                        }
                        if (f.length >= 6) {
                            w.gcCount = Long.parseLong(f[3]);
                            w.gcMillis = Long.parseLong(f[4]);
                            w.loopLagMicros = Long.parseLong(f[5]);
                        }
                        // Start the replacement ahead of the limit, so that it is ready when the worker reaches it.
                        if (w.maxRequests > 0 && w.serving() && w.replacement == null && w.requests * 5 >= w.maxRequests * 4) {
                            replace(w, Worker.Retiring.RECYCLE, "approaching its limit of " + w.maxRequests + " requests", true);
                        }
                    }
                    case "limit" -> {
                        if (f.length >= 2) w.requests = Long.parseLong(f[1]);
                        w.atLimit = true;
                        Worker r = w.replacement;
                        if (r != null && r.ready) {
                            unlink(r);
                            retire(w, Worker.Retiring.RECYCLE);
                        } else {
                            replace(w, Worker.Retiring.RECYCLE, "reached its limit of " + w.maxRequests + " requests", false);
                        }
                    }
                    default -> log("worker " + w.slot + " (pid " + w.pid + ") sent an unknown line: " + line);
                }
            } catch (NumberFormatException e) {
                log("worker " + w.slot + " (pid " + w.pid + ") sent a malformed line: " + line);
            }
        }
    }

    private void ready(Worker w) {
        if (w.ready) return;
        w.ready = true;
        w.readyAt = System.nanoTime();
        w.openFiles = FileLimit.softOf(w.pid);           // a worker raises its limit at start, before it is ready
        log("worker " + w.slot + " (pid " + w.pid + ") ready");
        Worker old = w.replaces;
        if (old != null && !(w.holdUntilLimit && !old.atLimit)) {
            // The replacement serves: only now may the worker it replaces drain. (One started ahead of a request
            // limit waits for the worker to reach it.)
            unlink(w);
            retire(old, w.replacing);
        }
        maybeRetireOldGeneration();
        phasedStep();
        starts.pump();
        succession.maybeAnnounce();
    }

    /** Starts a replacement for {@code w}; {@code w} drains once the replacement is ready. */
    private void replace(Worker w, Worker.Retiring why, String reason) {
        replace(w, why, reason, false);
    }

    /** As above; with {@code hold}, {@code w} serves on until it reports its request limit. */
    private void replace(Worker w, Worker.Retiring why, String reason, boolean hold) {
        if (w.replacement != null || w.draining() || !workers.containsKey(w.pid)) return;
        if (state == State.STOPPING || state == State.HALTED) return;
        if (starts.queuedFor(w)) return;
        log("replacing worker " + w.slot + " (pid " + w.pid + "): " + reason);
        starts.want(new Starts.Pending(w.slot, w, why, reason, hold));
    }

    /** The replacement {@code r} no longer waits for the worker it replaces. */
    private void unlink(Worker r) {
        if (r.replaces != null) r.replaces.replacement = null;
        r.replaces = null;
    }

    private void retire(Worker w, Worker.Retiring why) {
        if (w.draining()) return;
        w.retiring = why;
        w.send("drain");
    }

    void exited(Worker w, int status) {
        if (w.channel.isOpen()) {
            try {
                fromWorker(w);                       // its last lines (the final heartbeat) may still be unread
            } catch (IOException | RuntimeException e) {
                // gone
            }
        }
        try {
            int reaped = Spawner.reap(w.pid, false);
            if (reaped >= 0) status = reaped;
        } catch (IOException e) {
            // already reaped (ECHILD): keep the status the kernel reported with NOTE_EXIT
        }
        workers.remove(w.pid);
        // Only while the channel is open: after its EOF the key was cancelled, and must not be touched again.
        if (w.channel.isOpen()) {
            if (w.channelKey != null && w.channelKey.isValid()) w.channelKey.cancelForClose();
            Listeners.closeQuietly(w.channel);
        }
        String how = Spawner.termSignal(status) != 0 ? "killed by signal " + Spawner.termSignal(status) : "exit code " + Spawner.exitCode(status);
        boolean expected = w.draining() || state == State.STOPPING || state == State.HALTED;
        log("worker " + w.slot + " (pid " + w.pid + ") exited: " + how + (expected ? "" : ", unexpectedly")
                + (w.ready ? "" : " before it was ready") + ", after " + w.requests + " requests"
                + (w.draining() ? " (" + w.retiring.name().toLowerCase(java.util.Locale.ROOT) + ")" : ""));
        if (state == State.STOPPING || state == State.HALTED) {
            if (workers.isEmpty()) loop.shutdownGracefully();
            return;
        }
        if (w.replacement != null) {
            // Its replacement is on the way and takes the slot over.
            w.replacement.replaces = null;
            w.replacement = null;
        } else if (w.replaces != null) {
            // A replacement that never became ready: the worker it was to replace keeps serving meanwhile.
            Worker old = w.replaces;
            old.replacement = null;
            if (!expected) failedToBoot(w.slot, new Starts.Pending(w.slot, old, w.replacing, starts.lastReason(w.slot)), how);
        } else if (!expected) {
            if (!w.ready) {
                failedToBoot(w.slot, new Starts.Pending(w.slot, null, Worker.Retiring.NONE, "boot failure: " + how), how);
            } else {
                Supervisor.Decision d = supervisor.crashAfterReady(w.slot, System.nanoTime() - w.readyAt);
                starts.later(new Starts.Pending(w.slot, null, Worker.Retiring.NONE, "crashed: " + how), d.delayNanos());
            }
        }
        maybeRetireOldGeneration();
        phasedStep();
        starts.pump();
    }

    /** A worker (or a spawn) failed before the worker was ready: counts towards a crash-loop halt. */
    void failedToBoot(int slot, Starts.Pending retry, String how) {
        Supervisor.Decision d = supervisor.bootFailure(slot, System.nanoTime());
        if (d.halt()) {
            halt("workers fail to boot: " + d.recentBootFailures() + " boot failures within " + config.crashLoopWindow().toMillis()
                    + " ms (last: worker " + slot + ", " + how + "); fix the workers and start again");
            return;
        }
        starts.later(retry, d.delayNanos());
    }

    /** Every 250 ms: heartbeats, boot timeouts, the stop deadline, stable slots, memory limits. */
    private void check() {
        long now = System.nanoTime();
        for (Worker w : List.copyOf(workers.values())) {
            long limit = w.ready ? config.heartbeatTimeout().toNanos() : config.bootTimeout().toNanos();
            if (!w.killed && now - w.lastHeartbeat > limit) {
                log("worker " + w.slot + " (pid " + w.pid + ") silent for " + (now - w.lastHeartbeat) / 1_000_000 + " ms: killing it");
                kill(w, Processes.SIGKILL);
            }
            if (w.ready && !w.draining() && now - w.readyAt >= supervisor.stableAfterNanos()) supervisor.stable(w.slot);
        }
        if (state == State.STOPPING && stopDeadline != 0 && now - stopDeadline > 0) {
            for (Worker w : List.copyOf(workers.values())) {
                if (!w.killed) {
                    log("worker " + w.slot + " (pid " + w.pid + ") still draining at the stop timeout: killing it");
                    kill(w, Processes.SIGKILL);
                }
            }
        }
        succession.check(now);
        if (now - lastMemoryCheck >= 1_000_000_000L) {
            lastMemoryCheck = now;
            checkMemory();
        }
    }

    private void checkMemory() {
        for (Worker w : List.copyOf(workers.values())) {
            if (w.killed) continue;
            w.pssKb = Pss.kilobytes(w.pid);
            long limitKb = config.maxWorkerMemoryMb() * 1024;
            if (limitKb > 0 && w.pssKb > limitKb && w.serving()) {
                replace(w, Worker.Retiring.RECYCLE, "PSS " + w.pssKb / 1024 + " MiB over the limit of " + config.maxWorkerMemoryMb() + " MiB");
            }
        }
    }

    private void kill(Worker w, int sig) {
        w.killed = sig == Processes.SIGKILL || w.killed;
        try {
            Processes.kill(w.pid, sig);
        } catch (ErrnoException e) {
            // ESRCH: it has exited already, and its NOTE_EXIT is on its way; anything else is worth a line.
            if (e.errno() != Errnos.ESRCH) log("worker " + w.slot + " (pid " + w.pid + "): " + e.getMessage());
        }
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

    private void signal(int sig) {
        if (sig == Processes.SIGHUP) reload();
        else if (sig == Processes.SIGTERM) stop(false);
        else if (sig == Processes.SIGINT) stop(true);
        else if (sig == Processes.SIGTTIN) scale(target + 1);
        else if (sig == Processes.SIGTTOU) scale(Math.max(0, target - 1));
        else if (sig == Processes.SIGWINCH) scale(0);
    }

    /** A new generation comes up; the old one drains once every new worker is ready. */
    void reload() {
        if (state != State.RUNNING && state != State.RELOADING && state != State.PHASED) return;
        generation++;
        state = State.RELOADING;
        log("reload: starting generation " + generation);
        for (int slot = 1; slot <= target; slot++) starts.want(slot, null, Worker.Retiring.NONE, "reload to generation " + generation);
        maybeRetireOldGeneration();
    }

    private void maybeRetireOldGeneration() {
        if (state != State.RELOADING) return;
        long readyNew = workers.values().stream().filter(w -> w.generation == generation && w.serving()).count();
        if (readyNew < target) return;
        for (Worker w : List.copyOf(workers.values())) if (w.generation < generation) retire(w, Worker.Retiring.RELOAD);
        if (workers.values().stream().noneMatch(x -> x.generation < generation)) {
            state = State.RUNNING;
            log("reload complete: generation " + generation);
        }
    }

    /** Phased restart: one slot at a time, each old worker drains once its replacement is ready. */
    void phasedRestart() {
        generation++;
        state = State.PHASED;
        log("phased restart: replacing each worker with generation " + generation + ", one at a time");
        phasedStep();
    }

    private void phasedStep() {
        if (state != State.PHASED) return;
        if (workers.values().stream().anyMatch(w -> w.replaces != null)) return;     // one replacement at a time
        Worker next = workers.values().stream().filter(w -> w.generation < generation && w.serving() && w.slot <= target)
                .min((a, b) -> Integer.compare(a.slot, b.slot)).orElse(null);
        if (next != null) {
            replace(next, Worker.Retiring.PHASED, "phased restart to generation " + generation);
            return;
        }
        if (workers.values().stream().noneMatch(w -> w.generation < generation && !w.draining())) {
            state = State.RUNNING;
            log("phased restart complete: generation " + generation);
        }
    }

    void stop(boolean fast) {
        if (state == State.STOPPING && !fast) return;
        state = State.STOPPING;
        starts.clear();
        log(fast ? "fast stop" : "graceful stop");
        if (workers.isEmpty()) {
            loop.shutdownGracefully();
            return;
        }
        stopDeadline = System.nanoTime() + config.stopTimeout().toNanos();
        for (Worker w : workers.values()) {
            if (fast) {
                w.retiring = Worker.Retiring.STOP;
                kill(w, Processes.SIGKILL);
            } else {
                retire(w, Worker.Retiring.STOP);
            }
        }
    }

    void scale(int n) {
        if (state == State.STOPPING || state == State.HALTED) return;
        int old = target;
        target = Math.max(0, Math.min(1024, n));
        log("scale: " + old + " -> " + target + " workers");
        for (int slot = 1; slot <= target; slot++) if (!slotTaken(slot)) starts.want(slot, null, Worker.Retiring.NONE, null);
        for (Worker w : List.copyOf(workers.values())) if (w.slot > target) retire(w, Worker.Retiring.SCALE);
        maybeRetireOldGeneration();
        phasedStep();
    }

    private void halt(String reason) {
        haltReason = reason;
        exitCode = 3;
        state = State.HALTED;
        starts.clear();
        for (Worker w : workers.values()) kill(w, Processes.SIGKILL);
        if (workers.isEmpty()) loop.shutdownGracefully();
    }

    /** The workers' app, resolved by {@link #run()}. */
    AppConfig app() {
        return app;
    }

    /** Workers spawned and not yet ready. */
    long starting() {
        return starts.starting();
    }

    String stateName() {
        return state.name().toLowerCase(java.util.Locale.ROOT);
    }

    Collection<Worker> workerList() {
        return workers.values();
    }

    List<Listeners.Listener> listenerList() {
        return listeners.all();
    }

    private void cleanUp() {
        try {
            if (control != null) control.close();
        } catch (IOException e) {
            log("removing the control socket: " + e.getMessage());
        }
        if (listeners != null) listeners.close();
        if (template != null) template.close();
    }

    /**
     * {@code java -cp knot.jar dev.knot.prefork.Master [options]}; see {@link PreforkConfig#usage()}.
     *
     * @param args the options of {@link PreforkConfig#usage()}
     * @throws Exception if start-up fails; the message names what was wrong
     */
    public static void main(String[] args) throws Exception {
        Upgrade.launchArgs = List.of(args);
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
