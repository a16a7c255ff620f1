// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.system.KeventAbi;

/**
 * The kevent constants of the running platform: filters ({@code EVFILT_*}), flags ({@code EV_*}) and filter
 * flags ({@code NOTE_*}).
 *
 * <p>On FreeBSD and on Linux (whose emulation implements FreeBSD's semantics) every value is FreeBSD's; on macOS
 * it is macOS's. Values that both agree on are compile-time constants and can be used as {@code case} labels;
 * those that differ ({@link #EVFILT_USER}, the timer units, and the FreeBSD-only flags, which are 0 on macOS)
 * are decided when this class initialises. All values come from the generated bindings of
 * {@code <sys/event.h>}, through the platform's {@link KeventAbi}, never restated here.
 */
public final class Kevent {
    private Kevent() {}

    private static final KeventAbi ABI = KeventAbi.CURRENT;

    // Filters.
    /** Readable data: bytes readable, completed connections on a listener, or the file's remaining size. */
    public static final int EVFILT_READ = KeventAbi.EVFILT_READ;
    /** Writable space: free bytes in the send buffer or pipe. */
    public static final int EVFILT_WRITE = KeventAbi.EVFILT_WRITE;
    /** Asynchronous I/O completion; bound for completeness, not supported by the Linux emulation. */
    public static final int EVFILT_AIO = KeventAbi.EVFILT_AIO;
    /** File events ({@code NOTE_DELETE}, {@code NOTE_WRITE}, ...) on a descriptor's vnode. */
    public static final int EVFILT_VNODE = KeventAbi.EVFILT_VNODE;
    /** Process events; ident is a pid, {@code NOTE_EXIT} reports the wait(2) status in data. */
    public static final int EVFILT_PROC = KeventAbi.EVFILT_PROC;
    /** Signal deliveries counted in data; ident is the signal number. */
    public static final int EVFILT_SIGNAL = KeventAbi.EVFILT_SIGNAL;
    /** A timer; ident is chosen by the caller, data is the period in the unit given by fflags. */
    public static final int EVFILT_TIMER = KeventAbi.EVFILT_TIMER;
    /** -11 on FreeBSD and Linux, -10 on macOS. */
    public static final int EVFILT_USER = ABI.evfiltUser();

    // Actions and flags.
    /** Add the knote, or modify it if (ident, filter) exists; enabled unless {@code EV_DISABLE} is given too. */
    public static final int EV_ADD = KeventAbi.EV_ADD;
    /** Remove the knote. */
    public static final int EV_DELETE = KeventAbi.EV_DELETE;
    /** Let the knote report events again. */
    public static final int EV_ENABLE = KeventAbi.EV_ENABLE;
    /** Keep the knote but report nothing. */
    public static final int EV_DISABLE = KeventAbi.EV_DISABLE;
    /** Report once, then delete the knote. */
    public static final int EV_ONESHOT = KeventAbi.EV_ONESHOT;
    /** Reset the knote's state after it is retrieved (edge-triggered behaviour). */
    public static final int EV_CLEAR = KeventAbi.EV_CLEAR;
    /** Return an {@code EV_ERROR} entry (data 0 on success) for this change instead of events. */
    public static final int EV_RECEIPT = KeventAbi.EV_RECEIPT;
    /** Disable the knote after each event; {@code EV_ENABLE} re-arms it. */
    public static final int EV_DISPATCH = KeventAbi.EV_DISPATCH;
    /** FreeBSD: keep the knote's udata on a modify. 0 on macOS, which has no such flag. */
    public static final int EV_KEEPUDATA = ABI.evKeepudata();
    /** FreeBSD: make an existing knote oneshot and trigger it once. 0 on macOS. */
    public static final int EV_FORCEONESHOT = ABI.evForceoneshot();
    /** Flags reserved for the system. */
    public static final int EV_SYSFLAGS = KeventAbi.EV_SYSFLAGS;
    /** A filter-specific flag (FreeBSD's internal use). */
    public static final int EV_FLAG1 = KeventAbi.EV_FLAG1;
    /** Returned: end of file or of the connection; fflags may carry the socket error. */
    public static final int EV_EOF = KeventAbi.EV_EOF;
    /** Returned: a change failed (or {@code EV_RECEIPT} was asked); data holds the errno. */
    public static final int EV_ERROR = KeventAbi.EV_ERROR;

