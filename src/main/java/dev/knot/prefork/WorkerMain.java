// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.fork.Inheritance;
import dev.knot.fork.Restoration;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A prefork worker: takes the listeners and control channel its master handed it, restores the master's
 * registrations (fork policy COPY) into its own loop, loads the {@link WorkerApp} ({@link AppLoader}) and starts it
 * on the loop thread, reports ready and then heartbeats, and drains the app on the master's word. It exits when the
 * master dies: the control channel reaches EOF and EVFILT_PROC reports the master's exit, whichever comes first.
 *
 * <p>Arguments: {@code --slot N --generation G --heartbeat-ms MS --app CLASS [--classpath CP] [--app-arg ARG]...}.
 * {@code --train-ms MS} (an AOT training run, {@link AotCache}) drains and exits MS ms after ready. Test hooks:
 * {@code --crash-on-start} exits with status 1 at once; {@code --hang-after-ms N} stops heartbeating
 * and blocks its loop after N ms.
 */
public final class WorkerMain {
    private WorkerMain() {}

    /** The exit status of a worker whose app could not be loaded or threw in start. */
    static final int APP_FAILED = 1;
    private static final int FRAMES_LOGGED = 8;

    private static int slot;

    /** {@code -Dknot.worker.prelink=false} turns the prelink thread off (to measure what it saves). */
    static final String PRELINK_PROPERTY = "knot.worker.prelink";
    /** {@code -Dknot.worker.marks=true} logs, once ready, how long each start-up step took (diagnostics). */
    static final String MARKS_PROPERTY = "knot.worker.marks";

    /** Start-up step times since main, kept only under {@link #MARKS_PROPERTY}; marked by main, then the loop thread. */
    private static final class Marks {
        private final long start;
        private final StringBuilder text;
        private long last;

        Marks(long start) {
            this.start = last = start;
            this.text = Boolean.getBoolean(MARKS_PROPERTY) ? new StringBuilder() : null;
        }

        boolean enabled() {
            return text != null;
        }

        synchronized void mark(String step) {
            if (text == null) return;
            long now = System.nanoTime();
            if (!text.isEmpty()) text.append(", ");
            text.append(step).append(' ').append(String.format("%.1f", (now - last) / 1e6))
                    .append(" (").append(String.format("%.1f", (now - start) / 1e6)).append(')');
            last = now;
        }

        @Override
        public synchronized String toString() {
            return text == null ? "" : text.toString();
        }
    }

    static void log(String msg) {
        System.err.println(Instant.now() + " knot-worker-" + slot + "[" + ProcessHandle.current().pid() + "]: " + msg);
    }

