// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.mman_h;
import dev.knot.bindings.linux.posix_spawn_file_actions_t;
import dev.knot.bindings.linux.posix_spawnattr_t;
import dev.knot.bindings.linux.prctl_h;
import dev.knot.bindings.linux.signal_h;
import dev.knot.bindings.linux.sigset_t;
import dev.knot.bindings.linux.spawn_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.bindings.linux.wait_h;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

/**
 * The process system calls of the fork and prefork layers, typed: posix_spawn with its file actions and
 * attributes, waitpid, kill, the ids, memfd. Each returns its result or throws an {@link ErrnoException} naming the
 * call and errno. Linux only; thread-safe.
 */
public final class Processes {
    private Processes() {}

    public static final int SIGHUP = signal_h.SIGHUP, SIGINT = signal_h.SIGINT, SIGKILL = signal_h.SIGKILL;
    public static final int SIGTERM = signal_h.SIGTERM, SIGTTIN = signal_h.SIGTTIN, SIGTTOU = signal_h.SIGTTOU;
    public static final int SIGWINCH = signal_h.SIGWINCH, SIGUSR2 = signal_h.SIGUSR2;

    /**
     * posix_spawn(3): starts {@code path} with {@code argv} and exactly {@code env} ("NAME=value" strings); in the
     * child, {@code stdio} (if not null) becomes 0, 1, 2, {@code moves[i]} becomes {@code 3 + i}, every descriptor
     * from {@code 3 + moves.length} up is closed (closefrom), the signal mask is empty and every disposition is the
     * default, and the working directory is {@code directory} (if not null). glibc's posix_spawn uses
     * clone(CLONE_VM|CLONE_VFORK), which is safe in a multi-threaded JVM.
     *
     * @return the child's pid
     */
    public static int spawn(String path, List<String> argv, List<String> env, int[] stdio, int[] moves, Path directory)
            throws ErrnoException {
        return spawn(path, argv, env, stdio, directory, fa -> {
            for (int i = 0; i < moves.length; i++) check(spawn_h.posix_spawn_file_actions_adddup2(fa, moves[i], 3 + i), "adddup2");
            check(spawn_h.posix_spawn_file_actions_addclosefrom_np(fa, 3 + moves.length), "addclosefrom_np");
        });
    }

    /**
     * As {@link #spawn}, but each descriptor of {@code keep} (all 3 or above) keeps its number in the child: a dup2
     * onto itself clears its close-on-exec flag there (POSIX 2017; glibc 2.29+), every other number from 3 up to the
     * highest kept one is closed (close actions on numbers that are not open are ignored by glibc), and closefrom
     * closes the rest.
     *
     * @return the child's pid
     */
    public static int spawnKeepingNumbers(String path, List<String> argv, List<String> env, int[] stdio, int[] keep, Path directory)
            throws ErrnoException {
        int highest = 2;
        java.util.BitSet kept = new java.util.BitSet();
        for (int fd : keep) {
            if (fd < 3) throw new IllegalArgumentException("descriptor " + fd + " cannot keep its number: 0, 1 and 2 are stdio");
            kept.set(fd);
            highest = Math.max(highest, fd);
        }
        int max = highest;
        return spawn(path, argv, env, stdio, directory, fa -> {
            for (int fd : keep) check(spawn_h.posix_spawn_file_actions_adddup2(fa, fd, fd), "adddup2");
            for (int fd = 3; fd < max; fd++) {
                if (!kept.get(fd)) check(spawn_h.posix_spawn_file_actions_addclose(fa, fd), "addclose");
            }
            check(spawn_h.posix_spawn_file_actions_addclosefrom_np(fa, max + 1), "addclosefrom_np");
        });
    }

    /** What a spawn does with the descriptors from 3 up, as file actions. */
    private interface Descriptors {
        void add(MemorySegment fileActions) throws ErrnoException;
    }

