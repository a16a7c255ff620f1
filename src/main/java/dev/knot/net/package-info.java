// SPDX-License-Identifier: Apache-2.0
/**
 * The net layer: non-blocking sockets on raw descriptors, made to be driven by a {@link dev.knot.loop.Selector}
 * or {@link dev.knot.loop.EventLoop}.
 *
 * <p>{@link dev.knot.net.ListenSocket} binds, listens and accepts; {@link dev.knot.net.StreamSocket} is a
 * connected TCP (IPv4, IPv6) or Unix-domain socket with reads and writes on {@code MemorySegment}s and direct
 * buffers, scatter/gather, half-close and the usual options. Both implement {@link dev.knot.loop.Pollable}, so
 * they register on a selector by their descriptor. Reads and writes never block: they return what the kernel
 * took or gave, 0 when it would block, and -1 at end of stream; wait for READ or WRITE readiness in between.
 * {@link dev.knot.net.DatagramSocket} is UDP over IPv4 and IPv6: datagrams sent to an address or a connected peer,
 * received with their sender and a truncation flag, multicast groups and SO_BROADCAST.
 *
 * <p>{@link dev.knot.net.Connection} is the buffered layer on top, for an {@link dev.knot.loop.EventLoop}: a write
 * queue with high and low water marks and writability events, automatic WRITE interest, read pausing, a graceful
 * close after the queue is flushed, {@code byte[]}/{@code ByteBuffer} as well as {@code MemorySegment} writes, and a
 * close reason that tells a peer's reset from an error. Its buffers come from the loop's
 * {@link dev.knot.net.BufferPool} and go back when the connection is idle.
 *
 * <p>Ownership: a socket owns its descriptor and closes it once ({@code close()} is idempotent); buffers stay the
 * caller's. Threading: a socket is used by one thread, its loop's; {@code close()} may come from any thread.
 * Errors: {@link dev.knot.sys.ErrnoException}s naming the system call and errno; a closed socket throws
 * {@link java.nio.channels.ClosedChannelException}; writes never raise SIGPIPE (a vanished peer is EPIPE).
 * Linux only for now (the kqueue layer runs on FreeBSD and macOS too).
 */
package dev.knot.net;
