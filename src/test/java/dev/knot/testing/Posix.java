// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.linger;
import dev.knot.bindings.linux.sockaddr_in;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.system.CallState;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Raw descriptors for tests, straight from the bindings: socketpairs, pipes, loopback TCP, files. Nothing here goes
 * through Knot's own socket layer, so kqueue tests exercise the kernel objects directly.
 */
public final class Posix {
    private Posix() {}

    private static MemorySegment st() {
        return CallState.forThread();
    }

    private static int check(String op, long r) throws ErrnoException {
        if (r < 0) throw new ErrnoException(op, CallState.errno(st()));
        return (int) r;
    }

    /** An AF_UNIX stream socketpair (close-on-exec). */
    public static int[] socketpair() throws ErrnoException {
        return socketpair(socket_h.SOCK_STREAM);
    }

    public static int[] socketpair(int type) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(ValueLayout.JAVA_INT, 2);
            check("socketpair", socket_h.socketpair(st(), socket_h.AF_UNIX, type | socket_h.SOCK_CLOEXEC, 0, sv));
            return new int[] {sv.getAtIndex(ValueLayout.JAVA_INT, 0), sv.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
    }

    /** A pipe: {read end, write end}, close-on-exec. */
    public static int[] pipe() throws ErrnoException {
        return dev.knot.system.Fds.pipe(fcntl_h.O_CLOEXEC);
    }

