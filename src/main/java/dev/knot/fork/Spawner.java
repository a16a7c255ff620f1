// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import dev.knot.sys.ErrnoException;
import dev.knot.system.Errnos;
import dev.knot.system.Fds;
import dev.knot.system.Processes;
import dev.knot.sys.Platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Starts processes with posix_spawn(3) through FFM, for children that must receive descriptors: the chosen ones
 * appear at 3, 4, 5... in the child (or, in the same-numbers mode, under their own numbers), every other descriptor of the parent is closed (closefrom), the signal mask is
 * emptied and every signal disposition reset to its default (an ignored HUP would otherwise stay ignored across
 * exec, and the JVM then refuses to handle it), and the environment is exactly the one given.
 *
 * <p>glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK), which is safe in a multi-threaded JVM (a raw fork is
 * not). Thread-safe. Errors are {@link ErrnoException}s naming the program.
 */
public final class Spawner {
    private Spawner() {}

    /**
     * What to start.
     *
     * @param command the program (an absolute path, or a name looked up in PATH) and its arguments
     * @param environment the child's whole environment
     * @param fds descriptors of this process to hand over: the i-th becomes descriptor 3 + i in the child
     * @param stdio descriptors for the child's 0, 1 and 2, or null to share this process's
     * @param directory the child's working directory, or null for this one's
     * @param keepNumbers the same-numbers mode: each handed descriptor keeps its number in the child instead of
     *                    becoming 3 + i (every other descriptor is still closed); see {@link Handoff#keepNumbers}
     */
    public record Spec(List<String> command, Map<String, String> environment, List<Integer> fds, int[] stdio, Path directory,
                       boolean keepNumbers) {
        /**
         * Checks and copies the parts.
         *
         * @throws IllegalArgumentException for an empty command, a {@code stdio} that is not three descriptors, or
         *         with {@code keepNumbers} a handed descriptor below 3 or handed twice
         */
        public Spec {
            Objects.requireNonNull(command, "command");
            if (command.isEmpty()) throw new IllegalArgumentException("empty command");
            environment = Map.copyOf(environment);
            fds = List.copyOf(fds);
            if (stdio != null && stdio.length != 3) throw new IllegalArgumentException("stdio needs three descriptors");
            if (keepNumbers) {
                if (fds.stream().anyMatch(fd -> fd < 3)) throw new IllegalArgumentException("descriptors " + fds + " cannot keep their numbers: 0, 1 and 2 are stdio");
                if (fds.stream().distinct().count() != fds.size()) throw new IllegalArgumentException("descriptors " + fds + " name one twice");
            }
        }

        /**
         * The renumbering spec: the i-th handed descriptor becomes 3 + i.
         *
         * @param command the program and its arguments
         * @param environment the child's whole environment
         * @param fds descriptors to hand over, in order
         * @param stdio descriptors for the child's 0, 1 and 2, or null
         * @param directory the child's working directory, or null
         */
        public Spec(List<String> command, Map<String, String> environment, List<Integer> fds, int[] stdio, Path directory) {
            this(command, environment, fds, stdio, directory, false);
        }
    }

    /**
     * Spawns the child.
     *
     * @param spec what to run, with which environment and descriptors
     * @return its pid; reap it with {@link #reap(int, boolean)}
     * @throws ErrnoException ENOENT/EACCES for the program, EBADF for a handed descriptor that is not open, ...
     */
    public static int spawn(Spec spec) throws IOException {
        Platform.requireLinux("posix_spawn through Knot");
        String path = resolve(spec.command().get(0));
        if (spec.keepNumbers()) {
            List<String> env = new ArrayList<>();
            spec.environment().forEach((k, v) -> env.add(k + "=" + v));
            int[] keep = spec.fds().stream().mapToInt(Integer::intValue).toArray();
            return Processes.spawnKeepingNumbers(path, spec.command(), env, spec.stdio(), keep, spec.directory());
        }
        int n = spec.fds().size();
        List<Integer> temps = new ArrayList<>();
        try {
            // Move every handed descriptor above the target range first, so that placing one at 3+i can never
            // overwrite another that has not been placed yet. The temporaries are close-on-exec here and closed
            // in the child by closefrom.
            for (int fd : spec.fds()) temps.add(Fds.dupAtLeast(fd, 3 + n));
            List<String> env = new ArrayList<>();
            spec.environment().forEach((k, v) -> env.add(k + "=" + v));
            int[] moves = temps.stream().mapToInt(Integer::intValue).toArray();
            return Processes.spawn(path, spec.command(), env, spec.stdio(), moves, spec.directory());
        } finally {
            for (int t : temps) Fds.closeQuietly(t);
        }
    }

    private static String resolve(String program) throws ErrnoException {
        if (program.contains("/")) return program;
        String pathVar = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : pathVar.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) return p.toString();
        }
        throw new ErrnoException("posix_spawn(" + program + "): not found in PATH", Errnos.ENOENT);
    }

    /**
     * Reaps the child {@code pid} (waitpid on that pid only: never -1, which would steal the exit status of
     * processes other code in this JVM started).
     *
     * @param pid the child's pid, as {@link #spawn(Spec)} returned it
     * @param block wait for it to exit
     * @return its wait(2) status, or -1 if it has not exited (only without {@code block})
     * @throws ErrnoException ECHILD if it is not a child of this process or was already reaped
     */
    public static int reap(int pid, boolean block) throws ErrnoException {
        return Processes.waitpid(pid, block);
    }

    /**
     * Makes the kernel kill this process (SIGKILL) when its parent dies, whatever this process is doing then: a
     * worker whose loop is stuck cannot notice its master's exit by itself. Call it first thing in a spawned child:
     * a JVM has no pre-exec hook, so the setting is made after exec, and the parent may have died before it, which
     * is why the parent pid is checked right after ({@code PR_SET_PDEATHSIG} never fires for a parent already
     * gone). Linux delivers the signal when the parent <em>thread</em> that spawned this process exits, so spawn
     * from a thread that lives as long as the parent (the master's loop thread). Linux only, like the rest of the
     * fork path (FreeBSD's equivalent, {@code procctl(PROC_PDEATHSIG_CTL)}, is not bound yet; macOS has none).
     *
     * @param expectedParentPid the pid of the parent that spawned this process
     * @return false if the parent is already gone (this process has been reparented): the caller should exit
     * @throws ErrnoException if prctl fails
     */
    public static boolean dieWithParent(int expectedParentPid) throws ErrnoException {
        Platform.requireLinux("PR_SET_PDEATHSIG");
        Processes.setParentDeathSignal(Processes.SIGKILL);
        return Processes.getppid() == expectedParentPid;
    }

    /**
     * {@return the exit code in a wait status, or -1 if the process was killed by a signal}
     *
     * @param status a wait(2) status, as {@link #reap(int, boolean)} returns it
     */
    public static int exitCode(int status) {
        return Processes.exitCode(status);
    }

    /**
     * {@return the signal that killed the process, or 0 if it exited}
     *
     * @param status a wait(2) status, as {@link #reap(int, boolean)} returns it
     */
    public static int termSignal(int status) {
        return Processes.termSignal(status);
    }
}
