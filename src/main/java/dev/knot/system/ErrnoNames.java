// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.sys.Platform;

import java.lang.foreign.MemorySegment;
import java.util.function.IntFunction;

/**
 * The running platform's errno table, chosen once: the values the portable layers test for, the symbolic names and
 * the C library's descriptions. What {@code dev.knot.sys.Errno} exports is read from here. Stateless, thread-safe.
 */
public final class ErrnoNames {
    private ErrnoNames() {}

    private static final IntFunction<String> NAMES = switch (Platform.CURRENT) {
        case LINUX -> dev.knot.bindings.linux.errno_h::errnoName;
        case FREEBSD -> dev.knot.bindings.freebsd.errno_h::errnoName;
        case MACOS -> dev.knot.bindings.macos.errno_h::errnoName;
        case OTHER -> e -> "E" + e;
    };

    /** EBADF, EINVAL, EFAULT as this platform numbers them. */
    public static final int EBADF, EINVAL, EFAULT;

    static {
        switch (Platform.CURRENT) {
            case FREEBSD -> {
                EBADF = dev.knot.bindings.freebsd.errno_h.EBADF;
                EINVAL = dev.knot.bindings.freebsd.errno_h.EINVAL;
                EFAULT = dev.knot.bindings.freebsd.errno_h.EFAULT;
            }
            case MACOS -> {
                EBADF = dev.knot.bindings.macos.errno_h.EBADF;
                EINVAL = dev.knot.bindings.macos.errno_h.EINVAL;
                EFAULT = dev.knot.bindings.macos.errno_h.EFAULT;
            }
            default -> {
                EBADF = dev.knot.bindings.linux.errno_h.EBADF;
                EINVAL = dev.knot.bindings.linux.errno_h.EINVAL;
                EFAULT = dev.knot.bindings.linux.errno_h.EFAULT;
            }
        }
    }

    /** The symbolic name of {@code errno}, e.g. {@code "ENOENT"}, or {@code "E<n>"} if unknown. */
    public static String name(int errno) {
        return NAMES.apply(errno);
    }

    /** strerror(3) where bound (Linux), else the name. */
    public static String describe(int errno) {
        if (Platform.CURRENT == Platform.LINUX) {
            MemorySegment s = dev.knot.bindings.linux.string_h.strerror(errno);
            if (!s.equals(MemorySegment.NULL)) return s.reinterpret(1024).getString(0);
        }
        return name(errno);
    }
}
