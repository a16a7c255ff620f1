// SPDX-License-Identifier: Apache-2.0
/**
 * The loop layer: a selector-like event loop over one kqueue.
 *
 * <p>{@link dev.knot.loop.Selector} is the NIO-style layer: {@code register(fd, interest, attachment)} gives a
 * {@link dev.knot.loop.Key}; interest changes are batched into the changelist of the next
 * {@code select(timeoutNanos)}, so N changes plus the wait cost one kevent call; the ready set is iterated with
 * {@code readyCount()}/{@code readyKey(i)} without allocating; {@code wakeup()} works from any thread;
 * {@code watch(...)} watches timers, signals, processes and vnodes. {@link dev.knot.loop.EventLoop} runs handlers
 * on top of it, with tasks ({@code execute}), timers ({@code schedule}, {@code scheduleAtFixedRate}), graceful and
 * immediate shutdown, and {@link dev.knot.loop.EventLoop.Metrics}. {@link dev.knot.loop.Pollable} is anything
 * with a descriptor to register (the sockets of {@code dev.knot.net}).
 *
 * <p>Threading: a selector and its keys belong to one thread (the loop's); other threads talk to a loop through
 * {@code execute}, {@code schedule}, {@code wakeup} and the shutdown methods. Ownership: a selector owns its kqueue;
 * an {@code EventLoop} owns its selector and every registered {@code Pollable} that is {@code AutoCloseable}.
 * Errors: kqueue failures are {@link dev.knot.kqueue.KqueueException}s; a failed change marks its key with
 * {@link dev.knot.loop.Key#ERROR} and its errno; exceptions from handlers go to the loop's error handler.
 */
package dev.knot.loop;
