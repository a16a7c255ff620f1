// SPDX-License-Identifier: Apache-2.0
/**
 * The kqueue layer: the Java face of kqueue(2) and kevent(2).
 *
 * <p>{@link dev.knot.kqueue.Kqueue} opens a kqueue and runs {@code kevent} (apply a changelist, then collect an
 * eventlist, in one call); {@link dev.knot.kqueue.KeventArray} is the flyweight over a native
 * {@code struct kevent[]} used for both lists; {@link dev.knot.kqueue.Kevent} holds the filter, flag and note
 * constants of the running platform; {@link dev.knot.kqueue.KqueueException} carries the errno of a failed call.
 *
 * <p>On FreeBSD and macOS the kernel's kqueue runs the calls. On Linux an emulation of FreeBSD's kqueue over epoll
 * does, with FreeBSD's constant values and {@code struct kevent} layout; its deviations from FreeBSD are listed in
 * {@code docs/emulation.md}. Code above this layer (the event loop, sockets, the fork path) never sees which.
 *
 * <p>Threading: a {@code Kqueue} may be used by several threads at once (a change by one, such as an
 * {@code EVFILT_USER} trigger, wakes another blocked in {@code kevent}); a {@code KeventArray} is used by one
 * thread at a time. Errors are exceptions, never memory corruption: indices, values and closed objects are
 * checked.
 */
package dev.knot.kqueue;
