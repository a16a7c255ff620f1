// SPDX-License-Identifier: Apache-2.0
/**
 * The prefork layer: a supervised master and worker JVMs, nginx/Unicorn style, for any {@link
 * dev.knot.prefork.WorkerApp}.
 *
 * <p>The master ({@link dev.knot.prefork.Master}, configured by {@link dev.knot.prefork.PreforkConfig} or the
 * command line) binds the listeners or adopts {@code LISTEN_FDS}, spawns N workers through {@code dev.knot.fork}
 * that inherit them, watches each with {@code EVFILT_PROC}, respawns crashed workers with backoff, halts on a crash
 * loop, kills hung ones, reloads and scales at run time, and answers commands on a Unix control socket
 * ({@link dev.knot.prefork.Ctl}, {@code knotctl}). Each worker ({@link dev.knot.prefork.WorkerMain}) runs the
 * user's {@code WorkerApp} on an {@link dev.knot.loop.EventLoop}, given a {@link dev.knot.prefork.WorkerContext}
 * with its listeners.
 *
 * <p>Threading: the master runs on its own event loop; a worker app's callbacks run on the worker's loop thread.
 * Errors at start-up name what was wrong in one line; a worker's failure is the master's to account for (it exits
 * and is respawned). Linux only for now.
 */
package dev.knot.prefork;
