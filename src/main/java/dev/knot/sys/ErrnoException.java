// SPDX-License-Identifier: Apache-2.0
package dev.knot.sys;

import java.io.IOException;

/**
 * A system call failed: carries errno, its name and the operation that failed, so that the message reads like
 * {@code connect(127.0.0.1:1): ECONNREFUSED (Connection refused)}.
 */
public class ErrnoException extends IOException {
    /** Bumped when the serialised form changes. */
    private static final long serialVersionUID = 1L;

    /** The errno the call left. */
    private final int errno;
    /** What was attempted, with its identifying arguments. */
    private final String operation;

    /**
     * Creates the exception for a failed call.
     *
     * @param operation what was attempted, including the arguments that identify it (fd, address, path)
     * @param errno the errno the call left
     */
    public ErrnoException(String operation, int errno) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.errno = errno;
        this.operation = operation;
    }

    /** {@return the errno value, to compare with the constants of {@link Errno}} */
    public int errno() {
        return errno;
    }

    /** {@return the symbolic name of the errno, e.g. {@code "EBADF"}} */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** {@return the operation that failed, as given to the constructor} */
    public String operation() {
        return operation;
    }

    /**
     * {@return true if the connection is gone because of the peer or the network: {@link Errno#isConnectionLoss}
     * of this errno (ECONNRESET, EPIPE, ECONNABORTED)}
     */
    public boolean isConnectionLoss() {
        return Errno.isConnectionLoss(errno);
    }
}
