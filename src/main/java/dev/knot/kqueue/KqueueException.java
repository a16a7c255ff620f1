// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.sys.Errno;

import java.io.IOException;

/**
 * A kqueue call failed where kevent(2) or kqueue(2) would have returned -1: carries the errno.
 *
 * <p>On Linux the numbers are Linux's errno values; for the errors kevent(2) defines (EBADF, EINVAL, ENOENT,
 * ESRCH, ENOMEM, EINTR, EFAULT, EPIPE) they coincide with FreeBSD's.
 */
public class KqueueException extends IOException {
    /** Bumped when the serialised form changes. */
    private static final long serialVersionUID = 1L;

    /** The errno value the failed call reported. */
    private final int errno;

    /**
     * Creates the exception for a failed call.
     *
     * @param errno the errno value
     * @param operation what failed, e.g. {@code "kevent(fd 5)"}; the message adds the errno's name and text
     */
    public KqueueException(int errno, String operation) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.errno = errno;
    }

    /** {@return the errno value, e.g. 2} */
    public int errno() {
        return errno;
    }

    /** {@return the errno's symbolic name, e.g. {@code "ENOENT"}} */
    public String errnoName() {
        return Errno.name(errno);
    }
}