    /** Both spawns: stdio, the caller's descriptor actions, then the common end. */
    private static int spawn(String path, List<String> argv, List<String> env, int[] stdio, Path directory, Descriptors descriptors)
            throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fa = posix_spawn_file_actions_t.allocate(a);
            MemorySegment attr = posix_spawnattr_t.allocate(a);
            check(spawn_h.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
            check(spawn_h.posix_spawnattr_init(attr), "posix_spawnattr_init");
            try {
                if (stdio != null) {
                    for (int i = 0; i < 3; i++) check(spawn_h.posix_spawn_file_actions_adddup2(fa, stdio[i], i), "adddup2");
                }
                descriptors.add(fa);
                return finishSpawn(a, path, argv, env, directory, fa, attr);
            } finally {
                spawn_h.posix_spawn_file_actions_destroy(fa);
                spawn_h.posix_spawnattr_destroy(attr);
            }
        }
    }

    /** The common end: working directory, signal mask and dispositions, the call itself. */
    private static int finishSpawn(Arena a, String path, List<String> argv, List<String> env, Path directory,
            MemorySegment fa, MemorySegment attr) throws ErrnoException {
        if (directory != null) {
            check(spawn_h.posix_spawn_file_actions_addchdir_np(fa, a.allocateFrom(directory.toString())), "addchdir_np");
        }
        MemorySegment none = sigset_t.allocate(a);
        MemorySegment all = sigset_t.allocate(a);
        MemorySegment st = CallState.forThread();
        signal_h.sigemptyset(st, none);
        signal_h.sigfillset(st, all);
        check(spawn_h.posix_spawnattr_setsigmask(attr, none), "setsigmask");
        check(spawn_h.posix_spawnattr_setsigdefault(attr, all), "setsigdefault");
        check(spawn_h.posix_spawnattr_setflags(attr, (short) (spawn_h.POSIX_SPAWN_SETSIGMASK | spawn_h.POSIX_SPAWN_SETSIGDEF)), "setflags");
        MemorySegment pid = a.allocate(ValueLayout.JAVA_INT);
        int r = spawn_h.posix_spawn(pid, a.allocateFrom(path), fa, attr, cStrings(a, argv), cStrings(a, env));
        if (r != 0) throw new ErrnoException("posix_spawn(" + path + ")", r);
        return pid.get(ValueLayout.JAVA_INT, 0);
    }

    // posix_spawn's functions return the error instead of setting errno.
    private static void check(int r, String what) throws ErrnoException {
        if (r != 0) throw new ErrnoException("posix_spawn " + what, r);
    }

    private static MemorySegment cStrings(Arena a, List<String> strings) {
        MemorySegment array = a.allocate(ValueLayout.ADDRESS, strings.size() + 1);
        for (int i = 0; i < strings.size(); i++) array.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(strings.get(i)));
        array.setAtIndex(ValueLayout.ADDRESS, strings.size(), MemorySegment.NULL);
        return array;
    }

    /**
     * waitpid(2) on {@code pid} alone, retried on EINTR.
     *
     * @param block wait for it to exit
     * @return its wait(2) status, or -1 if it has not exited (only without {@code block})
     * @throws ErrnoException ECHILD if it is not a child of this process or was already reaped
     */
    public static int waitpid(int pid, boolean block) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment status = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment st = CallState.forThread();
            while (true) {
                int r = wait_h.waitpid(st, pid, status, block ? 0 : wait_h.WNOHANG);
                if (r == pid) return status.get(ValueLayout.JAVA_INT, 0);
                if (r == 0) return -1;
                int e = CallState.errno(st);
                if (e != errno_h.EINTR) throw new ErrnoException("waitpid(" + pid + ")", e);
            }
        }
    }

    /** The exit code in a wait status, or -1 if the process was killed by a signal. */
    public static int exitCode(int status) {
        return termSignal(status) == 0 ? (status / wait_h.W_EXITCODE_RET_UNIT) & wait_h.W_EXITSTATUS_MASK : -1;
    }

    /** The signal that killed the process, or 0 if it exited. */
    public static int termSignal(int status) {
        return status & wait_h.W_TERMSIG_MASK;
    }

    /** kill(2). @throws ErrnoException ESRCH if there is no such process (any more), EPERM */
    public static void kill(int pid, int signal) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        if (signal_h.kill(st, pid, signal) != 0) {
            throw new ErrnoException("kill(" + pid + ", " + signal + ")", CallState.errno(st));
        }
    }

    /**
     * prctl(PR_SET_PDEATHSIG, {@code signal}): the kernel sends {@code signal} to this process when the parent thread
     * that created it exits.
     *
     * @throws ErrnoException EINVAL for a bad signal
     */
    public static void setParentDeathSignal(int signal) throws ErrnoException {
        MemorySegment st = CallState.forThread();
        if (prctl_h.prctl(st, prctl_h.PR_SET_PDEATHSIG, signal) != 0) {
            throw new ErrnoException("prctl(PR_SET_PDEATHSIG, " + signal + ")", CallState.errno(st));
        }
    }

    /** getppid(2); it cannot fail. */
    public static int getppid() {
        return unistd_h.getppid();
    }

    /** geteuid(2); it cannot fail. */
    public static int geteuid() {
        return unistd_h.geteuid();
    }

    /**
     * A close-on-exec memfd named {@code name} holding {@code bytes}, its offset at the end; the caller owns it.
     */
    public static int memfd(String name, byte[] bytes) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = CallState.forThread();
            int fd = mman_h.memfd_create(st, a.allocateFrom(name), mman_h.MFD_CLOEXEC);
            if (fd < 0) throw new ErrnoException("memfd_create", CallState.errno(st));
            MemorySegment buf = a.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long off = 0;
            while (off < bytes.length) {
                long n = unistd_h.write(st, fd, buf.asSlice(off), bytes.length - off);
                if (n < 0) {
                    int e = CallState.errno(st);
                    Fds.closeQuietly(fd);
                    throw new ErrnoException("write(memfd)", e);
                }
                off += n;
            }
            return fd;
        }
    }
}
