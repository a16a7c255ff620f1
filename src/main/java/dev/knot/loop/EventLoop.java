// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import dev.knot.system.DeadlineHeap;
import dev.knot.kqueue.KqueueException;
import dev.knot.sys.ErrnoException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A single-threaded event loop: a {@link Selector} that dispatches readiness to {@link Handler}s, a task queue any
 * thread may feed, and timers with nanosecond deadlines, all driven by one kevent call per iteration.
 *
 * <p>One iteration: run the timers that are due, apply pending interest changes and wait (until the next timer,
 * or not at all when tasks are queued) in a single kevent call, dispatch every ready key (between the two calls of
 * each {@link RoundHook}), then run the queued tasks. Dispatching and task running allocate nothing.
 *
 * <p><b>Threading:</b> {@link #run()} runs the loop on the calling thread (or {@link #start(String)} on a new
 * one). {@link #register}, {@link Key} methods and handlers belong to that thread; {@link #execute},
 * {@link #schedule}, {@link #scheduleAtFixedRate}, the shutdown methods and {@link #metrics()} may be called from
 * any thread. <b>Ownership:</b> the loop owns its selector and every {@link Pollable} registered with it that is
 * also {@link AutoCloseable}: shutdown closes them. <b>Errors:</b> an exception from a handler, task or timer is
 * passed to the error handler (by default printed) and the loop goes on; the failing handler's resource is
 * closed if the loop owns it. A peer that resets its connection (ECONNRESET) or leaves a write nowhere to go
 * (EPIPE) is the client's doing, not the server's: such errors are counted in {@link #metrics()} and logged
 * ({@link #log}) at most once per {@link #peerErrorLogInterval interval} as one line with the count, so a client
 * cannot flood the log; they do not reach the error handler.
 */
public final class EventLoop implements Executor, AutoCloseable {
    /** Reacts to readiness of a registered descriptor. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Called on the loop thread with the key whose {@link Key#readyOps()} were found by the last select.
         *
         * @param key the key, valid for this call; its attachment is the loop's, not the handler's
         * @throws Exception anything; the loop passes it to its error handler and closes the resource it owns
         */
        void ready(Key key) throws Exception;
    }

    /**
     * Work done around the dispatch of an iteration's ready keys: what a server batches across its connections
     * (reads of every readable socket before their handlers run, writes of every answer after) goes to the kernel in
     * one system call instead of one per connection. The ready keys are handed out in runs: before each run every
     * hook sees its keys and may end it sooner (the loop takes the shortest, at least one key), so that a batch's
     * first answers do not wait for hundreds of handlers; after each run every hook hears that it is over. An
     * iteration without ready keys calls neither.
     *
     * <p><b>Threading:</b> the loop thread. <b>Errors:</b> an exception from a hook goes to the loop's error handler;
     * the dispatch (or the next hook) runs regardless.
     */
    public interface RoundHook {
        /**
         * The ready keys {@code from} to {@code to - 1} ({@link Selector#readyKey}) are about to be handed out.
         *
         * @param selector the loop's selector, holding this iteration's ready keys
         * @param from the first key of the run
         * @param to the end of the run the loop proposes
         * @return where this hook wants the run to end, {@code from + 1} to {@code to} (the loop clamps it)
         * @throws Exception anything; the loop passes it to its error handler and keeps the run as proposed
         */
        default int beforeDispatch(Selector selector, int from, int to) throws Exception {
            return to;
        }

        /**
         * The run of keys announced by the last {@link #beforeDispatch} has been handed out; the queued tasks have not
         * run yet.
         *
         * @throws Exception anything; the loop passes it to its error handler
         */
        default void afterDispatch() throws Exception {}

        /**
         * The loop has stopped and closed what it owns: release what the hook holds. The loop forgets the hook.
         *
         * @throws Exception anything; the loop passes it to its error handler
         */
        default void loopTerminated() throws Exception {}
    }

    private static final int RUNNING = 0, SHUTTING_DOWN = 1, STOPPING_NOW = 2, TERMINATED = 3;

    private final Selector selector;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pendingTasks = new AtomicInteger();
    private final DeadlineHeap<Timer> timers = new DeadlineHeap<>(Timer.HEAP_ACCESS);
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile Thread thread;
    private volatile Consumer<Throwable> errorHandler = t -> t.printStackTrace();
    private volatile Consumer<String> logHandler = m -> System.err.println(java.time.Instant.now() + " " + m);

    private final PeerErrors peerErrors = new PeerErrors(this);

    // Metrics (written by the loop thread; read racily by metrics()).
    private long iterations, tasksRun, timersFired, maxTimerLag, totalTimerLag, busyNanos;
    private boolean warmStarted;                         // loop thread only
    private RoundHook[] hooks = new RoundHook[0];        // loop thread only

    private record Registration(Handler handler, AutoCloseable owned) {}

    private EventLoop(Selector selector) {
        this.selector = selector;
    }

    /**
     * Opens a loop with its own selector. Nothing runs until {@link #run()} or {@link #start(String)}.
     *
     * @return the loop, owned by the caller (shut it down or close it)
     * @throws KqueueException if the kqueue cannot be opened (EMFILE, ENFILE, ENOMEM)
     */
    public static EventLoop open() throws KqueueException {
        return new EventLoop(Selector.open());
    }

    /**
     * Sets what receives exceptions thrown by handlers, tasks and timers (default: print the stack trace).
     *
     * @param handler receives each exception; called on the thread that caught it (the loop's, or the reporter's)
     */
    public void onError(Consumer<Throwable> handler) {
        this.errorHandler = Objects.requireNonNull(handler);
    }

    /**
     * Sets what receives the loop's log lines ({@link #log}; default: standard error with a timestamp).
     *
     * @param handler takes each line, on whatever thread logged it
     */
    public void onLog(Consumer<String> handler) {
        this.logHandler = Objects.requireNonNull(handler);
    }

    /**
     * Writes one line to the log handler ({@link #onLog}): for notices an operator should see once, not stack
     * traces. Any thread.
     *
     * @param message the line
     */
    public void log(String message) {
        try {
            logHandler.accept(message);
        } catch (Throwable ignored) {
            // the log handler failed: nothing more to do
        }
    }

    /**
     * Sets how often peer resets and broken pipes are summarised in the log (default 10 s). Any thread.
     *
     * @param interval the least time between two summaries
     * @param unit its unit
     * @throws IllegalArgumentException if the interval is not positive
     */
    public void peerErrorLogInterval(long interval, TimeUnit unit) {
        long n = unit.toNanos(interval);
        if (n <= 0) throw new IllegalArgumentException("interval " + interval + " " + unit + " is not positive");
        peerErrors.intervalNanos = n;
    }

    /**
     * Hands {@code t} to the error handler ({@link #onError}), as an exception thrown by a handler would be: for
     * trouble a handler deals with itself but that its operator should hear of. Any thread.
     *
     * @param t the trouble to report
     */
    public void report(Throwable t) {
        error(t);
    }

    /** {@return the loop's selector, for the loop thread} */
    public Selector selector() {
        return selector;
    }

    /** {@return true when called on the loop's thread} */
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /**
     * Registers a descriptor the loop does not own.
     *
     * @param fd the descriptor, which stays the caller's
     * @param interest {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}
     * @param handler called on the loop thread when the descriptor is ready
     * @return the key of the registration
     * @throws IllegalStateException off the loop thread (once it runs) or after shutdown
     */
    public Key register(int fd, int interest, Handler handler) {
        checkLoopThread();
        return selector.register(fd, interest, new Registration(Objects.requireNonNull(handler), null));
    }

    /**
     * Registers a {@link Pollable}; if it is also {@link AutoCloseable} the loop owns it and closes it on shutdown
     * (or when its handler throws).
     *
     * @param p the socket or other descriptor holder
     * @param interest {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}
     * @param handler called on the loop thread when the descriptor is ready
     * @return the key of the registration
     * @throws IllegalStateException off the loop thread (once it runs) or after shutdown
     */
    public Key register(Pollable p, int interest, Handler handler) {
        checkLoopThread();
        AutoCloseable owned = p instanceof AutoCloseable c ? c : null;
        return selector.register(p.fd(), interest, new Registration(Objects.requireNonNull(handler), owned));
    }

    /**
     * Gives a key the loop did not create (one restored from a fork snapshot, say) a handler; the loop does not own
     * its descriptor.
     *
     * @param key a valid key of this loop's selector
     * @param handler called on the loop thread when the key is ready
     * @return {@code key}
     */
    public Key attach(Key key, Handler handler) {
        checkLoopThread();
        Object before = key.attach(new Registration(Objects.requireNonNull(handler), null));
        if (before instanceof Parked p) key.interest(p.interest());
        return key;
    }

    /**
     * Watches a knote ({@link Selector#watch}) with a handler: timers, signals, process exits.
     *
     * @param ident the knote's ident: a timer id, signal number, pid or descriptor
     * @param filter the filter, e.g. {@link dev.knot.kqueue.Kevent#EVFILT_TIMER}
     * @param flags extra {@code EV_*} flags (EV_CLEAR, EV_ONESHOT...)
     * @param fflags the filter flags, e.g. {@link dev.knot.kqueue.Kevent#NOTE_EXIT}
     * @param data the filter data, e.g. a timer period
     * @param handler called on the loop thread when the knote fires; {@link Key#eventData()} holds the event
     * @return the key of the watch
     * @throws IllegalStateException off the loop thread (once it runs) or after shutdown
     */
    public Key watch(long ident, int filter, int flags, int fflags, long data, Handler handler) {
        checkLoopThread();
        return selector.watch(ident, filter, flags, fflags, data, new Registration(Objects.requireNonNull(handler), null));
    }

    /**
     * Runs {@code hook} around every later iteration's dispatch, after the hooks added before it.
     *
     * @param hook what to run; the caller keeps it, the loop holds it until {@link #removeRoundHook}
     * @throws IllegalStateException off the loop thread (once it runs) or after shutdown
     */
    public void addRoundHook(RoundHook hook) {
        Objects.requireNonNull(hook, "hook");
        checkLoopThread();
        RoundHook[] h = java.util.Arrays.copyOf(hooks, hooks.length + 1);
        h[hooks.length] = hook;
        hooks = h;
    }

    /**
     * Stops running {@code hook}; nothing if it was not added.
     *
     * @param hook a hook given to {@link #addRoundHook}
     * @throws IllegalStateException off the loop thread (once it runs)
     */
    public void removeRoundHook(RoundHook hook) {
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) throw new IllegalStateException("remove a round hook on the loop thread (" + t.getName() + ")");
        List<RoundHook> h = new ArrayList<>(List.of(hooks));
        if (h.remove(hook)) hooks = h.toArray(new RoundHook[0]);
    }

    /**
     * The handler a key was registered (or {@link #attach attached}) with on this loop.
     *
     * @param key a key of this loop's selector
     * @return its handler, or null if it has none (a key restored from a snapshot that nothing attached)
     */
    public Handler handler(Key key) {
        return key.attachment() instanceof Registration r ? r.handler : null;
    }

    private void checkLoopThread() {
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            throw new IllegalStateException("register on the loop thread (" + t.getName() + "); use execute() from others");
        }
        if (state.get() >= STOPPING_NOW) throw new IllegalStateException("the event loop is shut down");
    }

    /**
     * Runs {@code task} on the loop thread, after the current iteration's dispatch. Callable from any thread.
     *
     * @throws RejectedExecutionException after shutdown
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (state.get() != RUNNING) throw new RejectedExecutionException("the event loop is shut down");
        tasks.offer(task);
        pendingTasks.incrementAndGet();
        if (!inLoop()) selector.wakeup();
    }

    /**
     * Runs {@code task} once after {@code delay}. Callable from any thread.
     *
     * @param task what to run, on the loop thread
     * @param delay how long to wait; 0 or negative runs it at the next iteration
     * @param unit the unit of {@code delay}
     * @return a handle whose {@link Timer#cancel()} stops it
     * @throws RejectedExecutionException after shutdown
     */
    public Timer schedule(Runnable task, long delay, TimeUnit unit) {
        return addTimer(new Timer(task, System.nanoTime() + Math.max(0, unit.toNanos(delay)), 0));
    }

    /**
     * Runs {@code task} at {@code initialDelay} and then every {@code period}, measured from the planned start of
     * the previous run (a late run is followed by catch-up runs, as {@code ScheduledExecutorService} does).
     *
     * @param task what to run, on the loop thread
     * @param initialDelay the wait before the first run
     * @param period the time between planned starts; must be positive
     * @param unit the unit of both times
     * @return a handle whose {@link Timer#cancel()} stops it
     * @throws IllegalArgumentException if {@code period} is not positive
     * @throws RejectedExecutionException after shutdown
     */
    public Timer scheduleAtFixedRate(Runnable task, long initialDelay, long period, TimeUnit unit) {
        long p = unit.toNanos(period);
        if (p <= 0) throw new IllegalArgumentException("period " + period + " " + unit + " is not positive");
        return addTimer(new Timer(task, System.nanoTime() + Math.max(0, unit.toNanos(initialDelay)), p));
    }

    private Timer addTimer(Timer t) {
        if (state.get() != RUNNING) throw new RejectedExecutionException("the event loop is shut down");
        t.loop = this;
        if (inLoop()) {
            if (!t.cancelled) timers.add(t);
        } else {
            execute(() -> {
                if (!t.cancelled) timers.add(t);
            });
        }
        return t;
    }

    void cancel(Timer t) {
        if (inLoop()) {
            timers.remove(t);
        } else if (state.get() == RUNNING) {
            try {
                execute(() -> timers.remove(t));
            } catch (RejectedExecutionException shuttingDown) {
                // the timers go with the loop
            }
        }
    }

    /**
     * Starts the loop on a new platform thread and returns it.
     *
     * @param name the thread's name
     * @return the started thread
     */
    public Thread start(String name) {
        Thread t = Thread.ofPlatform().name(name).unstarted(this::run);
        t.start();
        return t;
    }

    /**
     * Runs the loop on the calling thread until {@link #shutdownGracefully()} or {@link #shutdownNow()}, then closes
     * what it owns and its selector.
     *
     * @throws IllegalStateException if the loop is already running or was run before
     */
    public void run() {
        synchronized (this) {
            if (thread != null) throw new IllegalStateException("the event loop already ran on " + thread.getName());
            thread = Thread.currentThread();
        }
        try {
            loop();
        } finally {
            terminate();
        }
    }

    /** Closes what the loop owns, tells the round hooks, closes the selector: the loop's last act. */
    private void terminate() {
        closeOwned();
        RoundHook[] h = hooks;
        hooks = new RoundHook[0];
        for (RoundHook hook : h) {
            try {
                hook.loopTerminated();
            } catch (Throwable t) {
                error(t);
            }
        }
        selector.close();
        state.set(TERMINATED);
        terminated.countDown();
    }

    private void loop() {
        while (true) {
            int st = state.get();
            if (st == STOPPING_NOW) return;
            if (st == SHUTTING_DOWN && pendingTasks.get() == 0) return;
            long now = System.nanoTime();
            runTimers(now);
            long timeout;
            if (pendingTasks.get() > 0 || st != RUNNING) {
                timeout = 0;
            } else {
                Timer next = timers.peek();
                timeout = next == null ? -1 : Math.max(0, next.deadline - System.nanoTime());
            }
            if (timeout != 0 && !warmStarted) {
                // The first time the loop is about to wait with nothing to do: the warm-up's CPU then takes nothing
                // from the loop's start-up (a prefork worker's, up to ready) nor from work already queued.
                warmStarted = true;
                PeerErrors.warmOnce();
            }
            try {
                selector.select(timeout);
            } catch (KqueueException | RuntimeException e) {
                error(e);
                if (!selector.isOpen()) return;
                sleepAfterFailure();
            }
            long t0 = System.nanoTime();
            RoundHook[] h = hooks;
            int n = selector.readyCount();
            if (h.length == 0) {
                dispatch(0, n);
            } else {
                for (int from = 0; from < n; ) {
                    int to = n;
                    for (RoundHook hook : h) {
                        try {
                            to = Math.clamp(hook.beforeDispatch(selector, from, to), from + 1, to);
                        } catch (Throwable t) {
                            error(t);
                        }
                    }
                    dispatch(from, to);
                    for (RoundHook hook : h) {
                        try {
                            hook.afterDispatch();
                        } catch (Throwable t) {
                            error(t);
                        }
                    }
                    from = to;
                }
            }
            runTasks();
            busyNanos += System.nanoTime() - t0;
            iterations++;
        }
    }

    private void dispatch(int from, int to) {
        for (int i = from; i < to; i++) {
            Key k = selector.readyKey(i);
            if (!k.isValid()) continue;
            if (!(k.attachment() instanceof Registration r)) {
                parkUnattached(k);
                k.clearReady();
                continue;
            }
            try {
                r.handler.ready(k);
            } catch (Throwable t) {
                error(t);
                if (r.owned != null) {
                    if (k.isValid()) k.cancelForClose();
                    closeQuietly(r.owned);
                }
            }
            k.clearReady();
        }
    }

    /**
     * A ready key with no handler (restored from a snapshot, not attached yet) would be reported again at every
     * select, level-triggered, and spin the loop: its interest is set aside until {@link #attach} gives it a handler.
     */
    private void parkUnattached(Key k) {
        if (k.isKnote() || k.interest() == 0 || k.attachment() instanceof Parked) return;
        int interest = k.interest();
        k.interest(0);
        k.attach(new Parked(interest));
        log("a registration without a handler is ready (fd " + k.fd() + ", interest " + interest
                + "): its interest waits until a handler is attached");
    }

    private record Parked(int interest) {}

    /**
     * Whether a key has a handler on this loop (it was registered through the loop or {@link #attach attached}).
     *
     * @param key a key of this loop's selector
     * @return true if a handler will see its readiness
     */
    public boolean hasHandler(Key key) {
        return key.attachment() instanceof Registration;
    }

    private void runTasks() {
        // Only the tasks present now: a task that re-submits itself runs next iteration, after I/O.
        int n = pendingTasks.get();
        for (int i = 0; i < n; i++) {
            Runnable task = tasks.poll();
            if (task == null) break;
            pendingTasks.decrementAndGet();
            tasksRun++;
            try {
                task.run();
            } catch (Throwable t) {
                error(t);
            }
        }
    }

    private void runTimers(long now) {
        Timer t;
        while ((t = timers.peek()) != null && t.deadline - now <= 0) {
            timers.poll();
            long lag = now - t.deadline;
            if (lag > maxTimerLag) maxTimerLag = lag;
            totalTimerLag += lag;
            timersFired++;
            if (t.period > 0) {
                t.deadline += t.period;
                if (!t.cancelled) timers.add(t);
            }
            try {
                t.task.run();
            } catch (Throwable e) {
                error(e);
            }
            now = System.nanoTime();
        }
    }

    private void error(Throwable t) {
        if (t instanceof ErrnoException e && PeerErrors.isPeerGone(e)) {
            peerErrors.count(e);
            return;
        }
        try {
            errorHandler.accept(t);
        } catch (Throwable ignored) {
            // the error handler failed too: nothing more to do
        }
    }

    private static void sleepAfterFailure() {
        // A persistent kevent failure must not spin a core.
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeOwned() {
        List<AutoCloseable> owned = new ArrayList<>();
        selector.forEachKey(k -> {
            if (k.attachment() instanceof Registration r && r.owned != null) owned.add(r.owned);
            k.cancelForClose();
        });
        for (AutoCloseable c : owned) closeQuietly(c);
        timers.clear();
        tasks.clear();
        pendingTasks.set(0);
    }

    private void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            error(e);
        }
    }

    /**
     * Stops taking tasks, runs the ones already queued, then closes what the loop owns and exits {@link #run()}.
     * Timers that are not due are dropped.
     */
    public void shutdownGracefully() {
        if (state.compareAndSet(RUNNING, SHUTTING_DOWN)) wake();
    }

    /** Stops at once: queued tasks and timers are dropped, owned resources closed. */
    public void shutdownNow() {
        while (true) {
            int s = state.get();
            if (s >= STOPPING_NOW) return;
            if (state.compareAndSet(s, STOPPING_NOW)) break;
        }
        wake();
    }

    private void wake() {
        if (thread == null && state.get() == STOPPING_NOW) {
            // Stopped before it ever ran: release now (a graceful shutdown leaves its tasks for run()).
            synchronized (this) {
                if (thread == null) {
                    thread = Thread.currentThread();
                    terminate();
                    return;
                }
            }
        }
        selector.wakeup();
    }

    /**
     * Waits until {@link #run()} has returned; true if it did within the timeout.
     *
     * @param timeout the longest wait
     * @param unit the unit of {@code timeout}
     * @return true if the loop terminated within the timeout
     * @throws InterruptedException if the waiting thread is interrupted
     */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }

    /** {@return true once the loop has exited and closed what it owns} */
    public boolean isTerminated() {
        return state.get() == TERMINATED;
    }

    /** {@link #shutdownNow()} and wait for the loop to finish. */
    @Override
    public void close() throws InterruptedException {
        shutdownNow();
        if (!inLoop()) awaitTermination(30, TimeUnit.SECONDS);
    }

    /**
     * The loop's counters: iterations, kevent calls with their events and changes, tasks, timers and their lag,
     * and the time spent working and blocked. Safe to call from any thread; the values are a racy snapshot.
     *
     * @return the counters at about this moment
     */
    public Metrics metrics() {
        Selector s = selector;
        return new Metrics(iterations, s.keventCalls, s.eventsTotal, s.changesTotal, s.maxEventsPerCall, tasksRun,
                pendingTasks.get(), timersFired, maxTimerLag, timersFired == 0 ? 0 : totalTimerLag / timersFired,
                busyNanos, s.blockedNanos, s.size(), peerErrors.resets(), peerErrors.brokenPipes());
    }

    /**
     * A snapshot of an event loop's counters.
     *
     * @param iterations loop iterations
     * @param keventCalls kevent calls made by the selector
     * @param events events returned by those calls
     * @param changes changes submitted in them
     * @param maxEventsPerCall the most events one call returned
     * @param tasksRun tasks run
     * @param taskQueueDepth tasks waiting now
     * @param timersFired timer runs
     * @param maxTimerLagNanos the latest a timer ran after its deadline
     * @param avgTimerLagNanos the average lateness of timer runs
     * @param busyNanos time spent dispatching and running tasks
     * @param blockedNanos time spent waiting in kevent
     * @param registered keys registered now
     * @param peerResets handler errors that were ECONNRESET (the peer reset its connection)
     * @param brokenPipes handler errors that were EPIPE (a write to a connection the peer had closed)
     */
    public record Metrics(long iterations, long keventCalls, long events, long changes, long maxEventsPerCall,
                          long tasksRun, int taskQueueDepth, long timersFired, long maxTimerLagNanos,
                          long avgTimerLagNanos, long busyNanos, long blockedNanos, int registered,
                          long peerResets, long brokenPipes) {
        /** {@return events per kevent call} */
        public double eventsPerCall() {
            return keventCalls == 0 ? 0 : (double) events / keventCalls;
        }

        /** {@return changes per kevent call} */
        public double changesPerCall() {
            return keventCalls == 0 ? 0 : (double) changes / keventCalls;
        }
    }
}