    public static int write(int fd, byte[] data) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            return check("write(" + fd + ")", unistd_h.write(st(), fd, buf, data.length));
        }
    }

    public static int write(int fd, String s) throws ErrnoException {
        return write(fd, s.getBytes(StandardCharsets.UTF_8));
    }

    /** FIONREAD: the bytes readable on a socket or pipe now. */
    public static int readable(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            check("ioctl(" + fd + ", FIONREAD)", dev.knot.bindings.linux.ioctl_h.ioctl(st(), fd, dev.knot.bindings.linux.ioctl_h.FIONREAD, n));
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Reads up to {@code n} bytes (blocking unless the fd is non-blocking). */
    public static byte[] read(int fd, int n) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, n));
            int r = check("read(" + fd + ")", unistd_h.read(st(), fd, buf, n));
            return buf.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** close(2) directly, bypassing Knot's close hook: what a program closing a descriptor on its own does. */
    public static void rawClose(int fd) {
        unistd_h.close(st(), fd);
    }

    public static int dup(int fd) throws ErrnoException {
        return check("dup", unistd_h.dup(st(), fd));
    }

    public static void shutdown(int fd, int how) throws ErrnoException {
        check("shutdown", socket_h.shutdown(st(), fd, how));
    }

    public static void nonBlocking(int fd) throws ErrnoException {
        dev.knot.system.Fds.setNonBlocking(fd, true);
    }

    /** A loopback TCP listener on an ephemeral port: {fd, port}. */
    public static int[] tcpListener(int backlog) throws ErrnoException {
        int fd = check("socket", socket_h.socket(st(), socket_h.AF_INET, socket_h.SOCK_STREAM | socket_h.SOCK_CLOEXEC, 0));
        return new int[] {fd, listenOn(fd, backlog)};
    }

    /** Binds a TCP socket to a loopback ephemeral port and listens; returns the port. */
    public static int listenOn(int fd, int backlog) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_INT);
            one.set(ValueLayout.JAVA_INT, 0, 1);
            socket_h.setsockopt(st(), fd, socket_h.SOL_SOCKET, socket_h.SO_REUSEADDR, one, 4);
            MemorySegment sa = loopback(a, 0);
            check("bind", socket_h.bind(st(), fd, sa, (int) sockaddr_in.SIZEOF));
            check("listen", socket_h.listen(st(), fd, backlog));
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) sockaddr_in.SIZEOF);
            check("getsockname", socket_h.getsockname(st(), fd, sa, len));
            return port(sa);
        }
    }

    /** A blocking loopback TCP connection to {@code port}. */
    public static int tcpConnect(int port) throws ErrnoException {
        int fd = check("socket", socket_h.socket(st(), socket_h.AF_INET, socket_h.SOCK_STREAM | socket_h.SOCK_CLOEXEC, 0));
        try (Arena a = Arena.ofConfined()) {
            check("connect", socket_h.connect(st(), fd, loopback(a, port), (int) sockaddr_in.SIZEOF));
        }
        return fd;
    }

    public static int accept(int listener) throws ErrnoException {
        return check("accept4", socket_h.accept4(st(), listener, MemorySegment.NULL, MemorySegment.NULL, socket_h.SOCK_CLOEXEC));
    }

    /** A connected loopback TCP pair {client, server}. */
    public static int[] tcpPair() throws ErrnoException {
        int[] l = tcpListener(8);
        try {
            int c = tcpConnect(l[1]);
            return new int[] {c, accept(l[0])};
        } finally {
            rawClose(l[0]);
        }
    }

    /** SO_LINGER {1, 0}: close then sends a RST. */
    public static void lingerZero(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = linger.allocate(a);
            linger.l_onoff(l, 1);
            linger.l_linger(l, 0);
            check("setsockopt(SO_LINGER)", socket_h.setsockopt(st(), fd, socket_h.SOL_SOCKET, socket_h.SO_LINGER, l, (int) linger.SIZEOF));
        }
    }

    public static void setIntOption(int fd, int level, int name, int value) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            check("setsockopt", socket_h.setsockopt(st(), fd, level, name, v, 4));
        }
    }

    /** open(2) with flags and mode 0600. */
    public static int open(String path, int flags) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            return check("open(" + path + ")", fcntl_h.open(st(), a.allocateFrom(path), flags | fcntl_h.O_CLOEXEC, 0600));
        }
    }

    public static long lseek(int fd, long offset, int whence) throws ErrnoException {
        return check("lseek", unistd_h.lseek(st(), fd, offset, whence));
    }

    private static MemorySegment loopback(Arena a, int port) {
        MemorySegment sa = sockaddr_in.allocate(a);
        sockaddr_in.sin_family(sa, (short) socket_h.AF_INET);
        sockaddr_in.sin_port(sa, Short.reverseBytes((short) port));
        byte[] addr = ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(in_h.INADDR_LOOPBACK).array();
        MemorySegment.copy(addr, 0, sockaddr_in.sin_addr(sa), ValueLayout.JAVA_BYTE, 0, 4);
        return sa;
    }

    private static int port(MemorySegment sa) {
        return Short.toUnsignedInt(Short.reverseBytes(sockaddr_in.sin_port(sa)));
    }

    // ------------------------------------------------------------------ processes, signals, misc (conformance suite)

    /**
     * posix_spawn(3) of {@code argv[0]} (an absolute path) with an empty environment, an empty signal mask and
     * default dispositions. The JDK does not know this child, so nothing reaps it behind the test's back: it stays
     * a zombie until {@link #waitpid} (which is what a kqueue owner expects of its own children).
     */
    public static int spawn(String... argv) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pid = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment args = a.allocate(ValueLayout.ADDRESS, argv.length + 1L);
            for (int i = 0; i < argv.length; i++) args.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(argv[i]));
            args.setAtIndex(ValueLayout.ADDRESS, argv.length, MemorySegment.NULL);
            MemorySegment env = a.allocate(ValueLayout.ADDRESS, 1);
            env.setAtIndex(ValueLayout.ADDRESS, 0, MemorySegment.NULL);
            MemorySegment attr = dev.knot.bindings.linux.posix_spawnattr_t.allocate(a);
            MemorySegment empty = dev.knot.bindings.linux.sigset_t.allocate(a);
            MemorySegment all = dev.knot.bindings.linux.sigset_t.allocate(a);
            dev.knot.bindings.linux.signal_h.sigemptyset(st(), empty);
            dev.knot.bindings.linux.signal_h.sigfillset(st(), all);
            dev.knot.bindings.linux.spawn_h.posix_spawnattr_init(attr);
            try {
                dev.knot.bindings.linux.spawn_h.posix_spawnattr_setsigmask(attr, empty);
                dev.knot.bindings.linux.spawn_h.posix_spawnattr_setsigdefault(attr, all);
                dev.knot.bindings.linux.spawn_h.posix_spawnattr_setflags(attr,
                        (short) (dev.knot.bindings.linux.spawn_h.POSIX_SPAWN_SETSIGMASK | dev.knot.bindings.linux.spawn_h.POSIX_SPAWN_SETSIGDEF));
                int r = dev.knot.bindings.linux.spawn_h.posix_spawn(pid, a.allocateFrom(argv[0]), MemorySegment.NULL, attr, args, env);
                if (r != 0) throw new ErrnoException("posix_spawn(" + argv[0] + ")", r);
            } finally {
                dev.knot.bindings.linux.spawn_h.posix_spawnattr_destroy(attr);
            }
            return pid.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** waitpid(pid, &status, 0): reaps the child and returns its wait(2) status word. */
    public static int waitpid(int pid) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment status = a.allocate(ValueLayout.JAVA_INT);
            while (true) {
                int r = dev.knot.bindings.linux.wait_h.waitpid(st(), pid, status, 0);
                if (r == pid) return status.get(ValueLayout.JAVA_INT, 0);
                int e = CallState.errno(st());
                if (r < 0 && e != dev.knot.bindings.linux.errno_h.EINTR) throw new ErrnoException("waitpid(" + pid + ")", e);
            }
        }
    }

    /** True once {@code pid} is a zombie (or gone), from /proc/PID/stat. */
    public static boolean isZombieOrGone(int pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException e) {
            return true;
        }
    }

    /** Waits (up to 10 s) until the child is a zombie. */
    public static void awaitZombie(int pid) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!isZombieOrGone(pid)) {
            if (System.nanoTime() > deadline) throw new AssertionError("pid " + pid + " did not exit");
            Thread.onSpinWait();
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** kill(2). */
    public static void kill(int pid, int sig) throws ErrnoException {
        check("kill(" + pid + ", " + sig + ")", dev.knot.bindings.linux.signal_h.kill(st(), pid, sig));
    }

    public static int getpid() {
        return dev.knot.bindings.linux.unistd_h.getpid();
    }

    /** An eventfd with the given counter, non-blocking, close-on-exec. */
    public static int eventfd(int initial) throws ErrnoException {
        return check("eventfd", dev.knot.bindings.linux.eventfd_h.eventfd(st(), initial,
                dev.knot.bindings.linux.eventfd_h.EFD_CLOEXEC | dev.knot.bindings.linux.eventfd_h.EFD_NONBLOCK));
    }

    /** A fresh, unconnected socket of the given domain and type. */
    public static int socket(int domain, int type) throws ErrnoException {
        return check("socket", socket_h.socket(st(), domain, type | socket_h.SOCK_CLOEXEC, 0));
    }

    private static MemorySegment unixAddress(Arena a, String path) {
        MemorySegment sa = dev.knot.bindings.linux.sockaddr_un.allocate(a);
        dev.knot.bindings.linux.sockaddr_un.sun_family(sa, (short) socket_h.AF_UNIX);
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        MemorySegment.copy(p, 0, dev.knot.bindings.linux.sockaddr_un.sun_path(sa), ValueLayout.JAVA_BYTE, 0, p.length);
        return sa;
    }

    /** An AF_UNIX stream listener bound to {@code path}. */
    public static int unixListener(String path, int backlog) throws ErrnoException {
        int fd = socket(socket_h.AF_UNIX, socket_h.SOCK_STREAM);
        try (Arena a = Arena.ofConfined()) {
            check("bind(" + path + ")", socket_h.bind(st(), fd, unixAddress(a, path), (int) dev.knot.bindings.linux.sockaddr_un.SIZEOF));
            check("listen", socket_h.listen(st(), fd, backlog));
            return fd;
        } catch (ErrnoException e) {
            rawClose(fd);
            throw e;
        }
    }

    /** A connected AF_UNIX stream socket to {@code path}. */
    public static int unixConnect(String path) throws ErrnoException {
        int fd = socket(socket_h.AF_UNIX, socket_h.SOCK_STREAM);
        try (Arena a = Arena.ofConfined()) {
            check("connect(" + path + ")", socket_h.connect(st(), fd, unixAddress(a, path), (int) dev.knot.bindings.linux.sockaddr_un.SIZEOF));
            return fd;
        } catch (ErrnoException e) {
            rawClose(fd);
            throw e;
        }
    }

    /** Writes to a non-blocking descriptor until it would block; returns the bytes written. */
    public static long fill(int fd) throws ErrnoException {
        nonBlocking(fd);
        long total = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(65536);
            while (true) {
                long r = unistd_h.write(st(), fd, buf, buf.byteSize());
                if (r < 0) {
                    int e = CallState.errno(st());
                    if (e == dev.knot.bindings.linux.errno_h.EAGAIN) return total;
                    throw new ErrnoException("write(" + fd + ")", e);
                }
                total += r;
            }
        }
    }

    /** Reads from a non-blocking descriptor until it would block (or EOF); returns the bytes read. */
    public static long drain(int fd) throws ErrnoException {
        nonBlocking(fd);
        long total = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(65536);
            while (true) {
                long r = unistd_h.read(st(), fd, buf, buf.byteSize());
                if (r == 0) return total;
                if (r < 0) {
                    int e = CallState.errno(st());
                    if (e == dev.knot.bindings.linux.errno_h.EAGAIN) return total;
                    throw new ErrnoException("read(" + fd + ")", e);
                }
                total += r;
            }
        }
    }

    /** The number of descriptors open in this process. */
    public static int openFdCount() {
        try {
            return dev.knot.system.Fds.openDescriptors().size();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    // glibc's gettid(3) and tgkill(2), bound here for the tests only (the generated bindings do not carry them).
    private static final java.lang.invoke.MethodHandle GETTID = java.lang.foreign.Linker.nativeLinker().downcallHandle(
            java.lang.foreign.Linker.nativeLinker().defaultLookup().find("gettid").orElseThrow(),
            java.lang.foreign.FunctionDescriptor.of(ValueLayout.JAVA_INT));
    private static final java.lang.invoke.MethodHandle TGKILL = java.lang.foreign.Linker.nativeLinker().downcallHandle(
            java.lang.foreign.Linker.nativeLinker().defaultLookup().find("tgkill").orElseThrow(),
            java.lang.foreign.FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** The calling thread's kernel thread id. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Sends {@code sig} to one thread of this process. */
    public static void tgkill(int tid, int sig) {
        try {
            int r = (int) TGKILL.invokeExact(getpid(), tid, sig);
            if (r != 0) throw new AssertionError("tgkill failed");
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
