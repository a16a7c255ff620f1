// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.errno_h;

/**
 * The Linux errno values the layers above the system layer test for, so that they need not name the generated
 * bindings. (The exported {@code dev.knot.sys.Errno} names and describes any value.)
 */
public final class Errnos {
    private Errnos() {}

    public static final int EINTR = errno_h.EINTR, EAGAIN = errno_h.EAGAIN, EBADF = errno_h.EBADF;
    public static final int ENOENT = errno_h.ENOENT, ESRCH = errno_h.ESRCH, ECHILD = errno_h.ECHILD;
    public static final int EINVAL = errno_h.EINVAL, ENOTCONN = errno_h.ENOTCONN, EPIPE = errno_h.EPIPE;
    public static final int ECONNRESET = errno_h.ECONNRESET, ECONNREFUSED = errno_h.ECONNREFUSED;
    public static final int EMFILE = errno_h.EMFILE, ENFILE = errno_h.ENFILE, ENOBUFS = errno_h.ENOBUFS;
    public static final int ENOMEM = errno_h.ENOMEM, EADDRINUSE = errno_h.EADDRINUSE;
}
