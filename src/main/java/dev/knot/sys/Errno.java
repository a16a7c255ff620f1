// SPDX-License-Identifier: Apache-2.0
package dev.knot.sys;

import dev.knot.system.ErrnoNames;
import dev.knot.system.ErrnoValues;

/**
 * The errno values Knot can report, as the running platform numbers them, with their names and descriptions.
 *
 * <p>Every {@link ErrnoException} and {@link dev.knot.kqueue.KqueueException} carries one of these, so a caller
 * tests {@code e.errno() == Errno.ECONNRESET} instead of comparing messages. The constants are the errno values
 * that Linux, FreeBSD and macOS all define; each is read from the generated bindings of the running platform's
 * {@code <errno.h>} when this class initialises, so the numbers differ between platforms (ECONNRESET is 104 on
 * Linux, 54 on FreeBSD and macOS) and are not compile-time constants: compare with {@code ==} or {@code if}, not
 * {@code case} labels. The one-line descriptions here are glibc's; {@link #describe(int)} gives the running C
 * library's. Stateless and thread-safe.
 */
public final class Errno {
    private Errno() {}

    /** Operation not permitted. */
    public static final int EPERM = ErrnoValues.EPERM;
    /** No such file or directory. */
    public static final int ENOENT = ErrnoValues.ENOENT;
    /** No such process. */
    public static final int ESRCH = ErrnoValues.ESRCH;
    /** Interrupted system call. */
    public static final int EINTR = ErrnoValues.EINTR;
    /** Input/output error. */
    public static final int EIO = ErrnoValues.EIO;
    /** No such device or address. */
    public static final int ENXIO = ErrnoValues.ENXIO;
    /** Argument list too long. */
    public static final int E2BIG = ErrnoValues.E2BIG;
    /** Exec format error. */
    public static final int ENOEXEC = ErrnoValues.ENOEXEC;
    /** Bad file descriptor. */
    public static final int EBADF = ErrnoValues.EBADF;
    /** No child processes. */
    public static final int ECHILD = ErrnoValues.ECHILD;
    /** Resource temporarily unavailable. */
    public static final int EAGAIN = ErrnoValues.EAGAIN;
    /** Resource temporarily unavailable (the same value as {@link #EAGAIN} on every platform Knot binds). */
    public static final int EWOULDBLOCK = ErrnoValues.EWOULDBLOCK;
    /** Cannot allocate memory. */
    public static final int ENOMEM = ErrnoValues.ENOMEM;
    /** Permission denied. */
    public static final int EACCES = ErrnoValues.EACCES;
    /** Bad address. */
    public static final int EFAULT = ErrnoValues.EFAULT;
    /** Block device required. */
    public static final int ENOTBLK = ErrnoValues.ENOTBLK;
    /** Device or resource busy. */
    public static final int EBUSY = ErrnoValues.EBUSY;
    /** File exists. */
    public static final int EEXIST = ErrnoValues.EEXIST;
    /** Invalid cross-device link. */
    public static final int EXDEV = ErrnoValues.EXDEV;
    /** No such device. */
    public static final int ENODEV = ErrnoValues.ENODEV;
    /** Not a directory. */
    public static final int ENOTDIR = ErrnoValues.ENOTDIR;
    /** Is a directory. */
    public static final int EISDIR = ErrnoValues.EISDIR;
    /** Invalid argument. */
    public static final int EINVAL = ErrnoValues.EINVAL;
    /** Too many open files in system. */
    public static final int ENFILE = ErrnoValues.ENFILE;
    /** Too many open files. */
    public static final int EMFILE = ErrnoValues.EMFILE;
    /** Inappropriate ioctl for device. */
    public static final int ENOTTY = ErrnoValues.ENOTTY;
    /** Text file busy. */
    public static final int ETXTBSY = ErrnoValues.ETXTBSY;
    /** File too large. */
    public static final int EFBIG = ErrnoValues.EFBIG;
    /** No space left on device. */
    public static final int ENOSPC = ErrnoValues.ENOSPC;
    /** Illegal seek. */
    public static final int ESPIPE = ErrnoValues.ESPIPE;
    /** Read-only file system. */
    public static final int EROFS = ErrnoValues.EROFS;
    /** Too many links. */
    public static final int EMLINK = ErrnoValues.EMLINK;
    /** Broken pipe. */
    public static final int EPIPE = ErrnoValues.EPIPE;
    /** Numerical argument out of domain. */
    public static final int EDOM = ErrnoValues.EDOM;
    /** Numerical result out of range. */
    public static final int ERANGE = ErrnoValues.ERANGE;
    /** Resource deadlock avoided. */
    public static final int EDEADLK = ErrnoValues.EDEADLK;
    /** File name too long. */
    public static final int ENAMETOOLONG = ErrnoValues.ENAMETOOLONG;
    /** No locks available. */
    public static final int ENOLCK = ErrnoValues.ENOLCK;
    /** Function not implemented. */
    public static final int ENOSYS = ErrnoValues.ENOSYS;
    /** Directory not empty. */
    public static final int ENOTEMPTY = ErrnoValues.ENOTEMPTY;
    /** Too many levels of symbolic links. */
    public static final int ELOOP = ErrnoValues.ELOOP;
    /** No message of desired type. */
    public static final int ENOMSG = ErrnoValues.ENOMSG;
    /** Identifier removed. */
    public static final int EIDRM = ErrnoValues.EIDRM;
    /** Object is remote. */
    public static final int EREMOTE = ErrnoValues.EREMOTE;
    /** Link has been severed. */
    public static final int ENOLINK = ErrnoValues.ENOLINK;
    /** Protocol error. */
    public static final int EPROTO = ErrnoValues.EPROTO;
    /** Multihop attempted. */
    public static final int EMULTIHOP = ErrnoValues.EMULTIHOP;
    /** Bad message. */
    public static final int EBADMSG = ErrnoValues.EBADMSG;
    /** Value too large for defined data type. */
    public static final int EOVERFLOW = ErrnoValues.EOVERFLOW;
    /** Invalid or incomplete multibyte or wide character. */
    public static final int EILSEQ = ErrnoValues.EILSEQ;
    /** Too many users. */
    public static final int EUSERS = ErrnoValues.EUSERS;
    /** Socket operation on non-socket. */
    public static final int ENOTSOCK = ErrnoValues.ENOTSOCK;
    /** Destination address required. */
    public static final int EDESTADDRREQ = ErrnoValues.EDESTADDRREQ;
    /** Message too long. */
    public static final int EMSGSIZE = ErrnoValues.EMSGSIZE;
    /** Protocol wrong type for socket. */
    public static final int EPROTOTYPE = ErrnoValues.EPROTOTYPE;
    /** Protocol not available. */
    public static final int ENOPROTOOPT = ErrnoValues.ENOPROTOOPT;
    /** Protocol not supported. */
    public static final int EPROTONOSUPPORT = ErrnoValues.EPROTONOSUPPORT;
    /** Socket type not supported. */
    public static final int ESOCKTNOSUPPORT = ErrnoValues.ESOCKTNOSUPPORT;
    /** Operation not supported (the same value as {@link #EOPNOTSUPP} on Linux). */
    public static final int ENOTSUP = ErrnoValues.ENOTSUP;
    /** Operation not supported. */
    public static final int EOPNOTSUPP = ErrnoValues.EOPNOTSUPP;
    /** Protocol family not supported. */
    public static final int EPFNOSUPPORT = ErrnoValues.EPFNOSUPPORT;
    /** Address family not supported by protocol. */
    public static final int EAFNOSUPPORT = ErrnoValues.EAFNOSUPPORT;
    /** Address already in use. */
    public static final int EADDRINUSE = ErrnoValues.EADDRINUSE;
    /** Cannot assign requested address. */
    public static final int EADDRNOTAVAIL = ErrnoValues.EADDRNOTAVAIL;
    /** Network is down. */
    public static final int ENETDOWN = ErrnoValues.ENETDOWN;
    /** Network is unreachable. */
    public static final int ENETUNREACH = ErrnoValues.ENETUNREACH;
    /** Network dropped connection on reset. */
    public static final int ENETRESET = ErrnoValues.ENETRESET;
    /** Software caused connection abort. */
    public static final int ECONNABORTED = ErrnoValues.ECONNABORTED;
    /** Connection reset by peer. */
    public static final int ECONNRESET = ErrnoValues.ECONNRESET;
    /** No buffer space available. */
    public static final int ENOBUFS = ErrnoValues.ENOBUFS;
    /** Transport endpoint is already connected. */
    public static final int EISCONN = ErrnoValues.EISCONN;
    /** Transport endpoint is not connected. */
    public static final int ENOTCONN = ErrnoValues.ENOTCONN;
    /** Cannot send after transport endpoint shutdown. */
    public static final int ESHUTDOWN = ErrnoValues.ESHUTDOWN;
    /** Too many references: cannot splice. */
    public static final int ETOOMANYREFS = ErrnoValues.ETOOMANYREFS;
    /** Connection timed out. */
    public static final int ETIMEDOUT = ErrnoValues.ETIMEDOUT;
    /** Connection refused. */
    public static final int ECONNREFUSED = ErrnoValues.ECONNREFUSED;
    /** Host is down. */
    public static final int EHOSTDOWN = ErrnoValues.EHOSTDOWN;
    /** No route to host. */
    public static final int EHOSTUNREACH = ErrnoValues.EHOSTUNREACH;
    /** Operation already in progress. */
    public static final int EALREADY = ErrnoValues.EALREADY;
    /** Operation now in progress. */
    public static final int EINPROGRESS = ErrnoValues.EINPROGRESS;
    /** Stale file handle. */
    public static final int ESTALE = ErrnoValues.ESTALE;
    /** Disk quota exceeded. */
    public static final int EDQUOT = ErrnoValues.EDQUOT;
    /** Operation canceled. */
    public static final int ECANCELED = ErrnoValues.ECANCELED;
    /** Owner died. */
    public static final int EOWNERDEAD = ErrnoValues.EOWNERDEAD;
    /** State not recoverable. */
    public static final int ENOTRECOVERABLE = ErrnoValues.ENOTRECOVERABLE;

    /**
     * {@return the symbolic name of {@code errno} on this platform, e.g. {@code "ENOENT"}, or {@code "E<n>"} if
     * unknown}
     *
     * @param errno an errno value of this platform
     */
    public static String name(int errno) {
        return ErrnoNames.name(errno);
    }

    /**
     * {@return the C library's text for {@code errno} (strerror), or its name where no text is available}
     *
     * @param errno an errno value of this platform
     */
    public static String describe(int errno) {
        return ErrnoNames.describe(errno);
    }

    /**
     * Whether {@code errno} says the connection is gone because of the other end or the network, not because of
     * this process: {@link #ECONNRESET} (the peer reset it), {@link #EPIPE} (writing after the peer closed), and
     * {@link #ECONNABORTED}. A server sees these in normal operation and closes the connection quietly.
     *
     * @param errno an errno value of this platform
     * @return true for ECONNRESET, EPIPE and ECONNABORTED
     */
    public static boolean isConnectionLoss(int errno) {
        return errno == ECONNRESET || errno == EPIPE || errno == ECONNABORTED;
    }
}
