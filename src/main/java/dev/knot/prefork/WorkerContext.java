// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.loop.Key;

import java.util.List;

/**
 * What a worker gives its {@link WorkerApp}: the worker's event loop, the listeners its master handed it, how the
 * master's registrations were restored, the worker's identity, and the counters the master reads from its
 * heartbeats ({@code knotctl workers}).
 *
 * <p>Threading: {@link #loop()}, {@link #listeners()}, {@link #restoration()}, {@link #listenKey(int)} and the
 * identity methods may be called from any thread (the objects they return have their own rules: the loop's keys
 * and registrations belong to the loop thread). {@link #requestDone()} and {@link #connections(int)} may be called
 * from any thread; they only update counters.
 */
public interface WorkerContext {
    /**
     * The worker's event loop; the app registers its descriptors and timers here.
     *
     * @return the loop, owned by the worker (the app never closes or shuts it down: {@link WorkerApp#drain}'s
     *         {@code done} ends the worker)
     */
    dev.knot.loop.EventLoop loop();

    /**
     * The listening sockets the master handed this worker.
     *
     * @return in the order the master was given them; owned by the master: never close them
     */
    java.util.List<dev.knot.net.ListenSocket> listeners();

    /**
     * How the master's registrations (fork policy COPY: the listeners' READ knotes, the heartbeat timer) came into
     * this worker's kqueue.
     *
     * @return the restoration report; with fork policy DROP its method is NONE and it holds no keys
     */
    dev.knot.fork.Restoration restoration();

    /**
     * The worker's slot, 1 to the master's worker count; a replacement takes the slot of the worker it replaces.
     *
     * @return the slot
     */
    int slot();

    /**
     * The worker's generation: 1 at the master's start, one more per reload.
     *
     * @return the generation
     */
    int generation();

    /** One request finished: stats, --max-requests. */
    void requestDone();

    /**
     * Current open connections: stats.
     *
     * @param open the number of connections the app holds open now
     */
    void connections(int open);

    /**
     * The arguments given to the master with {@code --app-arg} (or {@link Prefork.Builder#appArgs}).
     *
     * @return in the order given; immutable, empty if none
     */
    List<String> args();

    /**
     * The key restored from the master's snapshot that watches listener {@code index} for READ: attach a handler
     * to it ({@link dev.knot.loop.EventLoop#attach}) instead of registering the listener again.
     *
     * @param index an index into {@link #listeners()}
     * @return the key, or null when the worker was started with fork policy DROP or the listener is this worker's
     *         own SO_REUSEPORT socket (then register the listener with the loop yourself)
     * @throws IndexOutOfBoundsException if {@code index} is not an index into {@link #listeners()}
     */
    Key listenKey(int index);

    /**
     * The requests counted by {@link #requestDone()} so far.
     *
     * @return the count
     */
    long requests();
}
