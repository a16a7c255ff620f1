// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_ADD;
import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.EV_ONESHOT;
import static dev.knot.bindings.freebsd.event_h.NOTE_ABSTIME;
import static dev.knot.bindings.freebsd.event_h.NOTE_MSECONDS;
import static dev.knot.bindings.freebsd.event_h.NOTE_NSECONDS;
import static dev.knot.bindings.freebsd.event_h.NOTE_SECONDS;
import static dev.knot.bindings.freebsd.event_h.NOTE_USECONDS;
import static dev.knot.bindings.linux.errno_h.EINVAL;

/**
 * EVFILT_TIMER as FreeBSD's filt_timer*: data is the period (or, with NOTE_ABSTIME, the absolute time) in the unit
 * the fflags name (milliseconds by default); relative timers repeat unless EV_ONESHOT and get EV_CLEAR; the event's
 * data is the number of expirations since the last retrieval and its fflags are 0.
 */
final class TimerFilter extends Filter {
    private static final int UNITS = NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS | NOTE_NSECONDS;

    TimerFilter() {
        super(false, true);
    }

    /** filt_timervalidate: unknown fflags, two units or a negative value are EINVAL. */
    private static int validate(int fflags, long data) {
        if ((fflags & ~(UNITS | NOTE_ABSTIME)) != 0) return EINVAL;
        if (Integer.bitCount(fflags & UNITS) > 1) return EINVAL;
        if (data < 0) return EINVAL;
        return 0;
    }

    private static long unitNanos(int fflags) {
        int u = fflags & UNITS;
        if (u == NOTE_SECONDS) return 1_000_000_000L;
        if (u == NOTE_USECONDS) return 1_000L;
        if (u == NOTE_NSECONDS) return 1L;
        return 1_000_000L;
    }

    private static long saturatingMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
    }

    private static void start(EpollKqueue kq, Knote kn, Scratch s) {
        long unit = unitNanos(kn.sfflags);
        if ((kn.sfflags & NOTE_ABSTIME) != 0) {
            kn.realtime = true;
            kn.period = 0;                                   // an absolute timer fires once
            kn.deadline = saturatingMultiply(kn.sdata, unit);
        } else {
            kn.realtime = false;
            long v = kn.sdata == 0 && (kn.flags & EV_ONESHOT) == 0 ? 1 : kn.sdata;
            long ns = saturatingMultiply(v, unit);
            kn.period = (kn.flags & EV_ONESHOT) != 0 ? 0 : Math.max(1, ns);
            long now = System.nanoTime();
            kn.deadline = ns > Long.MAX_VALUE / 2 ? now + Long.MAX_VALUE / 2 : now + ns;
        }
        kq.timerQueue.add(kn, s);
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        int e = validate(kn.sfflags, kn.sdata);
        if (e != 0) return e;
        if ((kn.sfflags & NOTE_ABSTIME) == 0) kn.flags |= EV_CLEAR;
        start(kq, kn, s);
        return 0;
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        kq.timerQueue.remove(kn);
        return 0;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        return kn.data != 0;
    }

    /** filt_timertouch(EVENT_REGISTER): only EV_ADD restarts the timer, dropping undelivered expirations. */
    @Override
    int touchRegister(EpollKqueue kq, Knote kn, int changeFlags, int fflags, long data, Scratch s) {
        if ((changeFlags & EV_ADD) == 0) return 0;
        kq.timerQueue.remove(kn);
        kq.queue.remove(kn);
        kn.status &= ~Knote.ACTIVE;
        kn.data = 0;
        kn.sfflags = fflags;
        kn.sdata = data;
        int e = validate(fflags, data);
        if (e != 0) return e;                                // the timer stays stopped
        start(kq, kn, s);
        return 0;
    }

    @Override
    int outFflags(Knote kn) {
        return 0;                                            // the unit is not echoed
    }

    @Override
    void afterTouchDelivery(Knote kn) {
        if ((kn.flags & EV_CLEAR) != 0) kn.data = 0;
    }
}
