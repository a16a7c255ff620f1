// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.sys.Platform;

/**
 * The errno values every platform Knot binds defines, as the running platform numbers them: each is read from the
 * generated bindings of that platform's {@code <errno.h>}, never restated. {@code dev.knot.sys.Errno} exports them.
 * Stateless, thread-safe.
 */
public final class ErrnoValues {
    private ErrnoValues() {}

    private static final Platform OS = Platform.CURRENT;

    private static int pick(int linux, int freebsd, int macos) {
        return switch (OS) {
            case FREEBSD -> freebsd;
            case MACOS -> macos;
            default -> linux;
        };
    }

    public static final int EPERM = pick(dev.knot.bindings.linux.errno_h.EPERM, dev.knot.bindings.freebsd.errno_h.EPERM,
            dev.knot.bindings.macos.errno_h.EPERM);
    public static final int ENOENT = pick(dev.knot.bindings.linux.errno_h.ENOENT, dev.knot.bindings.freebsd.errno_h.ENOENT,
            dev.knot.bindings.macos.errno_h.ENOENT);
    public static final int ESRCH = pick(dev.knot.bindings.linux.errno_h.ESRCH, dev.knot.bindings.freebsd.errno_h.ESRCH,
            dev.knot.bindings.macos.errno_h.ESRCH);
    public static final int EINTR = pick(dev.knot.bindings.linux.errno_h.EINTR, dev.knot.bindings.freebsd.errno_h.EINTR,
            dev.knot.bindings.macos.errno_h.EINTR);
    public static final int EIO = pick(dev.knot.bindings.linux.errno_h.EIO, dev.knot.bindings.freebsd.errno_h.EIO,
            dev.knot.bindings.macos.errno_h.EIO);
    public static final int ENXIO = pick(dev.knot.bindings.linux.errno_h.ENXIO, dev.knot.bindings.freebsd.errno_h.ENXIO,
            dev.knot.bindings.macos.errno_h.ENXIO);
    public static final int E2BIG = pick(dev.knot.bindings.linux.errno_h.E2BIG, dev.knot.bindings.freebsd.errno_h.E2BIG,
            dev.knot.bindings.macos.errno_h.E2BIG);
    public static final int ENOEXEC = pick(dev.knot.bindings.linux.errno_h.ENOEXEC, dev.knot.bindings.freebsd.errno_h.ENOEXEC,
            dev.knot.bindings.macos.errno_h.ENOEXEC);
    public static final int EBADF = pick(dev.knot.bindings.linux.errno_h.EBADF, dev.knot.bindings.freebsd.errno_h.EBADF,
            dev.knot.bindings.macos.errno_h.EBADF);
    public static final int ECHILD = pick(dev.knot.bindings.linux.errno_h.ECHILD, dev.knot.bindings.freebsd.errno_h.ECHILD,
            dev.knot.bindings.macos.errno_h.ECHILD);
    public static final int EAGAIN = pick(dev.knot.bindings.linux.errno_h.EAGAIN, dev.knot.bindings.freebsd.errno_h.EAGAIN,
            dev.knot.bindings.macos.errno_h.EAGAIN);
    public static final int EWOULDBLOCK = pick(dev.knot.bindings.linux.errno_h.EWOULDBLOCK, dev.knot.bindings.freebsd.errno_h.EWOULDBLOCK,
            dev.knot.bindings.macos.errno_h.EWOULDBLOCK);
    public static final int ENOMEM = pick(dev.knot.bindings.linux.errno_h.ENOMEM, dev.knot.bindings.freebsd.errno_h.ENOMEM,
            dev.knot.bindings.macos.errno_h.ENOMEM);
    public static final int EACCES = pick(dev.knot.bindings.linux.errno_h.EACCES, dev.knot.bindings.freebsd.errno_h.EACCES,
            dev.knot.bindings.macos.errno_h.EACCES);
    public static final int EFAULT = pick(dev.knot.bindings.linux.errno_h.EFAULT, dev.knot.bindings.freebsd.errno_h.EFAULT,
            dev.knot.bindings.macos.errno_h.EFAULT);
    public static final int ENOTBLK = pick(dev.knot.bindings.linux.errno_h.ENOTBLK, dev.knot.bindings.freebsd.errno_h.ENOTBLK,
            dev.knot.bindings.macos.errno_h.ENOTBLK);
    public static final int EBUSY = pick(dev.knot.bindings.linux.errno_h.EBUSY, dev.knot.bindings.freebsd.errno_h.EBUSY,
            dev.knot.bindings.macos.errno_h.EBUSY);
    public static final int EEXIST = pick(dev.knot.bindings.linux.errno_h.EEXIST, dev.knot.bindings.freebsd.errno_h.EEXIST,
            dev.knot.bindings.macos.errno_h.EEXIST);
    public static final int EXDEV = pick(dev.knot.bindings.linux.errno_h.EXDEV, dev.knot.bindings.freebsd.errno_h.EXDEV,
            dev.knot.bindings.macos.errno_h.EXDEV);
    public static final int ENODEV = pick(dev.knot.bindings.linux.errno_h.ENODEV, dev.knot.bindings.freebsd.errno_h.ENODEV,
            dev.knot.bindings.macos.errno_h.ENODEV);
    public static final int ENOTDIR = pick(dev.knot.bindings.linux.errno_h.ENOTDIR, dev.knot.bindings.freebsd.errno_h.ENOTDIR,
            dev.knot.bindings.macos.errno_h.ENOTDIR);
    public static final int EISDIR = pick(dev.knot.bindings.linux.errno_h.EISDIR, dev.knot.bindings.freebsd.errno_h.EISDIR,
            dev.knot.bindings.macos.errno_h.EISDIR);
    public static final int EINVAL = pick(dev.knot.bindings.linux.errno_h.EINVAL, dev.knot.bindings.freebsd.errno_h.EINVAL,
            dev.knot.bindings.macos.errno_h.EINVAL);
    public static final int ENFILE = pick(dev.knot.bindings.linux.errno_h.ENFILE, dev.knot.bindings.freebsd.errno_h.ENFILE,
            dev.knot.bindings.macos.errno_h.ENFILE);
    public static final int EMFILE = pick(dev.knot.bindings.linux.errno_h.EMFILE, dev.knot.bindings.freebsd.errno_h.EMFILE,
            dev.knot.bindings.macos.errno_h.EMFILE);
    public static final int ENOTTY = pick(dev.knot.bindings.linux.errno_h.ENOTTY, dev.knot.bindings.freebsd.errno_h.ENOTTY,
            dev.knot.bindings.macos.errno_h.ENOTTY);
    public static final int ETXTBSY = pick(dev.knot.bindings.linux.errno_h.ETXTBSY, dev.knot.bindings.freebsd.errno_h.ETXTBSY,
            dev.knot.bindings.macos.errno_h.ETXTBSY);
    public static final int EFBIG = pick(dev.knot.bindings.linux.errno_h.EFBIG, dev.knot.bindings.freebsd.errno_h.EFBIG,
            dev.knot.bindings.macos.errno_h.EFBIG);
    public static final int ENOSPC = pick(dev.knot.bindings.linux.errno_h.ENOSPC, dev.knot.bindings.freebsd.errno_h.ENOSPC,
            dev.knot.bindings.macos.errno_h.ENOSPC);
    public static final int ESPIPE = pick(dev.knot.bindings.linux.errno_h.ESPIPE, dev.knot.bindings.freebsd.errno_h.ESPIPE,
            dev.knot.bindings.macos.errno_h.ESPIPE);
    public static final int EROFS = pick(dev.knot.bindings.linux.errno_h.EROFS, dev.knot.bindings.freebsd.errno_h.EROFS,
            dev.knot.bindings.macos.errno_h.EROFS);
    public static final int EMLINK = pick(dev.knot.bindings.linux.errno_h.EMLINK, dev.knot.bindings.freebsd.errno_h.EMLINK,
            dev.knot.bindings.macos.errno_h.EMLINK);
    public static final int EPIPE = pick(dev.knot.bindings.linux.errno_h.EPIPE, dev.knot.bindings.freebsd.errno_h.EPIPE,
            dev.knot.bindings.macos.errno_h.EPIPE);
    public static final int EDOM = pick(dev.knot.bindings.linux.errno_h.EDOM, dev.knot.bindings.freebsd.errno_h.EDOM,
            dev.knot.bindings.macos.errno_h.EDOM);
    public static final int ERANGE = pick(dev.knot.bindings.linux.errno_h.ERANGE, dev.knot.bindings.freebsd.errno_h.ERANGE,
            dev.knot.bindings.macos.errno_h.ERANGE);
    public static final int EDEADLK = pick(dev.knot.bindings.linux.errno_h.EDEADLK, dev.knot.bindings.freebsd.errno_h.EDEADLK,
            dev.knot.bindings.macos.errno_h.EDEADLK);
    public static final int ENAMETOOLONG = pick(dev.knot.bindings.linux.errno_h.ENAMETOOLONG, dev.knot.bindings.freebsd.errno_h.ENAMETOOLONG,
            dev.knot.bindings.macos.errno_h.ENAMETOOLONG);
    public static final int ENOLCK = pick(dev.knot.bindings.linux.errno_h.ENOLCK, dev.knot.bindings.freebsd.errno_h.ENOLCK,
            dev.knot.bindings.macos.errno_h.ENOLCK);
    public static final int ENOSYS = pick(dev.knot.bindings.linux.errno_h.ENOSYS, dev.knot.bindings.freebsd.errno_h.ENOSYS,
            dev.knot.bindings.macos.errno_h.ENOSYS);
    public static final int ENOTEMPTY = pick(dev.knot.bindings.linux.errno_h.ENOTEMPTY, dev.knot.bindings.freebsd.errno_h.ENOTEMPTY,
            dev.knot.bindings.macos.errno_h.ENOTEMPTY);
    public static final int ELOOP = pick(dev.knot.bindings.linux.errno_h.ELOOP, dev.knot.bindings.freebsd.errno_h.ELOOP,
            dev.knot.bindings.macos.errno_h.ELOOP);
    public static final int ENOMSG = pick(dev.knot.bindings.linux.errno_h.ENOMSG, dev.knot.bindings.freebsd.errno_h.ENOMSG,
            dev.knot.bindings.macos.errno_h.ENOMSG);
    public static final int EIDRM = pick(dev.knot.bindings.linux.errno_h.EIDRM, dev.knot.bindings.freebsd.errno_h.EIDRM,
            dev.knot.bindings.macos.errno_h.EIDRM);
    public static final int EREMOTE = pick(dev.knot.bindings.linux.errno_h.EREMOTE, dev.knot.bindings.freebsd.errno_h.EREMOTE,
            dev.knot.bindings.macos.errno_h.EREMOTE);
    public static final int ENOLINK = pick(dev.knot.bindings.linux.errno_h.ENOLINK, dev.knot.bindings.freebsd.errno_h.ENOLINK,
            dev.knot.bindings.macos.errno_h.ENOLINK);
    public static final int EPROTO = pick(dev.knot.bindings.linux.errno_h.EPROTO, dev.knot.bindings.freebsd.errno_h.EPROTO,
            dev.knot.bindings.macos.errno_h.EPROTO);
    public static final int EMULTIHOP = pick(dev.knot.bindings.linux.errno_h.EMULTIHOP, dev.knot.bindings.freebsd.errno_h.EMULTIHOP,
            dev.knot.bindings.macos.errno_h.EMULTIHOP);
    public static final int EBADMSG = pick(dev.knot.bindings.linux.errno_h.EBADMSG, dev.knot.bindings.freebsd.errno_h.EBADMSG,
            dev.knot.bindings.macos.errno_h.EBADMSG);
    public static final int EOVERFLOW = pick(dev.knot.bindings.linux.errno_h.EOVERFLOW, dev.knot.bindings.freebsd.errno_h.EOVERFLOW,
            dev.knot.bindings.macos.errno_h.EOVERFLOW);
    public static final int EILSEQ = pick(dev.knot.bindings.linux.errno_h.EILSEQ, dev.knot.bindings.freebsd.errno_h.EILSEQ,
            dev.knot.bindings.macos.errno_h.EILSEQ);
    public static final int EUSERS = pick(dev.knot.bindings.linux.errno_h.EUSERS, dev.knot.bindings.freebsd.errno_h.EUSERS,
            dev.knot.bindings.macos.errno_h.EUSERS);
    public static final int ENOTSOCK = pick(dev.knot.bindings.linux.errno_h.ENOTSOCK, dev.knot.bindings.freebsd.errno_h.ENOTSOCK,
            dev.knot.bindings.macos.errno_h.ENOTSOCK);
    public static final int EDESTADDRREQ = pick(dev.knot.bindings.linux.errno_h.EDESTADDRREQ, dev.knot.bindings.freebsd.errno_h.EDESTADDRREQ,
            dev.knot.bindings.macos.errno_h.EDESTADDRREQ);
    public static final int EMSGSIZE = pick(dev.knot.bindings.linux.errno_h.EMSGSIZE, dev.knot.bindings.freebsd.errno_h.EMSGSIZE,
            dev.knot.bindings.macos.errno_h.EMSGSIZE);
    public static final int EPROTOTYPE = pick(dev.knot.bindings.linux.errno_h.EPROTOTYPE, dev.knot.bindings.freebsd.errno_h.EPROTOTYPE,
            dev.knot.bindings.macos.errno_h.EPROTOTYPE);
    public static final int ENOPROTOOPT = pick(dev.knot.bindings.linux.errno_h.ENOPROTOOPT, dev.knot.bindings.freebsd.errno_h.ENOPROTOOPT,
            dev.knot.bindings.macos.errno_h.ENOPROTOOPT);
    public static final int EPROTONOSUPPORT = pick(dev.knot.bindings.linux.errno_h.EPROTONOSUPPORT, dev.knot.bindings.freebsd.errno_h.EPROTONOSUPPORT,
            dev.knot.bindings.macos.errno_h.EPROTONOSUPPORT);
    public static final int ESOCKTNOSUPPORT = pick(dev.knot.bindings.linux.errno_h.ESOCKTNOSUPPORT, dev.knot.bindings.freebsd.errno_h.ESOCKTNOSUPPORT,
            dev.knot.bindings.macos.errno_h.ESOCKTNOSUPPORT);
    public static final int ENOTSUP = pick(dev.knot.bindings.linux.errno_h.ENOTSUP, dev.knot.bindings.freebsd.errno_h.ENOTSUP,
            dev.knot.bindings.macos.errno_h.ENOTSUP);
    public static final int EOPNOTSUPP = pick(dev.knot.bindings.linux.errno_h.EOPNOTSUPP, dev.knot.bindings.freebsd.errno_h.EOPNOTSUPP,
            dev.knot.bindings.macos.errno_h.EOPNOTSUPP);
    public static final int EPFNOSUPPORT = pick(dev.knot.bindings.linux.errno_h.EPFNOSUPPORT, dev.knot.bindings.freebsd.errno_h.EPFNOSUPPORT,
            dev.knot.bindings.macos.errno_h.EPFNOSUPPORT);
    public static final int EAFNOSUPPORT = pick(dev.knot.bindings.linux.errno_h.EAFNOSUPPORT, dev.knot.bindings.freebsd.errno_h.EAFNOSUPPORT,
            dev.knot.bindings.macos.errno_h.EAFNOSUPPORT);
    public static final int EADDRINUSE = pick(dev.knot.bindings.linux.errno_h.EADDRINUSE, dev.knot.bindings.freebsd.errno_h.EADDRINUSE,
            dev.knot.bindings.macos.errno_h.EADDRINUSE);
    public static final int EADDRNOTAVAIL = pick(dev.knot.bindings.linux.errno_h.EADDRNOTAVAIL, dev.knot.bindings.freebsd.errno_h.EADDRNOTAVAIL,
            dev.knot.bindings.macos.errno_h.EADDRNOTAVAIL);
    public static final int ENETDOWN = pick(dev.knot.bindings.linux.errno_h.ENETDOWN, dev.knot.bindings.freebsd.errno_h.ENETDOWN,
            dev.knot.bindings.macos.errno_h.ENETDOWN);
    public static final int ENETUNREACH = pick(dev.knot.bindings.linux.errno_h.ENETUNREACH, dev.knot.bindings.freebsd.errno_h.ENETUNREACH,
            dev.knot.bindings.macos.errno_h.ENETUNREACH);
    public static final int ENETRESET = pick(dev.knot.bindings.linux.errno_h.ENETRESET, dev.knot.bindings.freebsd.errno_h.ENETRESET,
            dev.knot.bindings.macos.errno_h.ENETRESET);
    public static final int ECONNABORTED = pick(dev.knot.bindings.linux.errno_h.ECONNABORTED, dev.knot.bindings.freebsd.errno_h.ECONNABORTED,
            dev.knot.bindings.macos.errno_h.ECONNABORTED);
    public static final int ECONNRESET = pick(dev.knot.bindings.linux.errno_h.ECONNRESET, dev.knot.bindings.freebsd.errno_h.ECONNRESET,
            dev.knot.bindings.macos.errno_h.ECONNRESET);
    public static final int ENOBUFS = pick(dev.knot.bindings.linux.errno_h.ENOBUFS, dev.knot.bindings.freebsd.errno_h.ENOBUFS,
            dev.knot.bindings.macos.errno_h.ENOBUFS);
    public static final int EISCONN = pick(dev.knot.bindings.linux.errno_h.EISCONN, dev.knot.bindings.freebsd.errno_h.EISCONN,
            dev.knot.bindings.macos.errno_h.EISCONN);
    public static final int ENOTCONN = pick(dev.knot.bindings.linux.errno_h.ENOTCONN, dev.knot.bindings.freebsd.errno_h.ENOTCONN,
            dev.knot.bindings.macos.errno_h.ENOTCONN);
    public static final int ESHUTDOWN = pick(dev.knot.bindings.linux.errno_h.ESHUTDOWN, dev.knot.bindings.freebsd.errno_h.ESHUTDOWN,
            dev.knot.bindings.macos.errno_h.ESHUTDOWN);
    public static final int ETOOMANYREFS = pick(dev.knot.bindings.linux.errno_h.ETOOMANYREFS, dev.knot.bindings.freebsd.errno_h.ETOOMANYREFS,
            dev.knot.bindings.macos.errno_h.ETOOMANYREFS);
    public static final int ETIMEDOUT = pick(dev.knot.bindings.linux.errno_h.ETIMEDOUT, dev.knot.bindings.freebsd.errno_h.ETIMEDOUT,
            dev.knot.bindings.macos.errno_h.ETIMEDOUT);
    public static final int ECONNREFUSED = pick(dev.knot.bindings.linux.errno_h.ECONNREFUSED, dev.knot.bindings.freebsd.errno_h.ECONNREFUSED,
            dev.knot.bindings.macos.errno_h.ECONNREFUSED);
    public static final int EHOSTDOWN = pick(dev.knot.bindings.linux.errno_h.EHOSTDOWN, dev.knot.bindings.freebsd.errno_h.EHOSTDOWN,
            dev.knot.bindings.macos.errno_h.EHOSTDOWN);
    public static final int EHOSTUNREACH = pick(dev.knot.bindings.linux.errno_h.EHOSTUNREACH, dev.knot.bindings.freebsd.errno_h.EHOSTUNREACH,
            dev.knot.bindings.macos.errno_h.EHOSTUNREACH);
    public static final int EALREADY = pick(dev.knot.bindings.linux.errno_h.EALREADY, dev.knot.bindings.freebsd.errno_h.EALREADY,
            dev.knot.bindings.macos.errno_h.EALREADY);
    public static final int EINPROGRESS = pick(dev.knot.bindings.linux.errno_h.EINPROGRESS, dev.knot.bindings.freebsd.errno_h.EINPROGRESS,
            dev.knot.bindings.macos.errno_h.EINPROGRESS);
    public static final int ESTALE = pick(dev.knot.bindings.linux.errno_h.ESTALE, dev.knot.bindings.freebsd.errno_h.ESTALE,
            dev.knot.bindings.macos.errno_h.ESTALE);
    public static final int EDQUOT = pick(dev.knot.bindings.linux.errno_h.EDQUOT, dev.knot.bindings.freebsd.errno_h.EDQUOT,
            dev.knot.bindings.macos.errno_h.EDQUOT);
    public static final int ECANCELED = pick(dev.knot.bindings.linux.errno_h.ECANCELED, dev.knot.bindings.freebsd.errno_h.ECANCELED,
            dev.knot.bindings.macos.errno_h.ECANCELED);
    public static final int EOWNERDEAD = pick(dev.knot.bindings.linux.errno_h.EOWNERDEAD, dev.knot.bindings.freebsd.errno_h.EOWNERDEAD,
            dev.knot.bindings.macos.errno_h.EOWNERDEAD);
    public static final int ENOTRECOVERABLE = pick(dev.knot.bindings.linux.errno_h.ENOTRECOVERABLE, dev.knot.bindings.freebsd.errno_h.ENOTRECOVERABLE,
            dev.knot.bindings.macos.errno_h.ENOTRECOVERABLE);
}
