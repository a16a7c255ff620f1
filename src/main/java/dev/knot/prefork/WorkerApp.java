// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

/**
 * The user's application, instantiated once in each worker JVM (public no-arg constructor).
 *
 * <p>The master is given the class name and the class path ({@code --app CLASS --classpath PATH[:PATH...]}, or
 * {@link Prefork.Builder#app(String)}); every worker loads the class through a class loader over those entries
 * whose parent is the loader that has Knot, creates one instance, and drives it from its event loop.
 *
 * <p>Threading: both methods are called on the worker's loop thread ({@link WorkerContext#loop()}); the app may
 * start threads of its own, but it must hand work that touches the loop back through
 * {@link dev.knot.loop.EventLoop#execute(Runnable)}. An app that blocks the loop thread stops the worker's
 * heartbeats, and the master kills and replaces the worker once its heartbeat timeout passes.
 *
 * <p>Ownership: the listeners ({@link WorkerContext#listeners()}) belong to the master; an app never closes
 * them. Connections the app registers with the loop are closed by the loop when the worker exits.
 */
public interface WorkerApp {
    /**
     * Called once on the worker's loop thread, before the worker reports ready. Throwing fails the worker.
     *
     * <p>Typically registers READ interest on each listener (or attaches to the key restored from the master's
     * snapshot, {@link WorkerContext#listenKey(int)}) and returns; the work happens in the loop's handlers.
     *
     * @param ctx the worker's loop, listeners and counters; valid for the worker's whole life
     * @throws Exception anything: the worker logs it (class, message, first frames) to the master's log and exits
     *                   with status 1 without reporting ready; the master counts that as a crash, so an app that
     *                   always throws halts the master once the crash-loop limit is reached
     */
    void start(WorkerContext ctx) throws Exception;

    /**
     * Stop accepting, finish what is in flight, then call done.run() on the loop thread.
     *
     * <p>Called on the loop thread when the master retires this worker (reload, scale down, graceful stop). The
     * worker exits after {@code done} runs; the master kills it if it is still draining at its stop timeout. The
     * default calls {@code done} at once, which closes every open connection. {@link Drain} keeps the count of open
     * connections that most implementations need to know when to call {@code done}.
     *
     * @param done ends the worker; call it once, on the loop thread (later calls do nothing)
     */
    default void drain(Runnable done) { done.run(); }
}
