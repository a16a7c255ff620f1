// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.fork.Restoration;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.net.ListenSocket;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The {@link WorkerContext} of a worker JVM; the counters are what its heartbeats report to the master. */
final class LoopWorkerContext implements WorkerContext {
    private final EventLoop loop;
    private final List<ListenSocket> listeners;
    private final List<Key> listenKeys;
    private final Restoration restoration;
    private final int slot, generation;
    private final List<String> args;
    private final AtomicLong requests = new AtomicLong();
    private volatile int connections;
    private Runnable observer = () -> {};

    LoopWorkerContext(EventLoop loop, List<ListenSocket> listeners, List<Key> listenKeys, Restoration restoration, int slot,
                      int generation, List<String> args) {
        this.loop = loop;
        this.listeners = List.copyOf(listeners);
        this.listenKeys = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(listenKeys));   // may hold nulls
        this.restoration = restoration;
        this.slot = slot;
        this.generation = generation;
        this.args = List.copyOf(args);
    }

    @Override
    public EventLoop loop() {
        return loop;
    }

    @Override
    public List<ListenSocket> listeners() {
        return listeners;
    }

    @Override
    public Restoration restoration() {
        return restoration;
    }

    @Override
    public int slot() {
        return slot;
    }

    @Override
    public int generation() {
        return generation;
    }

    @Override
    public void requestDone() {
        requests.incrementAndGet();
        observer.run();
    }

    @Override
    public void connections(int open) {
        connections = open;
        observer.run();
    }

    /** Runs {@code r} (on the loop thread) after every request and connection-count change: the request limit. */
    void observe(Runnable r) {
        observer = java.util.Objects.requireNonNull(r);
    }

    @Override
    public List<String> args() {
        return args;
    }

    @Override
    public Key listenKey(int index) {
        return listenKeys.get(index);
    }

    @Override
    public long requests() {
        return requests.get();
    }

    int openConnections() {
        return connections;
    }
}
