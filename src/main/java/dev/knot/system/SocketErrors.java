// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import java.util.Arrays;

/**
 * Socket errors that were read on someone else's behalf. On Linux getsockopt(SO_ERROR) clears the error it
 * returns, and the kqueue emulation must read it to report it in EV_EOF's fflags; it leaves the value here so that
 * the socket's owner (Knot's sockets, in finishConnect and read) still learns why the connection failed, as it
 * would on FreeBSD where reporting the event does not consume the error. Thread-safe.
 */
public final class SocketErrors {
    private SocketErrors() {}

    private static int[] errors = new int[256];

    /** Records that {@code error} was read from {@code fd}'s socket. */
    public static synchronized void stash(int fd, int error) {
        if (fd < 0 || error == 0) return;
        if (fd >= errors.length) errors = Arrays.copyOf(errors, Math.max(fd + 1, errors.length * 2));
        errors[fd] = error;
    }

    /** The error stashed for {@code fd}, cleared, or 0. */
    public static synchronized int take(int fd) {
        if (fd < 0 || fd >= errors.length) return 0;
        int e = errors[fd];
        errors[fd] = 0;
        return e;
    }

    /** Forgets {@code fd}'s error (its descriptor is being closed). */
    static synchronized void clear(int fd) {
        if (fd >= 0 && fd < errors.length) errors[fd] = 0;
    }
}
