// SPDX-License-Identifier: Apache-2.0
/**
 * A Netty 4.2 transport on Knot: {@link dev.knot.netty.KnotIoHandler} runs one Knot selector (one kqueue) per Netty
 * event loop, and {@link dev.knot.netty.KnotSocketChannel}, {@link dev.knot.netty.KnotServerSocketChannel},
 * {@link dev.knot.netty.KnotDomainSocketChannel} and {@link dev.knot.netty.KnotServerDomainSocketChannel} are its
 * channels. A Netty user switches with two lines:
 * {@code new MultiThreadIoEventLoopGroup(n, KnotIoHandler.newFactory())} and
 * {@code .channel(KnotServerSocketChannel.class)} (or {@code KnotSocketChannel.class} for clients).
 *
 * <p>Netty is an optional dependency of Knot ({@code requires static}); only this package uses it, so an
 * application that does not use the transport never loads a Netty class. <b>Threading:</b> as in every Netty
 * transport, a channel's I/O runs on its event loop's thread; configs and futures may be used from any thread.
 * <b>Ownership:</b> each channel owns its socket; each handler owns its selector. <b>Errors:</b> failed system calls
 * reach the channel's futures and {@code exceptionCaught} as {@link java.io.IOException}s naming the call and errno
 * ({@link java.net.ConnectException} and {@link java.net.BindException} where Netty code expects them).
 */
package dev.knot.netty;
