package dev.knot.sys;

import dev.knot.system.ErrnoNames;

/** Names and descriptions of errno values of the running platform. Stateless and thread-safe. */
public final class Errno {
    private Errno() {}

    /** The errno values kevent(2) and friends report, as the running platform numbers them. */
    public static final int EBADF = ErrnoNames.EBADF;
    public static final int EINVAL = ErrnoNames.EINVAL;
    public static final int EFAULT = ErrnoNames.EFAULT;

    /** The symbolic name of {@code errno} on this platform, e.g. {@code "ENOENT"}, or {@code "E<n>"} if unknown. */
    public static String name(int errno) {
        return ErrnoNames.name(errno);
    }

    /** The C library's text for {@code errno} (strerror), or the name where no text is available. */
    public static String describe(int errno) {
        return ErrnoNames.describe(errno);
    }
}
