// SPDX-License-Identifier: Apache-2.0
/**
 * The fork layer: starting worker processes that inherit descriptors and a snapshot of the parent's knotes.
 *
 * <p>A JVM cannot go on after a raw {@code fork(2)}, so Knot spawns: {@link dev.knot.fork.Spawner} runs
 * {@code posix_spawn} with the chosen descriptors at 3, 4, ... and every other one closed;
 * {@link dev.knot.fork.Handoff} describes what the child gets (named descriptors and, with
 * {@link dev.knot.fork.ForkPolicy#COPY}, a versioned {@link dev.knot.fork.Snapshot} of a selector's
 * registrations) through the child's environment; in the child, {@link dev.knot.fork.Inheritance} checks that the
 * handoff is its own and replays the snapshot in one kevent batch, all or nothing, and
 * {@link dev.knot.fork.Restoration} says how the registrations arrived. {@link dev.knot.fork.ListenFds} adopts
 * systemd-style {@code LISTEN_FDS} listeners.
 *
 * <p>Ownership: handed descriptors stay the parent's; the child owns its copies. Errors are
 * {@link java.io.IOException}s naming the call and errno, or a {@link dev.knot.fork.SnapshotException} naming
 * what is wrong with a snapshot, which is then refused whole. The fork path runs on Linux only for now.
 */
package dev.knot.fork;
