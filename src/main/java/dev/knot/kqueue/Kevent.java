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
    public static final int EVFILT_READ = KeventAbi.EVFILT_READ;
    public static final int EVFILT_WRITE = KeventAbi.EVFILT_WRITE;
    public static final int EVFILT_AIO = KeventAbi.EVFILT_AIO;
    public static final int EVFILT_VNODE = KeventAbi.EVFILT_VNODE;
    public static final int EVFILT_PROC = KeventAbi.EVFILT_PROC;
    public static final int EVFILT_SIGNAL = KeventAbi.EVFILT_SIGNAL;
    public static final int EVFILT_TIMER = KeventAbi.EVFILT_TIMER;
    /** -11 on FreeBSD and Linux, -10 on macOS. */
    public static final int EVFILT_USER = ABI.evfiltUser();

    // Actions and flags.
    public static final int EV_ADD = KeventAbi.EV_ADD;
    public static final int EV_DELETE = KeventAbi.EV_DELETE;
    public static final int EV_ENABLE = KeventAbi.EV_ENABLE;
    public static final int EV_DISABLE = KeventAbi.EV_DISABLE;
    public static final int EV_ONESHOT = KeventAbi.EV_ONESHOT;
    public static final int EV_CLEAR = KeventAbi.EV_CLEAR;
    public static final int EV_RECEIPT = KeventAbi.EV_RECEIPT;
    public static final int EV_DISPATCH = KeventAbi.EV_DISPATCH;
    /** FreeBSD: keep the knote's udata on a modify. 0 on macOS, which has no such flag. */
    public static final int EV_KEEPUDATA = ABI.evKeepudata();
    /** FreeBSD: make an existing knote oneshot and trigger it once. 0 on macOS. */
    public static final int EV_FORCEONESHOT = ABI.evForceoneshot();
    public static final int EV_SYSFLAGS = KeventAbi.EV_SYSFLAGS;
    public static final int EV_FLAG1 = KeventAbi.EV_FLAG1;
    public static final int EV_EOF = KeventAbi.EV_EOF;
    public static final int EV_ERROR = KeventAbi.EV_ERROR;

    // EVFILT_USER.
    public static final int NOTE_FFNOP = KeventAbi.NOTE_FFNOP;
    public static final int NOTE_FFAND = KeventAbi.NOTE_FFAND;
    public static final int NOTE_FFOR = KeventAbi.NOTE_FFOR;
    public static final int NOTE_FFCOPY = KeventAbi.NOTE_FFCOPY;
    public static final int NOTE_FFCTRLMASK = KeventAbi.NOTE_FFCTRLMASK;
    public static final int NOTE_FFLAGSMASK = KeventAbi.NOTE_FFLAGSMASK;
    public static final int NOTE_TRIGGER = KeventAbi.NOTE_TRIGGER;

    // EVFILT_READ / EVFILT_WRITE.
    public static final int NOTE_LOWAT = KeventAbi.NOTE_LOWAT;
    /** FreeBSD: a READ knote on a regular file fires like poll(2) does, always. 0 on macOS. */
    public static final int NOTE_FILE_POLL = ABI.noteFilePoll();

    // EVFILT_VNODE.
    public static final int NOTE_DELETE = KeventAbi.NOTE_DELETE;
    public static final int NOTE_WRITE = KeventAbi.NOTE_WRITE;
    public static final int NOTE_EXTEND = KeventAbi.NOTE_EXTEND;
    public static final int NOTE_ATTRIB = KeventAbi.NOTE_ATTRIB;
    public static final int NOTE_LINK = KeventAbi.NOTE_LINK;
    public static final int NOTE_RENAME = KeventAbi.NOTE_RENAME;
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
    public static final int NOTE_EXIT = KeventAbi.NOTE_EXIT;
    public static final int NOTE_FORK = KeventAbi.NOTE_FORK;
    public static final int NOTE_EXEC = KeventAbi.NOTE_EXEC;
    public static final int NOTE_TRACK = KeventAbi.NOTE_TRACK;
    public static final int NOTE_TRACKERR = KeventAbi.NOTE_TRACKERR;
    public static final int NOTE_CHILD = KeventAbi.NOTE_CHILD;
    public static final int NOTE_PDATAMASK = KeventAbi.NOTE_PDATAMASK;
    /** {@code 0xf0000000} on FreeBSD, {@code 0xfff00000} on macOS. */
    public static final int NOTE_PCTRLMASK = ABI.notePctrlmask();

    // EVFILT_TIMER units differ: FreeBSD has a one-hot mask with ms as default, macOS has no NOTE_MSECONDS.
    public static final int NOTE_SECONDS = KeventAbi.NOTE_SECONDS;
    /** 0 on macOS, where milliseconds are the default unit. */
    public static final int NOTE_MSECONDS = ABI.noteMseconds();
    public static final int NOTE_USECONDS = ABI.noteUseconds();
    public static final int NOTE_NSECONDS = ABI.noteNseconds();
    /** {@code NOTE_ABSTIME} on FreeBSD, {@code NOTE_ABSOLUTE} on macOS. */
    public static final int NOTE_ABSTIME = ABI.noteAbstime();

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
