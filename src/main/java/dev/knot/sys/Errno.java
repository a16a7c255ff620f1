package dev.knot.sys;

import java.lang.foreign.MemorySegment;

/** Names and descriptions of errno values of the running platform. Stateless and thread-safe. */
public final class Errno {
    private Errno() {}

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
