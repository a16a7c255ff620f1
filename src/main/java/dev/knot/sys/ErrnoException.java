package dev.knot.sys;

import java.io.IOException;

/**
 * A system call failed: carries errno, its name and the operation that failed, so that the message reads like
 * {@code connect(127.0.0.1:1): ECONNREFUSED (Connection refused)}.
 */
public class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final String operation;

    /**
     * @param operation what was attempted, including the arguments that identify it (fd, address, path)
     * @param errno the errno the call left
     */
    public ErrnoException(String operation, int errno) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.errno = errno;
        this.operation = operation;
    }

    /** The errno value. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of the errno, e.g. {@code "EBADF"}. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** The operation that failed, as given to the constructor. */
    public String operation() {
        return operation;
    }
}
