package dev.knot.kqueue;

import dev.knot.bindings.freebsd.event_h;
import dev.knot.sys.Platform;

/**
 * The kevent constants of the running platform: filters ({@code EVFILT_*}), flags ({@code EV_*}) and filter
 * flags ({@code NOTE_*}).
 *
 * <p>On FreeBSD and on Linux (whose emulation implements FreeBSD's semantics) every value is FreeBSD's; on macOS
 * it is macOS's. Values that both agree on are compile-time constants and can be used as {@code case} labels;
 * those that differ ({@link #EVFILT_USER}, the timer units, and the FreeBSD-only flags, which are 0 on macOS)
 * are decided when this class initialises. All values come from the generated bindings of
 * {@code <sys/event.h>}, never restated here.
 */
public final class Kevent {
    private Kevent() {}

    private static final boolean MACOS = Platform.CURRENT == Platform.MACOS;

    private static int pick(int freebsd, int macos) {
        return MACOS ? macos : freebsd;
    }

    // Filters.
    public static final int EVFILT_READ = event_h.EVFILT_READ;
    public static final int EVFILT_WRITE = event_h.EVFILT_WRITE;
    public static final int EVFILT_AIO = event_h.EVFILT_AIO;
    public static final int EVFILT_VNODE = event_h.EVFILT_VNODE;
    public static final int EVFILT_PROC = event_h.EVFILT_PROC;
    public static final int EVFILT_SIGNAL = event_h.EVFILT_SIGNAL;
    public static final int EVFILT_TIMER = event_h.EVFILT_TIMER;
    /** -11 on FreeBSD and Linux, -10 on macOS. */
    public static final int EVFILT_USER = pick(event_h.EVFILT_USER, dev.knot.bindings.macos.event_h.EVFILT_USER);

    // Actions and flags.
    public static final int EV_ADD = event_h.EV_ADD;
    public static final int EV_DELETE = event_h.EV_DELETE;
    public static final int EV_ENABLE = event_h.EV_ENABLE;
    public static final int EV_DISABLE = event_h.EV_DISABLE;
    public static final int EV_ONESHOT = event_h.EV_ONESHOT;
    public static final int EV_CLEAR = event_h.EV_CLEAR;
    public static final int EV_RECEIPT = event_h.EV_RECEIPT;
    public static final int EV_DISPATCH = event_h.EV_DISPATCH;
    /** FreeBSD: keep the knote's udata on a modify. 0 on macOS, which has no such flag. */
    public static final int EV_KEEPUDATA = pick(event_h.EV_KEEPUDATA, 0);
    /** FreeBSD: make an existing knote oneshot and trigger it once. 0 on macOS. */
    public static final int EV_FORCEONESHOT = pick(event_h.EV_FORCEONESHOT, 0);
    public static final int EV_SYSFLAGS = event_h.EV_SYSFLAGS;
    public static final int EV_FLAG1 = event_h.EV_FLAG1;
    public static final int EV_EOF = event_h.EV_EOF;
    public static final int EV_ERROR = event_h.EV_ERROR;

    // EVFILT_USER.
    public static final int NOTE_FFNOP = event_h.NOTE_FFNOP;
    public static final int NOTE_FFAND = event_h.NOTE_FFAND;
    public static final int NOTE_FFOR = event_h.NOTE_FFOR;
    public static final int NOTE_FFCOPY = event_h.NOTE_FFCOPY;
    public static final int NOTE_FFCTRLMASK = event_h.NOTE_FFCTRLMASK;
    public static final int NOTE_FFLAGSMASK = event_h.NOTE_FFLAGSMASK;
    public static final int NOTE_TRIGGER = event_h.NOTE_TRIGGER;

    // EVFILT_READ / EVFILT_WRITE.
    public static final int NOTE_LOWAT = event_h.NOTE_LOWAT;
    /** FreeBSD: a READ knote on a regular file fires like poll(2) does, always. 0 on macOS. */
    public static final int NOTE_FILE_POLL = pick(event_h.NOTE_FILE_POLL, 0);

    // EVFILT_VNODE.
    public static final int NOTE_DELETE = event_h.NOTE_DELETE;
    public static final int NOTE_WRITE = event_h.NOTE_WRITE;
    public static final int NOTE_EXTEND = event_h.NOTE_EXTEND;
    public static final int NOTE_ATTRIB = event_h.NOTE_ATTRIB;
    public static final int NOTE_LINK = event_h.NOTE_LINK;
    public static final int NOTE_RENAME = event_h.NOTE_RENAME;
    public static final int NOTE_REVOKE = event_h.NOTE_REVOKE;
    /** FreeBSD: the file was opened. 0 on macOS. */
    public static final int NOTE_OPEN = pick(event_h.NOTE_OPEN, 0);
    /** FreeBSD: a descriptor without write access was closed. 0 on macOS. */
    public static final int NOTE_CLOSE = pick(event_h.NOTE_CLOSE, 0);
    /** FreeBSD: a descriptor with write access was closed. 0 on macOS. */
    public static final int NOTE_CLOSE_WRITE = pick(event_h.NOTE_CLOSE_WRITE, 0);
    /** FreeBSD: the file was read. 0 on macOS. */
    public static final int NOTE_READ = pick(event_h.NOTE_READ, 0);

    // EVFILT_PROC.
    public static final int NOTE_EXIT = event_h.NOTE_EXIT;
    public static final int NOTE_FORK = event_h.NOTE_FORK;
    public static final int NOTE_EXEC = event_h.NOTE_EXEC;
    public static final int NOTE_TRACK = event_h.NOTE_TRACK;
    public static final int NOTE_TRACKERR = event_h.NOTE_TRACKERR;
    public static final int NOTE_CHILD = event_h.NOTE_CHILD;
    public static final int NOTE_PDATAMASK = event_h.NOTE_PDATAMASK;
    /** {@code 0xf0000000} on FreeBSD, {@code 0xfff00000} on macOS. */
    public static final int NOTE_PCTRLMASK = pick(event_h.NOTE_PCTRLMASK, dev.knot.bindings.macos.event_h.NOTE_PCTRLMASK);

    // EVFILT_TIMER units differ: FreeBSD has a one-hot mask with ms as default, macOS has no NOTE_MSECONDS.
    public static final int NOTE_SECONDS = event_h.NOTE_SECONDS;
    /** 0 on macOS, where milliseconds are the default unit. */
    public static final int NOTE_MSECONDS = pick(event_h.NOTE_MSECONDS, 0);
    public static final int NOTE_USECONDS = pick(event_h.NOTE_USECONDS, dev.knot.bindings.macos.event_h.NOTE_USECONDS);
    public static final int NOTE_NSECONDS = pick(event_h.NOTE_NSECONDS, dev.knot.bindings.macos.event_h.NOTE_NSECONDS);
    /** {@code NOTE_ABSTIME} on FreeBSD, {@code NOTE_ABSOLUTE} on macOS. */
    public static final int NOTE_ABSTIME = pick(event_h.NOTE_ABSTIME, dev.knot.bindings.macos.event_h.NOTE_ABSOLUTE);

    /** The filter's name, e.g. {@code "EVFILT_READ"}, or its number. */
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

    /** The flags as {@code EV_ADD|EV_CLEAR}, with unknown bits in hex; {@code "0"} for none. */
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
