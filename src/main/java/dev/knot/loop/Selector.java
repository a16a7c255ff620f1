// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.system.SlotTable;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A selector over a {@link Kqueue}, in the spirit of {@link java.nio.channels.Selector} but without its costs:
 * interest changes are batched into the changelist of the next kevent call (N changes plus the wait cost one
 * system call), the ready set is an array that is iterated by index, and nothing is allocated per event.
 *
 * <p>Each registered descriptor has a {@link Key}. Its READ and WRITE knotes are added on first interest and then
 * only enabled and disabled, which the kqueue (and Knot's emulation, lazily) does cheaply; level-triggered, so a
 * handler that does not drain a descriptor is told again. The key's token (slot and generation) travels in
 * udata, so an event for a cancelled key whose slot was reused is recognised and dropped.
 *
 * <p><b>Threading:</b> a selector belongs to one thread, its owner, which registers, changes interest, cancels and
 * selects: the thread of its first {@link #select}. Before that first select the selector may be set up from any
 * one thread (e.g. the one that opened it, before starting the loop thread); afterwards its methods and its keys'
 * changing methods throw {@link IllegalStateException} on any other thread (a plain comparison with the owner, so a
 * select from another thread cannot take the loop's events). Only {@link #wakeup()}, {@link #isOpen()} and
 * {@link #size()} may be called from any thread. {@link EventLoop} gives other threads a way in through
 * tasks. <b>Ownership:</b> the selector owns its kqueue and arrays, not the descriptors of its keys.
 * <b>Errors:</b> kevent failures are {@link KqueueException}s; a change that fails for one key (EV_ADD of a
 * descriptor that was closed, say) marks that key {@link Key#ERROR} with the errno instead of failing the select.
 */
public final class Selector implements AutoCloseable {
    /** Interest and readiness: the descriptor is readable (EVFILT_READ fired). */
    public static final int OP_READ = 1;
    /** Interest and readiness: the descriptor is writable (EVFILT_WRITE fired). */
    public static final int OP_WRITE = 4;
    /** Readiness of a watched knote ({@link #watch}): its filter fired; see {@link Key#eventData()} and friends. */
    public static final int OP_EVENT = 8;

    private static final long WAKE_IDENT = 0;
    private static final long MAX_WAIT_NANOS = 86_399_000_000_000L;      // macOS rejects longer timeouts
    private static final int MAX_EVENTS = 64 * 1024;

    private final Kqueue kq;
    private KeventArray changes;
    private KeventArray events;
    private final KeventArray wakeChange;
    private int nchanges;

    private final SlotTable<Key> keys = new SlotTable<>(1);   // slot 0 is never used, so udata 0 is never a key
    private int registered;

    // Keys whose interest changed since the last select; their changes are computed when the select flushes.
    private Key[] updated = new Key[64];
    private int nupdated;

    private Key[] ready = new Key[64];
    private int nready;
    private long round;

    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private volatile boolean closed;
    private volatile Thread owner;

    // Metrics, read through the event loop.
    long keventCalls, eventsTotal, changesTotal, maxEventsPerCall, blockedNanos;

    private Selector(Kqueue kq) {
        this.kq = kq;
        // Dispatch never needs the byte counts, and on the emulation they cost a FIONREAD per READ event and a
        // SIOCOUTQ plus a getsockopt per WRITE event; Key.readData()/writeData() ask for them on demand.
        kq.setReadDataExact(false);
        kq.setWriteDataExact(false);
        this.changes = KeventArray.allocate(256);
        this.events = KeventArray.allocate(1024);
        this.wakeChange = KeventArray.allocate(1);
    }

    /**
     * Opens a selector with its own kqueue and its wakeup knote (EVFILT_USER, ident 0, EV_CLEAR).
     *
     * @return the selector, owned by the caller, who closes it
     * @throws KqueueException if the kqueue cannot be opened
     */
    public static Selector open() throws KqueueException {
        Kqueue kq = Kqueue.open();
        Selector s = new Selector(kq);
        try {
            s.wakeChange.set(0, WAKE_IDENT, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0);
            kq.kevent(s.wakeChange, 1, null, 0, 0);
            s.wakeChange.set(0, WAKE_IDENT, EVFILT_USER, 0, NOTE_TRIGGER, 0, 0);
        } catch (KqueueException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * The kqueue underneath, for registrations the selector does not model (timers, signals, processes). The
     * selector set {@link Kqueue#setReadDataExact}{@code (false)} on it, so on Linux an EVFILT_READ knote added here
     * reports a lower bound in data unless it asks for NOTE_LOWAT.
     *
     * @return the kqueue; owned by the selector, which closes it
     */
    public Kqueue kqueue() {
        return kq;
    }

    /**
     * Registers a descriptor. The knotes are added with the next select.
     *
     * @param fd an open descriptor, owned by the caller
     * @param interest {@link #OP_READ}, {@link #OP_WRITE}, both, or 0
     * @param attachment anything; returned by {@link Key#attachment()}
     * @return the key, valid until {@link Key#cancel()}
     */
    public Key register(int fd, int interest, Object attachment) {
        ensureOpen();
        if (fd < 0) throw new IllegalArgumentException("fd " + fd + " is negative");
        checkInterest(interest);
        Key k = newKey(fd, attachment);
        k.interest(interest);
        return k;
    }

    private Key newKey(int fd, Object attachment) {
        // A new key per registration, with a new generation: a stale key's token never matches its slot again.
        Key k = new Key(this, fd, attachment);
        k.token = keys.add(k);
        registered++;
        return k;
    }

    /**
     * Throws unless called on the owner thread (or before any select, when there is no owner yet).
     *
     * @throws IllegalStateException on another thread
     */
    void checkOwner() {
        Thread o = owner;
        if (o != null && o != Thread.currentThread()) throw wrongThread(o);
    }

    private IllegalStateException wrongThread(Thread o) {
        return new IllegalStateException("the selector belongs to thread " + o.getName() + ", not "
                + Thread.currentThread().getName() + "; use EventLoop.execute or wakeup() from other threads");
    }

    private synchronized void claimOwner() {
        Thread o = owner;
        if (o == null) owner = Thread.currentThread();
        else if (o != Thread.currentThread()) throw wrongThread(o);
    }

    /** {@return the thread that owns this selector (the thread of its first select), or null before that} */
    public Thread owner() {
        return owner;
    }

    /**
     * Registers a {@link Pollable}'s descriptor, as {@link #register(int, int, Object)}.
     *
     * @param p the socket or other descriptor holder; the descriptor stays the caller's
     * @param interest {@link #OP_READ} and/or {@link #OP_WRITE}
     * @param attachment anything, given back by {@link Key#attachment()}
     * @return the key of the registration
     */
    public Key register(Pollable p, int interest, Object attachment) {
        return register(p.fd(), interest, attachment);
    }

    /**
     * Watches any knote that is not a descriptor's readiness: a timer, a user event, a signal, a process, a vnode.
     * The change ({@code EV_ADD|flags}, {@code fflags}, {@code data}) joins the next select's changelist; events
     * then make the key ready with {@link #OP_EVENT}. A knote the kernel drops after its event (EV_ONESHOT, a
     * process exit) invalidates its key once it has been dispatched.
     *
     * @param ident the knote's ident (timer id, signal number, pid, descriptor for EVFILT_VNODE...)
     * @param filter an {@code EVFILT_*} other than READ and WRITE, which {@link #register} handles
     * @param flags extra {@code EV_*} flags (EV_CLEAR, EV_ONESHOT, EV_DISPATCH...); EV_ADD is implied
     * @param fflags the filter flags
     * @param data the filter data (a timer period, ...)
     * @param attachment anything, given back by {@link Key#attachment()}
     * @return the key of the watch
     * @throws IllegalArgumentException for READ or WRITE, or for the selector's own wakeup knote
     */
    public Key watch(long ident, int filter, int flags, int fflags, long data, Object attachment) {
        ensureOpen();
        if (filter == EVFILT_READ || filter == EVFILT_WRITE) {
            throw new IllegalArgumentException("watch READ and WRITE through register(), which manages their interest");
        }
        if (filter == EVFILT_USER && ident == WAKE_IDENT) {
            throw new IllegalArgumentException("EVFILT_USER ident " + WAKE_IDENT + " is the selector's wakeup");
        }
        Key k = newKey(-1, attachment);
        k.initKnote(ident, filter, flags & ~(EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE), fflags, data);
        change(ident, filter, EV_ADD | (flags & ~(EV_DELETE | EV_ENABLE)), fflags, data, k.udata());
        return k;
    }

    /**
     * Creates the key of a descriptor whose READ/WRITE knotes are already in the kernel with this key's token (the
     * caller registers them in the same breath, e.g. replaying a fork snapshot in one batch). Nothing is sent.
     *
     * @param fd the descriptor, which stays the caller's
     * @param interest {@link #OP_READ} and/or {@link #OP_WRITE}, as registered in the kernel
     * @param attachment anything, given back by {@link Key#attachment()}
     * @return the key
     */
    public Key adopt(int fd, int interest, Object attachment) {
        ensureOpen();
        checkInterest(interest);
        Key k = newKey(fd, attachment);
        k.adoptInterest(interest);
        return k;
    }

    /**
     * As {@link #adopt} for a watched knote already in the kernel with this key's token.
     *
     * @param ident the knote's ident
     * @param filter the knote's filter
     * @param flags the {@code EV_*} flags it was added with
     * @param fflags its filter flags
     * @param data its filter data
     * @param attachment anything, given back by {@link Key#attachment()}
     * @return the key
     */
    public Key adoptWatch(long ident, int filter, int flags, int fflags, long data, Object attachment) {
        ensureOpen();
        Key k = newKey(-1, attachment);
        k.initKnote(ident, filter, flags, fflags, data);
        return k;
    }

    static void checkInterest(int interest) {
        if ((interest & ~(OP_READ | OP_WRITE)) != 0) {
            throw new IllegalArgumentException("interest 0x" + Integer.toHexString(interest) + " has bits other than OP_READ and OP_WRITE");
        }
    }

    /**
     * Calls {@code action} for every valid key (for shutdown: the caller may cancel keys as it goes).
     *
     * @param action called with each valid key, on the owner thread
     */
    public void forEachKey(java.util.function.Consumer<Key> action) {
        checkOwner();
        keys.forEach(k -> {
            if (k.valid) action.accept(k);
        });
    }

    /** {@return the number of keys registered} */
    public int size() {
        return registered;
    }

    void updated(Key k) {
        if (nupdated == updated.length) updated = Arrays.copyOf(updated, nupdated * 2);
        updated[nupdated++] = k;
    }

    void release(Key k) {
        keys.remove(k.udata());
        registered--;
    }

    /**
     * Applies pending interest changes and waits for readiness; the ready keys are then available through
     * {@link #readyCount()} and {@link #readyKey(int)}.
     *
     * @param timeoutNanos negative: wait until an event or {@link #wakeup()}; 0: do not wait. Capped at about a day.
     * @return the number of ready keys
     * @throws KqueueException if kevent fails as a whole (EBADF after close, EINTR when a signal interrupts the wait)
     */
    public int select(long timeoutNanos) throws KqueueException {
        ensureOpen();
        if (owner != Thread.currentThread()) claimOwner();
        round++;
        nready = 0;
        flushUpdates();
        long timeout = timeoutNanos < 0 ? -1 : Math.min(timeoutNanos, MAX_WAIT_NANOS);
        // A changelist larger than the eventlist could meet more errors than there is room to report, and kevent
        // then stops applying changes: send such excess without waiting first.
        while (nchanges > events.capacity()) {
            int chunk = events.capacity();
            int n = kevent(chunk, 0);
            shiftChanges(chunk);
            process(n);
        }
        if (timeout != 0 && wakeupPending.get()) timeout = 0;
        long t0 = timeout != 0 ? System.nanoTime() : 0;
        int n = kevent(nchanges, timeout);
        int sent = nchanges;
        nchanges = 0;
        if (process(n) == 0 && n > 0 && sent > 0) {
            // Only change errors came back, and kevent does not look for events then: look now, with nothing to apply.
            process(kevent(0, nready > 0 ? 0 : timeout));
        }
        if (timeout != 0) blockedNanos += System.nanoTime() - t0;
        wakeupPending.set(false);
        if (n == events.capacity() && events.capacity() < MAX_EVENTS) {
            KeventArray bigger = KeventArray.allocate(Math.min(MAX_EVENTS, events.capacity() * 2));
            events.close();
            events = bigger;
        }
        return nready;
    }

    /**
     * {@link #select(long)} with no wait.
     *
     * @return the number of ready keys
     * @throws KqueueException if kevent fails as a whole
     */
    public int selectNow() throws KqueueException {
        return select(0);
    }

    private int kevent(int n, long timeout) throws KqueueException {
        int r = kq.kevent(changes, n, events, events.capacity(), timeout);
        keventCalls++;
        changesTotal += n;
        eventsTotal += r;
        if (r > maxEventsPerCall) maxEventsPerCall = r;
        return r;
    }

    private void shiftChanges(int done) {
        // Rare (more changes than the eventlist holds): copy the rest to the front.
        for (int i = done; i < nchanges; i++) {
            changes.set(i - done, changes.ident(i), changes.filter(i), changes.flags(i), changes.fflags(i), changes.data(i), changes.udata(i));
        }
        nchanges -= done;
    }

    /** Folds n returned entries into the ready set; returns how many were events rather than change errors. */
    private int process(int n) {
        int real = 0;
        KeventArray ev = events;
        for (int i = 0; i < n; i++) {
            int filter = ev.filter(i);
            int flags = ev.flags(i);
            if (filter == EVFILT_USER && ev.ident(i) == WAKE_IDENT && (flags & EV_ERROR) == 0) {
                real++;
                continue;                                        // a wakeup: nothing to dispatch
            }
            Key k = keyFor(ev.udata(i));
            if ((flags & EV_ERROR) != 0) {
                if (k != null && ev.data(i) != 0) k.changeFailed(filter, (int) ev.data(i));
                if (k != null && k.readyOps != 0) addReady(k);
                continue;
            }
            real++;
            if (k == null) continue;                             // cancelled: its slot moved on
            if (filter == EVFILT_READ) {
                if (!k.readEvent((flags & EV_EOF) != 0)) continue;
                k.readyOps |= OP_READ | ((flags & EV_EOF) != 0 ? Key.READ_EOF : 0);
                k.readData = ev.data(i);
                if ((flags & EV_EOF) != 0 && ev.fflags(i) != 0) k.socketError = ev.fflags(i);
            } else if (filter == EVFILT_WRITE) {
                k.readyOps |= OP_WRITE | ((flags & EV_EOF) != 0 ? Key.WRITE_EOF : 0);
                k.writeData = ev.data(i);
                if ((flags & EV_EOF) != 0 && ev.fflags(i) != 0) k.socketError = ev.fflags(i);
            } else {
                k.event(flags, ev.fflags(i), ev.data(i));
            }
            addReady(k);
        }
        return real;
    }

    private void addReady(Key k) {
        if (k.readyRound == round) return;
        k.readyRound = round;
        if (nready == ready.length) ready = Arrays.copyOf(ready, nready * 2);
        ready[nready++] = k;
    }

    private Key keyFor(long udata) {
        return keys.get(udata);
    }

    private void flushUpdates() {
        for (int i = 0; i < nupdated; i++) {
            Key k = updated[i];
            updated[i] = null;
            k.flush();
        }
        nupdated = 0;
    }

    /** Appends one change; the keys call this while flushing. */
    void change(int fd, int filter, int flags, long udata) {
        change(fd, filter, flags, 0, 0, udata);
    }

    void change(long ident, int filter, int flags, int fflags, long data, long udata) {
        if (nchanges == changes.capacity()) {
            KeventArray bigger = KeventArray.allocate(changes.capacity() * 2);
            java.lang.foreign.MemorySegment.copy(changes.segment(), 0, bigger.segment(), 0, (long) nchanges * KeventArray.SIZEOF);
            changes.close();
            changes = bigger;
        }
        changes.set(nchanges++, ident, filter, flags, fflags, data, udata);
    }

    static int flagsFor(int state, boolean want) {
        if (state == Key.NONE) return want ? EV_ADD : 0;
        if (want) return state == Key.ON ? 0 : EV_ENABLE;
        return state == Key.ON ? EV_DISABLE : 0;
    }

    static int deleteFlags() {
        return EV_DELETE;
    }

    /** {@return the number of ready keys from the last select} */
    public int readyCount() {
        return nready;
    }

    /**
     * {@return the i-th ready key of the last select, {@code 0 <= i < readyCount()}}
     *
     * @param i the index in the ready set
     */
    public Key readyKey(int i) {
        checkOwner();
        if (i < 0 || i >= nready) throw new IndexOutOfBoundsException("ready key " + i + " of " + nready);
        return ready[i];
    }

    /**
     * Makes the current or next {@link #select} return at once. Callable from any thread; concurrent wakeups cost
     * one EVFILT_USER trigger between two selects.
     */
    public void wakeup() {
        if (closed || !wakeupPending.compareAndSet(false, true)) return;
        try {
            kq.kevent(wakeChange, 1, null, 0, 0);
        } catch (KqueueException | IllegalStateException e) {
            // Closed meanwhile: nobody to wake.
        }
    }

    /** {@return true until {@link #close()}} */
    public boolean isOpen() {
        return !closed;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the selector is closed");
        checkOwner();
    }

    /**
     * Closes the kqueue (dropping every knote), invalidates the keys and frees the arrays; the keys' descriptors stay
     * open. Idempotent.
     *
     * @throws IllegalStateException on a thread other than the owner while the owner thread is alive
     */
    @Override
    public void close() {
        if (closed) return;
        Thread o = owner;
        // Closing under a running select would free the arrays the kernel is writing: only the owner, or anyone
        // once the owner has ended (a try-with-resources on the thread that started it).
        if (o != null && o != Thread.currentThread() && o.isAlive()) throw wrongThread(o);
        closed = true;
        keys.forEach(Key::invalidate);
        kq.close();
        changes.close();
        events.close();
        wakeChange.close();
    }
}