    /**
     * The worker JVM's entry point, started by the master: adopts the handed listeners and control channel, loads the
     * app and runs it on an event loop until the master says stop or goes away.
     *
     * @param args as the master passes them (not meant to be typed by hand)
     * @throws Exception if the worker cannot start; the master sees its exit and accounts for it
     */
    public static void main(String[] args) throws Exception {
        long mainNanos = System.nanoTime();
        // Before anything else: the downcalls below are most of this JVM's start-up; link half of them on a second core.
        if (!"false".equals(System.getProperty(PRELINK_PROPERTY))) dev.knot.system.Prelink.start();
        Instant mainAt = Instant.now();
        Marks marks = new Marks(mainNanos);
        // First of all: die with the master even if this worker's loop is stuck later (the EOF and NOTE_EXIT watches
        // below run on that loop), and leave if the master is already gone.
        marks.mark("start");
        String master = System.getenv(dev.knot.fork.Handoff.ENV_PARENT_PID);
        if (master != null && master.matches("\\d{1,9}") && !dev.knot.fork.Spawner.dieWithParent(Integer.parseInt(master))) {
            log("master " + master + " exited before this worker started: exiting");
            System.exit(1);
        }
        marks.mark("parent");
        FileLimit.raise("worker", WorkerMain::log);         // before the loop opens anything
        marks.mark("limit");
        long heartbeatMs = 1000;
        long maxRequests = 0;
        long hangAfter = -1;
        long trainMs = -1;
        int generation = 0;
        String appClass = AppLoader.DEFAULT_APP;
        List<Path> classPath = new ArrayList<>();
        List<String> appArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--slot" -> slot = Integer.parseInt(args[++i]);
                case "--generation" -> generation = Integer.parseInt(args[++i]);
                case "--heartbeat-ms" -> heartbeatMs = Long.parseLong(args[++i]);
                case "--app" -> appClass = args[++i];
                case "--classpath" -> classPath.addAll(AppConfig.splitClassPath(args[++i]));
                case "--app-arg" -> appArgs.add(args[++i]);
                case "--crash-on-start" -> {
                    log("crashing on start (test hook)");
                    System.exit(1);
                }
                case "--hang-after-ms" -> hangAfter = Long.parseLong(args[++i]);
                case "--train-ms" -> trainMs = Long.parseLong(args[++i]);
                case "--max-requests" -> maxRequests = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown worker option " + args[i]);
            }
        }
        Inheritance in = Inheritance.fromEnvironment();
        marks.mark("inheritance");
        EventLoop loop = EventLoop.open();
        long loopNanos = System.nanoTime();
        marks.mark("loop");
        Restoration restored = in.restore(loop.selector());
        marks.mark("restore");
        StreamSocket channel = StreamSocket.adopt(in.fd(Master.CONTROL_FD));
        List<ListenSocket> listeners = new ArrayList<>();
        List<Key> listenKeys = new ArrayList<>();
        for (int i = 0; ; i++) {
            int fd = in.fd(Master.LISTEN_FD + i);
            if (fd < 0) break;
            listeners.add(ListenSocket.adopt(fd));
            listenKeys.add(restored.keys().stream().filter(k -> !k.isKnote() && k.fd() == fd).findFirst().orElse(null));
        }
        marks.mark("adopt");
        LoopWorkerContext ctx = new LoopWorkerContext(loop, listeners, listenKeys, restored, slot, generation, appArgs);
        String app = appClass;
        long hang = hangAfter, interval = heartbeatMs, limit = maxRequests, train = trainMs;
        loop.execute(() -> {
            WorkerApp instance;
            long appNanos = System.nanoTime();
            try {
                marks.mark("loop thread");
                instance = AppLoader.instantiate(app, classPath);
                marks.mark("app loaded");
                instance.start(ctx);
                marks.mark("app started");
            } catch (Throwable t) {
                log("app " + app + " failed to start: " + describe(t));
                System.exit(APP_FAILED);
                return;
            }
            serve(loop, in, restored, channel, ctx, instance, interval, hang, limit);
            for (Key k : restored.keys()) {
                // A restored registration nobody serves is a forged or mismatched snapshot: fail, do not serve half.
                // The listeners' keys are the app's to serve or to leave (the loop parks an unserved ready key).
                if (k.isValid() && !loop.hasHandler(k) && !listenKeys.contains(k)) {
                    log("the snapshot restored a registration nothing serves (" + (k.isKnote() ? "knote " + k.ident() + " filter "
                            + k.filter() : "fd " + k.fd() + " interest " + k.interest()) + "): exiting");
                    System.exit(APP_FAILED);
                }
            }
            send(channel, "ready");
            marks.mark("ready sent");
            if (train >= 0) {
                // An AOT training run (AotCache): serve for a moment, then drain and exit, and the JVM writes the cache.
                loop.schedule(() -> instance.drain(loop::shutdownGracefully), train, TimeUnit.MILLISECONDS);
            }
            long now = System.nanoTime();
            log("ready: " + app + ", " + restored.method() + " (" + restored.registered() + " registrations, "
                    + restored.keventNanos() / 1000 + " us); main at " + mainAt + ", ms from main to loop "
                    + (loopNanos - mainNanos) / 1_000_000 + ", to app start " + (appNanos - loopNanos) / 1_000_000
                    + ", app load and start " + (now - appNanos) / 1_000_000);
            if (marks.enabled()) log("start-up marks, ms since main: " + marks);
        });
        loop.run();
        System.exit(0);
    }

    /** Heartbeats, the master's commands and the master's exit, once the app has started. */
    private static void serve(EventLoop loop, Inheritance in, Restoration restored, StreamSocket channel, LoopWorkerContext ctx,
                              WorkerApp app, long heartbeatMs, long hangAfter, long maxRequests) {
        Heartbeat beat = new Heartbeat(heartbeatMs);
        Runnable heartbeat = () -> send(channel, beat.line(ctx.requests(), ctx.openConnections()));
        Recycler recycler = new Recycler(maxRequests, ctx, app, line -> send(channel, line), heartbeat, loop::shutdownGracefully);
        ctx.observe(recycler::changed);
        Key heartbeatKey = restored.keys().stream().filter(k -> k.isKnote() && k.filter() == EVFILT_TIMER && k.ident() == Master.HEARTBEAT_TIMER)
                .findFirst().orElse(null);
        if (heartbeatKey != null) {
            loop.attach(heartbeatKey, k -> heartbeat.run());      // the master's timer, copied into this kqueue
        } else {
            loop.scheduleAtFixedRate(heartbeat, heartbeatMs, heartbeatMs, TimeUnit.MILLISECONDS);
        }
        // Commands from the master; EOF means it is gone.
        StringBuilder input = new StringBuilder();
        boolean[] draining = {false};
        loop.register(channel, Selector.OP_READ, k -> {
            if (ControlLines.readAvailable(channel, input, Integer.MAX_VALUE) == ControlLines.Read.EOF) {
                log("master closed the control channel: exiting");
                loop.shutdownNow();
                return;
            }
            int nl;
            while ((nl = input.indexOf("\n")) >= 0) {
                String cmd = input.substring(0, nl);
                input.delete(0, nl + 1);
                if (cmd.equals("drain") && !draining[0]) {
                    draining[0] = true;
                    recycler.masterDrain();
                }
            }
        });
        loop.watch(in.parentPid(), EVFILT_PROC, 0, NOTE_EXIT, 0, k -> {
            log("master " + in.parentPid() + " exited: exiting");
            loop.shutdownNow();
        });
        if (hangAfter >= 0) {
            loop.schedule(() -> {
                log("hanging (test hook)");
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, hangAfter, TimeUnit.MILLISECONDS);
        }
    }

    /** The exception's class and message, its causes', and the first frames: one log entry that says what broke. */
    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(t.toString());
        StackTraceElement[] st = t.getStackTrace();
        for (int i = 0; i < Math.min(FRAMES_LOGGED, st.length); i++) sb.append("\n\tat ").append(st[i]);
        if (st.length > FRAMES_LOGGED) sb.append("\n\t... ").append(st.length - FRAMES_LOGGED).append(" more");
        for (Throwable c = t.getCause(); c != null && c != t; c = c.getCause()) {
            sb.append("\nCaused by: ").append(c);
            StackTraceElement[] cs = c.getStackTrace();
            for (int i = 0; i < Math.min(3, cs.length); i++) sb.append("\n\tat ").append(cs[i]);
        }
        return sb.toString();
    }

    private static void send(StreamSocket channel, String line) {
        try (Arena a = Arena.ofConfined()) {
            byte[] b = (line + "\n").getBytes(StandardCharsets.US_ASCII);
            MemorySegment m = a.allocate(b.length);
            MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
            channel.write(m);
        } catch (IOException e) {
            // the master is gone: the EOF or NOTE_EXIT handler ends this worker
        }
    }
}