    // EVFILT_USER.
    /** EVFILT_USER: leave the stored fflags as they are. */
    public static final int NOTE_FFNOP = KeventAbi.NOTE_FFNOP;
    /** EVFILT_USER: AND the stored fflags with the given ones. */
    public static final int NOTE_FFAND = KeventAbi.NOTE_FFAND;
    /** EVFILT_USER: OR the given fflags into the stored ones. */
    public static final int NOTE_FFOR = KeventAbi.NOTE_FFOR;
    /** EVFILT_USER: replace the stored fflags. */
    public static final int NOTE_FFCOPY = KeventAbi.NOTE_FFCOPY;
    /** EVFILT_USER: the bits that select the operation on the stored fflags. */
    public static final int NOTE_FFCTRLMASK = KeventAbi.NOTE_FFCTRLMASK;
    /** EVFILT_USER: the bits that carry the user's fflags. */
    public static final int NOTE_FFLAGSMASK = KeventAbi.NOTE_FFLAGSMASK;
    /** EVFILT_USER: trigger the knote (from any thread). */
    public static final int NOTE_TRIGGER = KeventAbi.NOTE_TRIGGER;

    // EVFILT_READ / EVFILT_WRITE.
    /** READ/WRITE: data is a low-water mark; report only when at least that many bytes are readable or writable. */
    public static final int NOTE_LOWAT = KeventAbi.NOTE_LOWAT;
    /** FreeBSD: a READ knote on a regular file fires like poll(2) does, always. 0 on macOS. */
    public static final int NOTE_FILE_POLL = ABI.noteFilePoll();

    // EVFILT_VNODE.
    /** VNODE: the file was unlinked. */
    public static final int NOTE_DELETE = KeventAbi.NOTE_DELETE;
    /** VNODE: the file's contents changed. */
    public static final int NOTE_WRITE = KeventAbi.NOTE_WRITE;
    /** VNODE: the file grew. */
    public static final int NOTE_EXTEND = KeventAbi.NOTE_EXTEND;
    /** VNODE: the file's attributes changed. */
    public static final int NOTE_ATTRIB = KeventAbi.NOTE_ATTRIB;
    /** VNODE: the file's link count changed. */
    public static final int NOTE_LINK = KeventAbi.NOTE_LINK;
    /** VNODE: the file was renamed. */
    public static final int NOTE_RENAME = KeventAbi.NOTE_RENAME;
    /** VNODE: access to the file was revoked (never reported on Linux). */
    public static final int NOTE_REVOKE = KeventAbi.NOTE_REVOKE;
    /** FreeBSD: the file was opened. 0 on macOS. */
    public static final int NOTE_OPEN = ABI.noteOpen();
    /** FreeBSD: a descriptor without write access was closed. 0 on macOS. */
    public static final int NOTE_CLOSE = ABI.noteClose();
    /** FreeBSD: a descriptor with write access was closed. 0 on macOS. */
    public static final int NOTE_CLOSE_WRITE = ABI.noteCloseWrite();
    /** FreeBSD: the file was read. 0 on macOS. */
    public static final int NOTE_READ = ABI.noteRead();

