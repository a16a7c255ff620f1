// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import static dev.knot.bindings.linux.fcntl_h.FD_CLOEXEC;
import static dev.knot.bindings.linux.fcntl_h.F_GETFD;
import static dev.knot.bindings.linux.fcntl_h.F_GETFL;
import static dev.knot.bindings.linux.fcntl_h.F_SETFD;
import static dev.knot.bindings.linux.fcntl_h.F_SETFL;
import static dev.knot.bindings.linux.fcntl_h.O_NONBLOCK;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.ioctl_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;

import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Raw file descriptors: closing, flags, pipes. Linux only.
 *
 * <p>Ownership: a descriptor belongs to whoever opened it; these helpers never close one unless asked.
 * {@link #close(int)} is the close that kqueue semantics need: like FreeBSD's {@code knote_fdclose}, it first tells
 * the kqueues that watch the number ({@link FdWatchers}) that it is going away, so that no knote keyed by it
 * survives the close. All methods are thread-safe; errors are {@link ErrnoException}s naming the call and fd.
 */
public final class Fds {
    private Fds() {}

    /**
     * Tells {@code fd}'s watchers that its sending side was shut down: FreeBSD's WRITE filter then reports EV_EOF,
     * which Linux's epoll does not show, so Knot's kqueue emulation must be told.
     */
    public static void sendShutdown(int fd) {
        FdWatchers.sendShutdown(fd);
    }

    /** Tells {@code fd}'s watchers ({@link FdWatchers}) that it is about to be closed (or replaced, e.g. by dup2). */
    public static void closing(int fd) {
        FdWatchers.closing(fd);
        SocketErrors.clear(fd);
    }

    /**
     * Closes {@code fd} after dropping every kevent registration that references it. Linux's close is not
     * retried on EINTR: the descriptor is released either way.
     *
     * @throws ErrnoException EBADF if {@code fd} is not open, or EIO from the file system
     */
    public static void close(int fd) throws ErrnoException {
        closing(fd);
        MemorySegment st = CallState.forThread();
        if (unistd_h.close(st, fd) != 0) {
            int e = CallState.errno(st);
            if (e != dev.knot.bindings.linux.errno_h.EINTR) throw new ErrnoException("close(" + fd + ")", e);
        }
    }

    /** Closes {@code fd} if it is not negative, ignoring errors; for cleanup paths. */
    public static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            close(fd);
        } catch (ErrnoException ignored) {
            // cleanup: the descriptor is gone either way
        }
    }

    // ioctl's int out-argument; GC-managed, so a thread that goes away takes its cell with it.
    private static final ThreadLocal<MemorySegment> INT_CELL =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ValueLayout.JAVA_INT));

    /**
     * Bytes that a read of {@code fd} would get now (FIONREAD), or -1 where that does not apply (a listening
     * socket, an eventfd, a closed descriptor).
     */
    public static long bytesReadable(int fd) {
        MemorySegment cell = INT_CELL.get();
        if (ioctl_h.ioctl(CallState.forThread(), fd, ioctl_h.FIONREAD, cell) != 0) return -1;
        return cell.get(ValueLayout.JAVA_INT, 0);
    }

    /**
     * Free space in a socket's send buffer now (SO_SNDBUF minus SIOCOUTQ, as the emulation's EVFILT_WRITE reports
     * it), or -1 where that does not apply (not a socket, a closed descriptor).
     */
    public static long sendSpace(int fd) {
        MemorySegment cell = INT_CELL.get();
        MemorySegment st = CallState.forThread();
        if (ioctl_h.ioctl(st, fd, ioctl_h.SIOCOUTQ, cell) != 0) return -1;
        long queued = cell.get(ValueLayout.JAVA_INT, 0);
        long sndbuf;
        try {
            sndbuf = Sockets.getInt(fd, socket_h.SOL_SOCKET, socket_h.SO_SNDBUF, "SO_SNDBUF");
        } catch (ErrnoException e) {
            return -1;
        }
        return Math.max(0, sndbuf - queued);
    }

    /** True if {@code fd} is an open descriptor of this process. */
    public static boolean isOpen(int fd) {
        return fd >= 0 && fcntl_h.fcntl(CallState.forThread(), fd, F_GETFD, 0) >= 0;
    }

    /** Sets or clears O_NONBLOCK. */
    public static void setNonBlocking(int fd, boolean on) throws ErrnoException {
        setFlag(fd, F_GETFL, F_SETFL, O_NONBLOCK, on);
    }

    /** True if O_NONBLOCK is set. */
    public static boolean isNonBlocking(int fd) throws ErrnoException {
        return (flags(fd, F_GETFL) & O_NONBLOCK) != 0;
    }

    /** Sets or clears FD_CLOEXEC. */
    public static void setCloseOnExec(int fd, boolean on) throws ErrnoException {
        setFlag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on);
    }

    /** True if FD_CLOEXEC is set. */
    public static boolean isCloseOnExec(int fd) throws ErrnoException {
        return (flags(fd, F_GETFD) & FD_CLOEXEC) != 0;
    }

    private static int flags(int fd, int getCmd) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        int fl = fcntl_h.fcntl(st, fd, getCmd, 0);
        if (fl < 0) throw new ErrnoException("fcntl(" + fd + ", " + cmdName(getCmd) + ")", CallState.errno(st));
        return fl;
    }

    /** Read-modify-write of one flag bit; skips the write when the bit is already as asked. */
    private static void setFlag(int fd, int getCmd, int setCmd, int bit, boolean on) throws ErrnoException {
        int fl = flags(fd, getCmd);
        int nfl = on ? fl | bit : fl & ~bit;
        if (nfl == fl) return;
        MemorySegment st = CallState.forThread();
        if (fcntl_h.fcntl(st, fd, setCmd, nfl) < 0) {
            throw new ErrnoException("fcntl(" + fd + ", " + cmdName(setCmd) + ")", CallState.errno(st));
        }
    }

    private static String cmdName(int cmd) {
        if (cmd == F_GETFL) return "F_GETFL";
        if (cmd == F_SETFL) return "F_SETFL";
        if (cmd == F_GETFD) return "F_GETFD";
        if (cmd == F_SETFD) return "F_SETFD";
        return "cmd " + cmd;
    }

    /**
     * Creates a pipe with {@code pipe2(flags)}; the caller owns both ends.
     *
     * @param flags O_CLOEXEC, O_NONBLOCK (from {@code fcntl_h})
     * @return {@code {readEnd, writeEnd}}
     */
    public static int[] pipe(int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            MemorySegment st = CallState.forThread();
            if (unistd_h.pipe2(st, fds, flags) != 0) throw new ErrnoException("pipe2", CallState.errno(st));
            return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /**
     * Duplicates {@code fd} to the lowest free number at or above {@code min}, close-on-exec.
     */
    public static int dupAtLeast(int fd, int min) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        int r = fcntl_h.fcntl(st, fd, fcntl_h.F_DUPFD_CLOEXEC, min);
        if (r < 0) throw new ErrnoException("fcntl(" + fd + ", F_DUPFD_CLOEXEC, " + min + ")", CallState.errno(st));
        return r;
    }

    /**
     * The descriptors open in this process right now, from {@code /proc/self/fd} (the listing's own descriptor
     * excluded). Meant for diagnostics and leak tests.
     */
    public static List<Integer> openDescriptors() throws IOException {
        List<Integer> fds = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : ds) fds.add(Integer.parseInt(p.getFileName().toString()));
        }
        // The directory stream's own descriptor was open while listing and is closed now.
        fds.removeIf(fd -> !isOpen(fd));
        fds.sort(null);
        return fds;
    }
}
