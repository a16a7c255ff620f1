// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.freebsd.event_h;
import dev.knot.sys.Platform;

/**
 * The kevent ABI of the running platform, chosen once: the layout of {@code struct kevent} and the values of the
 * kevent constants that differ between FreeBSD (whose ABI Linux's emulation uses too) and macOS. The constants both
 * agree on are compile-time constants here, so that {@code dev.knot.kqueue.Kevent} can restate them as {@code case}
 * labels without naming the generated bindings. Immutable.
 *
 * @param sizeof {@code sizeof(struct kevent)}
 * @param ext offset of FreeBSD's {@code ext[4]} ({@code sizeof} on macOS, which has none)
 * @param extSize size of {@code ext[4]}, 0 on macOS
 */
public record KeventAbi(String name, long sizeof, long ident, long filter, long flags, long fflags, long data,
        long udata, long ext, long extSize, int evfiltUser, int evKeepudata, int evForceoneshot, int noteFilePoll,
        int noteOpen, int noteClose, int noteCloseWrite, int noteRead, int notePctrlmask, int noteMseconds,
        int noteUseconds, int noteNseconds, int noteAbstime) {

    /** FreeBSD's ABI, which Linux's emulation implements too. */
    public static final KeventAbi FREEBSD = new KeventAbi("freebsd", dev.knot.bindings.freebsd.kevent.SIZEOF,
            dev.knot.bindings.freebsd.kevent.ident$OFFSET, dev.knot.bindings.freebsd.kevent.filter$OFFSET,
            dev.knot.bindings.freebsd.kevent.flags$OFFSET, dev.knot.bindings.freebsd.kevent.fflags$OFFSET,
            dev.knot.bindings.freebsd.kevent.data$OFFSET, dev.knot.bindings.freebsd.kevent.udata$OFFSET,
            dev.knot.bindings.freebsd.kevent.ext$OFFSET, dev.knot.bindings.freebsd.kevent.ext$SIZE,
            event_h.EVFILT_USER, event_h.EV_KEEPUDATA, event_h.EV_FORCEONESHOT, event_h.NOTE_FILE_POLL,
            event_h.NOTE_OPEN, event_h.NOTE_CLOSE, event_h.NOTE_CLOSE_WRITE, event_h.NOTE_READ, event_h.NOTE_PCTRLMASK,
            event_h.NOTE_MSECONDS, event_h.NOTE_USECONDS, event_h.NOTE_NSECONDS, event_h.NOTE_ABSTIME);

    /** macOS's: a 32-byte kevent, no FreeBSD-only flags (0 here), milliseconds as the default timer unit. */
    public static final KeventAbi MACOS = new KeventAbi("macos", dev.knot.bindings.macos.kevent.SIZEOF,
            dev.knot.bindings.macos.kevent.ident$OFFSET, dev.knot.bindings.macos.kevent.filter$OFFSET,
            dev.knot.bindings.macos.kevent.flags$OFFSET, dev.knot.bindings.macos.kevent.fflags$OFFSET,
            dev.knot.bindings.macos.kevent.data$OFFSET, dev.knot.bindings.macos.kevent.udata$OFFSET,
            dev.knot.bindings.macos.kevent.SIZEOF, 0,
            dev.knot.bindings.macos.event_h.EVFILT_USER, 0, 0, 0, 0, 0, 0, 0, dev.knot.bindings.macos.event_h.NOTE_PCTRLMASK,
            0, dev.knot.bindings.macos.event_h.NOTE_USECONDS, dev.knot.bindings.macos.event_h.NOTE_NSECONDS,
            dev.knot.bindings.macos.event_h.NOTE_ABSOLUTE);

    /** The running platform's: macOS's on macOS, FreeBSD's everywhere else. */
    public static final KeventAbi CURRENT = Platform.CURRENT == Platform.MACOS ? MACOS : FREEBSD;

    // The values FreeBSD and macOS agree on.
    public static final int EVFILT_READ = event_h.EVFILT_READ;
    public static final int EVFILT_WRITE = event_h.EVFILT_WRITE;
    public static final int EVFILT_AIO = event_h.EVFILT_AIO;
    public static final int EVFILT_VNODE = event_h.EVFILT_VNODE;
    public static final int EVFILT_PROC = event_h.EVFILT_PROC;
    public static final int EVFILT_SIGNAL = event_h.EVFILT_SIGNAL;
    public static final int EVFILT_TIMER = event_h.EVFILT_TIMER;
    public static final int EV_ADD = event_h.EV_ADD;
    public static final int EV_DELETE = event_h.EV_DELETE;
    public static final int EV_ENABLE = event_h.EV_ENABLE;
    public static final int EV_DISABLE = event_h.EV_DISABLE;
    public static final int EV_ONESHOT = event_h.EV_ONESHOT;
    public static final int EV_CLEAR = event_h.EV_CLEAR;
    public static final int EV_RECEIPT = event_h.EV_RECEIPT;
    public static final int EV_DISPATCH = event_h.EV_DISPATCH;
    public static final int EV_SYSFLAGS = event_h.EV_SYSFLAGS;
    public static final int EV_FLAG1 = event_h.EV_FLAG1;
    public static final int EV_EOF = event_h.EV_EOF;
    public static final int EV_ERROR = event_h.EV_ERROR;
    public static final int NOTE_FFNOP = event_h.NOTE_FFNOP;
    public static final int NOTE_FFAND = event_h.NOTE_FFAND;
    public static final int NOTE_FFOR = event_h.NOTE_FFOR;
    public static final int NOTE_FFCOPY = event_h.NOTE_FFCOPY;
    public static final int NOTE_FFCTRLMASK = event_h.NOTE_FFCTRLMASK;
    public static final int NOTE_FFLAGSMASK = event_h.NOTE_FFLAGSMASK;
    public static final int NOTE_TRIGGER = event_h.NOTE_TRIGGER;
    public static final int NOTE_LOWAT = event_h.NOTE_LOWAT;
    public static final int NOTE_DELETE = event_h.NOTE_DELETE;
    public static final int NOTE_WRITE = event_h.NOTE_WRITE;
    public static final int NOTE_EXTEND = event_h.NOTE_EXTEND;
    public static final int NOTE_ATTRIB = event_h.NOTE_ATTRIB;
    public static final int NOTE_LINK = event_h.NOTE_LINK;
    public static final int NOTE_RENAME = event_h.NOTE_RENAME;
    public static final int NOTE_REVOKE = event_h.NOTE_REVOKE;
    public static final int NOTE_EXIT = event_h.NOTE_EXIT;
    public static final int NOTE_FORK = event_h.NOTE_FORK;
    public static final int NOTE_EXEC = event_h.NOTE_EXEC;
    public static final int NOTE_TRACK = event_h.NOTE_TRACK;
    public static final int NOTE_TRACKERR = event_h.NOTE_TRACKERR;
    public static final int NOTE_CHILD = event_h.NOTE_CHILD;
    public static final int NOTE_PDATAMASK = event_h.NOTE_PDATAMASK;
    public static final int NOTE_SECONDS = event_h.NOTE_SECONDS;

    /** FreeBSD's kqueuex(2) flags (Kqueue.CLOEXEC, Kqueue.CPONFORK). */
    public static final int KQUEUE_CLOEXEC = event_h.KQUEUE_CLOEXEC, KQUEUE_CPONFORK = event_h.KQUEUE_CPONFORK;
}
