package dev.knot.sys;

import java.lang.foreign.MemorySegment;

/** Names and descriptions of errno values of the running platform. Stateless and thread-safe. */
public final class Errno {
    private Errno() {}

    private static int pick(int linux, int freebsd, int macos) {
        return switch (Platform.CURRENT) {
            case FREEBSD -> freebsd;
            case MACOS -> macos;
            default -> linux;
        };
    }

    /** The errno values kevent(2) and friends report, as the running platform numbers them. */
    public static final int EBADF = pick(dev.knot.bindings.linux.errno_h.EBADF, dev.knot.bindings.freebsd.errno_h.EBADF, dev.knot.bindings.macos.errno_h.EBADF);
    public static final int EINVAL = pick(dev.knot.bindings.linux.errno_h.EINVAL, dev.knot.bindings.freebsd.errno_h.EINVAL, dev.knot.bindings.macos.errno_h.EINVAL);
    public static final int EFAULT = pick(dev.knot.bindings.linux.errno_h.EFAULT, dev.knot.bindings.freebsd.errno_h.EFAULT, dev.knot.bindings.macos.errno_h.EFAULT);
    /** The peer reset the connection; counted, not logged one by one, by the event loop. */
    public static final int ECONNRESET = pick(dev.knot.bindings.linux.errno_h.ECONNRESET, dev.knot.bindings.freebsd.errno_h.ECONNRESET, dev.knot.bindings.macos.errno_h.ECONNRESET);
    /** A write to a connection the peer has closed. */
    public static final int EPIPE = pick(dev.knot.bindings.linux.errno_h.EPIPE, dev.knot.bindings.freebsd.errno_h.EPIPE, dev.knot.bindings.macos.errno_h.EPIPE);

    /** The symbolic name of {@code errno} on this platform, e.g. {@code "ENOENT"}, or {@code "E<n>"} if unknown. */
    public static String name(int errno) {
        return switch (Platform.CURRENT) {
            case LINUX -> dev.knot.bindings.linux.errno_h.errnoName(errno);
            case FREEBSD -> dev.knot.bindings.freebsd.errno_h.errnoName(errno);
            case MACOS -> dev.knot.bindings.macos.errno_h.errnoName(errno);
            case OTHER -> "E" + errno;
        };
    }

    /** The C library's text for {@code errno} (strerror), or the name where no text is available. */
    public static String describe(int errno) {
        if (Platform.CURRENT == Platform.LINUX) {
            MemorySegment s = dev.knot.bindings.linux.string_h.strerror(errno);
            if (!s.equals(MemorySegment.NULL)) return s.reinterpret(1024).getString(0);
        }
        return name(errno);
    }
}
