// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.NOTE_FFLAGSMASK;
import static dev.knot.bindings.linux.errno_h.EINVAL;
import static dev.knot.bindings.linux.errno_h.ENOENT;

import dev.knot.bindings.linux.time_h;
import dev.knot.bindings.linux.timespec;

/**
 * A knote's state, out of one kqueue and into another: what FreeBSD's KQUEUE_CPONFORK copies with a knote
 * ({@code *kn1 = *kn}, then {@code f_copy}) beyond its registration. The fork path carries it across a spawn, so it
 * must survive the process boundary: timer deadlines travel as CLOCK_MONOTONIC times, which every process of the
 * machine shares, never as this JVM's {@link System#nanoTime()} values.
 *
 * <p>Per filter: USER keeps its stored fflags (low 24 bits), data and triggered state; TIMER its undelivered
 * expiration count and its next expiry (periodic timers keep their phase; NOTE_ABSTIME timers are absolute in
 * their registration already); SIGNAL its undelivered count; PROC and VNODE what they accumulated (fflags, data);
 * READ and WRITE nothing, since the child re-evaluates them. Every filter keeps EV_DISABLE and a fired
 * EV_DISPATCH's disabled state. Guarded by the kqueue's lock.
 */
final class KnoteStates {
    /** State bit: the event is pending (triggered, expired, counted). */
    static final int ACTIVE = 1;
    /** State bit: the knote is disabled (EV_DISABLE, or an EV_DISPATCH knote that fired). */
    static final int DISABLED = 2;
    /** State bit: {@code expiry} holds the next expiry of a relative timer (CLOCK_MONOTONIC ns). */
    static final int EXPIRY = 4;

    private KnoteStates() {}

    /** CLOCK_MONOTONIC now, in ns. */
    static long monotonicNow(Scratch s) {
        time_h.clock_gettime(s.callState, time_h.CLOCK_MONOTONIC, s.clock);
        return timespec.tv_sec(s.clock) * 1_000_000_000L + timespec.tv_nsec(s.clock);
    }

    /**
     * CLOCK_MONOTONIC minus System.nanoTime (the timer queue's clock; HotSpot on Linux reads the same clock, but
     * nothing promises it). Read between two nanoTime calls after a first call, whose linking of the downcall can
     * take milliseconds and would otherwise skew the pair.
     */
    static long monotonicOffset(Scratch s) {
        monotonicNow(s);
        long before = System.nanoTime();
        long mono = monotonicNow(s);
        long after = System.nanoTime();
        return mono - (before + (after - before) / 2);
    }

    /** Fills {@code out} with {state, fflags, data, expiry}; false if the kqueue has no such knote. */
    static boolean export(EpollKqueue kq, Knote kn, long[] out, Scratch s) {
        if (kn == null) return false;
        int state = kn.isDisabled() ? DISABLED : 0;
        int fflags = kn.fflags;
        long data = kn.data;
        long expiry = 0;
        Filter f = kn.fop;
        if (f == kq.userFilter) {
            fflags = kn.sfflags & NOTE_FFLAGSMASK;
            data = kn.sdata;
            if (kn.triggered) state |= ACTIVE;
        } else if (f == kq.timerFilter) {
            if (kn.data != 0) state |= ACTIVE;
            fflags = 0;
            if (kn.heapIndex >= 0 && !kn.realtime) {
                expiry = kn.deadline + monotonicOffset(s);
                state |= EXPIRY;
            }
        } else if (f == kq.signalFilter) {
            if (kn.data != 0) state |= ACTIVE;
            fflags = 0;
        } else if (f == kq.procFilter || f == kq.vnodeFilter) {
            if (kn.fflags != 0) state |= ACTIVE;
        } else {
            fflags = 0;
            data = 0;                                            // READ/WRITE: re-evaluated where they land
        }
        out[0] = state;
        out[1] = fflags;
        out[2] = data;
        out[3] = expiry;
        return true;
    }

    /** Applies an exported state to a knote just registered here; returns 0 or an errno. */
    static int restore(EpollKqueue kq, Knote kn, int state, int fflags, long data, long expiry, Scratch s) {
        if (kn == null) return ENOENT;
        if ((state & ~(ACTIVE | DISABLED | EXPIRY)) != 0) return EINVAL;
        if ((state & DISABLED) != 0) kn.status |= Knote.DISABLED;
        Filter f = kn.fop;
        boolean active = (state & ACTIVE) != 0;
        if (f == kq.userFilter) {
            kn.sfflags = fflags & NOTE_FFLAGSMASK;
            kn.sdata = data;
            kn.triggered = active;
        } else if (f == kq.timerFilter) {
            if (data < 0) return EINVAL;
            kq.timerQueue.remove(kn);
            kn.data = data;
            if ((state & EXPIRY) != 0) {
                kn.deadline = expiry - monotonicOffset(s);
                kq.timerQueue.add(kn, s);                       // overdue periods are counted on the next scan
            } else if (data == 0 && (kn.realtime || kn.period > 0)) {
                kq.timerQueue.add(kn, s);                       // absolute: the registration carries the time
            }
            // else: a one-shot that already expired; its expiration is in data and it never fires again
            kq.timerQueue.rearm(s);
        } else if (f == kq.signalFilter) {
            if (data < 0) return EINVAL;
            kn.data = data;
        } else if (f == kq.procFilter || f == kq.vnodeFilter) {
            kn.fflags |= fflags;
            if (fflags != 0) kn.data = data;
        }
        if (active && f.event(kq, kn, s)) {
            kn.status |= Knote.ACTIVE;
            if ((kn.status & (Knote.DISABLED | Knote.QUEUED)) == 0) kq.enqueue(kn, false);
        } else if (!active && (f == kq.userFilter || f == kq.timerFilter || f == kq.signalFilter)) {
            kn.status &= ~Knote.ACTIVE;
            kq.queue.remove(kn);
        }
        return 0;
    }
}
