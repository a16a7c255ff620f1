// SPDX-License-Identifier: Apache-2.0
/**
 * The Netty layer: a Netty 4.2 transport on Knot, for code that is written against Netty's channels and pipelines.
 *
 * <p>{@link dev.knot.netty.KnotIoHandler} is Netty's {@code IoHandler} over one Knot selector (one kqueue) per
 * event loop: {@code new MultiThreadIoEventLoopGroup(n, KnotIoHandler.newFactory())}, with
 * {@link dev.knot.netty.KnotSocketChannel} and {@link dev.knot.netty.KnotServerSocketChannel} as the channel
 * classes. It sits above {@code dev.knot.loop} and {@code dev.knot.net}.
 *
 * <p>Netty is an optional dependency of Knot: this package needs Netty on the class or module path, and nothing
 * outside it loads Netty, so the rest of Knot runs without it. Threading and errors follow Netty's rules: a
 * channel belongs to its event loop's thread.
 */
package dev.knot.netty;