    // EVFILT_PROC.
    /** PROC: the process exited; data is its wait(2) status. */
    public static final int NOTE_EXIT = KeventAbi.NOTE_EXIT;
    /** PROC: the process forked (accepted, never reported on Linux). */
    public static final int NOTE_FORK = KeventAbi.NOTE_FORK;
    /** PROC: the process called exec (accepted, never reported on Linux). */
    public static final int NOTE_EXEC = KeventAbi.NOTE_EXEC;
    /** PROC: follow the process's children (accepted, never reported on Linux). */
    public static final int NOTE_TRACK = KeventAbi.NOTE_TRACK;
    /** PROC: returned when {@code NOTE_TRACK} could not attach to a child. */
    public static final int NOTE_TRACKERR = KeventAbi.NOTE_TRACKERR;
    /** PROC: returned for a child attached by {@code NOTE_TRACK}. */
    public static final int NOTE_CHILD = KeventAbi.NOTE_CHILD;
    /** PROC: the bits of fflags that carry a pid. */
    public static final int NOTE_PDATAMASK = KeventAbi.NOTE_PDATAMASK;
    /** {@code 0xf0000000} on FreeBSD, {@code 0xfff00000} on macOS. */
    public static final int NOTE_PCTRLMASK = ABI.notePctrlmask();

    // EVFILT_TIMER units differ: FreeBSD has a one-hot mask with ms as default, macOS has no NOTE_MSECONDS.
    /** TIMER: data is in seconds. */
    public static final int NOTE_SECONDS = KeventAbi.NOTE_SECONDS;
    /** 0 on macOS, where milliseconds are the default unit. */
    public static final int NOTE_MSECONDS = ABI.noteMseconds();
    /** TIMER: data is in microseconds. */
    public static final int NOTE_USECONDS = ABI.noteUseconds();
    /** TIMER: data is in nanoseconds. */
    public static final int NOTE_NSECONDS = ABI.noteNseconds();
    /** {@code NOTE_ABSTIME} on FreeBSD, {@code NOTE_ABSOLUTE} on macOS. */
    public static final int NOTE_ABSTIME = ABI.noteAbstime();

    /**
     * Names a filter, for messages and logs.
     *
     * @param filter a filter value as {@code struct kevent} holds it (sign-extended)
     * @return the filter's name, e.g. {@code "EVFILT_READ"}, or its number when it is not one of these constants
     */
    public static String filterName(int filter) {
        if (filter == EVFILT_READ) return "EVFILT_READ";
        if (filter == EVFILT_WRITE) return "EVFILT_WRITE";
        if (filter == EVFILT_AIO) return "EVFILT_AIO";
        if (filter == EVFILT_VNODE) return "EVFILT_VNODE";
        if (filter == EVFILT_PROC) return "EVFILT_PROC";
        if (filter == EVFILT_SIGNAL) return "EVFILT_SIGNAL";
        if (filter == EVFILT_TIMER) return "EVFILT_TIMER";
        if (filter == EVFILT_USER) return "EVFILT_USER";
        return Integer.toString(filter);
    }

    /**
     * Spells out kevent flags, for messages and logs.
     *
     * @param flags the {@code flags} field of a kevent (the low 16 bits are used)
     * @return the flags as {@code EV_ADD|EV_CLEAR}, with unknown bits in hex; {@code "0"} for none
     */
    public static String flagsToString(int flags) {
        StringBuilder sb = new StringBuilder();
        int[] bits = {EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_ONESHOT, EV_CLEAR, EV_RECEIPT, EV_DISPATCH,
            EV_KEEPUDATA, EV_FORCEONESHOT, EV_EOF, EV_ERROR};
        String[] names = {"EV_ADD", "EV_DELETE", "EV_ENABLE", "EV_DISABLE", "EV_ONESHOT", "EV_CLEAR", "EV_RECEIPT",
            "EV_DISPATCH", "EV_KEEPUDATA", "EV_FORCEONESHOT", "EV_EOF", "EV_ERROR"};
        int rest = flags & 0xFFFF;
        for (int i = 0; i < bits.length; i++) {
            if (bits[i] != 0 && (rest & bits[i]) == bits[i]) {
                sb.append(sb.isEmpty() ? "" : "|").append(names[i]);
                rest &= ~bits[i];
            }
        }
        if (rest != 0) sb.append(sb.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(rest));
        return sb.isEmpty() ? "0" : sb.toString();
    }
}
