// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.freebsd.event_h.EV_CLEAR;

import dev.knot.bindings.linux.signal_h;

/**
 * EVFILT_SIGNAL: counts deliveries of a signal to the process. The JVM owns signal handling, so the count comes
 * from a handler installed through {@link SignalBridge}; the knote has EV_CLEAR and its data is the number of
 * deliveries since the last retrieval. Idents that are not signal numbers are accepted and never fire, as on
 * FreeBSD.
 */
final class SignalFilter extends Filter {
    SignalFilter() {
        super(false, false);
    }

    @Override
    int attach(EpollKqueue kq, Knote kn, Scratch s) {
        kn.flags |= EV_CLEAR;
        if (kn.ident >= 1 && kn.ident < signal_h.NSIG) return SignalBridge.subscribe(kq, kn);
        return 0;
    }

    @Override
    int detach(EpollKqueue kq, Knote kn, Scratch s) {
        SignalBridge.unsubscribe(kq, kn);
        return 0;
    }

    @Override
    boolean event(EpollKqueue kq, Knote kn, Scratch s) {
        return kn.data != 0;
    }
}
