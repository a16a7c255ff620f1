// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFAND;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFCOPY;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFCTRLMASK;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFLAGSMASK;
import static dev.knot.bindings.freebsd.event_h.NOTE_FFOR;
import static dev.knot.bindings.freebsd.event_h.NOTE_TRIGGER;

/**
 * EVFILT_USER as FreeBSD's filt_user*: NOTE_TRIGGER triggers, NOTE_FFAND/FFOR/FFCOPY combine the low 24 bits of
 * fflags into the stored ones, data replaces the stored data, and the event returns both. Without EV_CLEAR a
 * triggered knote stays triggered; a change carrying EV_CLEAR un-triggers it.
 */
final class UserFilter extends Filter {
    UserFilter() {
        super(false, true);
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        // Unlike FreeBSD, whose attach looks at fflags it has just zeroed, a NOTE_TRIGGER on the creating EV_ADD
        // triggers the knote, as on macOS and in libkqueue (README, "Linux emulation").
        kn.triggered = (kn.sfflags & NOTE_TRIGGER) != 0;
        return 0;
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        return 0;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        return kn.triggered;
    }

    @Override
    int touchRegister(EpollKqueue kq, Knote kn, int changeFlags, int fflags, long data, Scratch s) {
        if ((fflags & NOTE_TRIGGER) != 0) kn.triggered = true;
        int low = fflags & NOTE_FFLAGSMASK;
        int ctrl = fflags & NOTE_FFCTRLMASK;
        if (ctrl == NOTE_FFAND) kn.sfflags &= low;
        else if (ctrl == NOTE_FFOR) kn.sfflags |= low;
        else if (ctrl == NOTE_FFCOPY) kn.sfflags = low;
        kn.sdata = data;
        if ((changeFlags & EV_CLEAR) != 0) {
            kn.triggered = false;
            kn.data = 0;
            kn.fflags = 0;
        }
        return 0;
    }

    @Override
    int outFflags(Knote kn) {
        return kn.sfflags & NOTE_FFLAGSMASK;
    }

    @Override
    long outData(Knote kn) {
        return kn.sdata;
    }

    @Override
    void afterTouchDelivery(Knote kn) {
        if ((kn.flags & EV_CLEAR) != 0) {
            kn.triggered = false;
            kn.data = 0;
            kn.fflags = 0;
        }
    }
}
