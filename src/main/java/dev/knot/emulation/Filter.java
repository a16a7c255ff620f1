// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

/**
 * FreeBSD's {@code struct filterops} for one filter of the emulation: how a knote attaches, detaches and is
 * evaluated. All methods run with the kqueue's lock held and get the calling thread's {@link Scratch}.
 */
abstract class Filter {
    /** True if the ident is a file descriptor (READ, WRITE, VNODE). */
    final boolean isFd;
    /** True for filters with an f_touch (USER, TIMER): they decide what a modify and a delivery do. */
    final boolean hasTouch;

    Filter(boolean isFd, boolean hasTouch) {
        this.isFd = isFd;
        this.hasTouch = hasTouch;
    }

    /** f_attach for a new knote; returns 0 or an errno, in which case the knote is discarded. */
    abstract int attach(EpollKqueue kq, Knote kn, Scratch s);

    /**
     * f_detach: releases what attach set up. The knote is already off the active queue. Descriptor filters return
     * EBADF or ENOENT when the descriptor turned out closed or reused (what EV_DELETE then reports); others 0.
     */
    abstract int detach(EpollKqueue kq, Knote kn, Scratch s);

    /** f_event(kn, 0): true if the knote should be returned now; may update its output data, fflags and EV_EOF. */
    abstract boolean event(EpollKqueue kq, Knote kn, Scratch s);

    /**
     * Whether registration should run {@link #event} right away. Knotes that the kernel watches through epoll do not:
     * epoll reports a condition that already holds on the next wait of the same call.
     */
    boolean evaluatesOnRegister(Knote kn) {
        return true;
    }

    /**
     * Called after a modify of an existing knote has updated its status, udata and saved fflags/data; brings kernel
     * state in line. Returns 0 or an errno; {@link EpollKqueue#STALE} means the knote's descriptor is no longer the
     * one it was registered on, and the engine then treats the change as if the knote did not exist.
     */
    int modified(EpollKqueue kq, Knote kn, int changeFlags, Scratch s) {
        return 0;
    }

    /** f_touch(EVENT_REGISTER), for filters with {@link #hasTouch}; returns 0 or an errno. */
    int touchRegister(EpollKqueue kq, Knote kn, int changeFlags, int fflags, long data, Scratch s) {
        return 0;
    }

    /** Output fflags for a delivery (f_touch(EVENT_PROCESS) for touch filters; the stored value otherwise). */
    int outFflags(Knote kn) {
        return kn.fflags;
    }

    /** Output data for a delivery. */
    long outData(Knote kn) {
        return kn.data;
    }

    /** After a delivery by a touch filter: f_touch's clearing for EV_CLEAR knotes. */
    void afterTouchDelivery(Knote kn) {
    }

    /** After an EV_DISPATCH delivery disabled the knote. */
    void dispatched(EpollKqueue kq, Knote kn, Scratch s) {
    }

    /** An inotify event arrived for the inode this knote watches. */
    void inotify(EpollKqueue kq, Knote kn, int mask, Scratch s) {
    }
}
