// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_EOF;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.NOTE_CHILD;
import static dev.knot.kqueue.Kevent.NOTE_EXEC;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;
import static dev.knot.kqueue.Kevent.NOTE_FORK;
import static dev.knot.kqueue.Kevent.NOTE_TRACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.testing.ChildJvm;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * EVFILT_PROC's NOTE_FORK, NOTE_EXEC and NOTE_TRACK through the kernel's process-events connector, with real shells
 * that fork and exec: as root (CAP_NET_ADMIN, as in CI) they arrive with FreeBSD's flags and NOTE_TRACK follows
 * a grandchild; in a child JVM dropped to another uid without capabilities, and in one inside new user and pid
 * namespaces (where the connector cannot be used), the same registration is accepted and reports what
 * {@link Kqueue#tracksForkAndExec()} says (NOTE_EXIT only where it is false), without a hang or a crash.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@KqueueTest
class ProcTrackTest {
    static final long U = 0x7AC4L;
    Kq kq;
    final List<Integer> children = new ArrayList<>();


    @AfterEach
    void close() throws Exception {
        for (int pid : children) Posix.waitpid(pid);
    }

    static boolean root() throws Exception {
        return java.nio.file.Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0"));
    }

    /** Events until the exit of {@code pid} (at most 10 s). */
    List<Kq.Ev> untilExit(int pid) throws Exception {
        List<Kq.Ev> all = new ArrayList<>();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Kq.Ev e : kq.waitFor(200)) {
                all.add(e);
                if (e.ident() == pid && (e.fflags() & NOTE_EXIT) != 0) return all;
            }
        }
        throw new AssertionError("no exit of " + pid + ": " + all);
    }

    @Test
    void asRootForkAndExecOfAShellArriveWithFreeBsdsFlags() throws Exception {
        assertEquals(root(), Kqueue.tracksForkAndExec(), "the connector is open to root (CAP_NET_ADMIN) only");
        org.junit.jupiter.api.Assumptions.assumeTrue(Kqueue.tracksForkAndExec(), "needs CAP_NET_ADMIN (CI runs as root)");
        int pid = Posix.spawn("/bin/sh", "-c", "sleep 0.3; /bin/true; exec /bin/sh -c 'exit 2'");
        children.add(pid);
        kq.add(pid, EVFILT_PROC, EV_ADD, NOTE_FORK | NOTE_EXEC | NOTE_EXIT, 0, U);
        List<Kq.Ev> all = untilExit(pid);
        int seen = 0;
        for (Kq.Ev e : all) {
            assertEquals(pid, e.ident(), all.toString());
            assertEquals(U, e.udata());
            if ((e.fflags() & NOTE_EXIT) == 0) assertEquals(EV_CLEAR, e.flags(), "FreeBSD's flags for a fork or exec event: " + all);
            seen |= e.fflags();
        }
        assertEquals(NOTE_FORK | NOTE_EXEC | NOTE_EXIT, seen, all.toString());
        Kq.Ev exit = all.get(all.size() - 1);
        assertEquals(EV_CLEAR | EV_ONESHOT | EV_EOF, exit.flags(), all.toString());
        assertEquals(2 << 8, exit.data(), all.toString());
    }

    @Test
    void asRootNoteTrackFollowsAGrandchild() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Kqueue.tracksForkAndExec(), "needs CAP_NET_ADMIN (CI runs as root)");
        // The shell forks a child shell, which forks a grandchild (sleep) and then execs /bin/true.
        int pid = Posix.spawn("/bin/sh", "-c", "sleep 0.3; /bin/sh -c '/bin/sleep 0.2; exec /bin/true'; exit 0");
        children.add(pid);
        kq.add(pid, EVFILT_PROC, EV_ADD, NOTE_TRACK | NOTE_FORK | NOTE_EXEC | NOTE_EXIT, 0, U);
        List<Kq.Ev> all = untilExit(pid);
        List<Long> kids = new ArrayList<>();
        for (Kq.Ev e : all) {
            assertEquals(U, e.udata(), "a tracked knote keeps the tracking knote's udata: " + all);
            if ((e.fflags() & NOTE_CHILD) != 0) {
                assertFalse((e.fflags() & NOTE_EXIT) != 0, "NOTE_CHILD and NOTE_EXIT in one event: " + all);
                assertEquals(EV_CLEAR, e.flags(), all.toString());
                if (e.data() == pid) kids.add(e.ident());
            }
        }
        assertFalse(kids.isEmpty(), "NOTE_CHILD for a child, with the shell's pid in data: " + all);
        assertTrue(all.stream().anyMatch(e -> (e.fflags() & NOTE_CHILD) != 0 && kids.contains(e.data())),
                "NOTE_CHILD for a grandchild, with its parent (a tracked child) in data: " + all);
        assertTrue(all.stream().anyMatch(e -> e.ident() == pid && (e.fflags() & NOTE_FORK) != 0), all.toString());
        System.out.println("NOTE_TRACK: " + all.size() + " events, children " + kids);
    }

    /** Runs ProcEventsChild behind {@code wrapper} (setpriv, unshare) with only Knot's classes on its class path. */
    private static String child(List<String> wrapper) throws Exception {
        StringBuilder own = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (e.endsWith("/classes") || e.endsWith("/test-classes")) own.append(own.isEmpty() ? "" : ":").append(e);
        }
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(ChildJvm.command(own.toString(), List.of("--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1"),
                "dev.knot.testing.ProcEventsChild"));
        ChildJvm.Result r = ChildJvm.run(cmd, 30);
        String out = r.stdout() + r.stderr();
        assertEquals(0, r.exit(), out);
        assertTrue(out.contains("done=1"), "the child saw its shell exit and finished: " + out);
        return out;
    }

    private static List<String> events(String out) {
        return out.lines().filter(l -> l.startsWith("event=")).toList();
    }

    @Test
    void aChildWithoutCapabilitiesGetsWhatKnotSaysItGets() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(root(), "drops to uid 65534 with setpriv, which needs root");
        String out = child(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all"));
        assertTrue(out.contains("Uid=65534"), out);
        assertTrue(out.contains("CapEff=0000000000000000"), out);
        // Kernels before Linux 6.6 keep the connector to CAP_NET_ADMIN; later ones (this machine's) let anyone listen.
        // Either way the child must get exactly what Kqueue.tracksForkAndExec() promised it.
        boolean tracks = out.contains("tracks=true");
        List<String> ev = events(out);
        boolean forkOrExec = ev.stream().anyMatch(l -> {
            int f = Integer.parseUnsignedInt(l.split(":")[1].substring(2), 16);
            return (f & (NOTE_FORK | NOTE_EXEC | NOTE_CHILD)) != 0;
        });
        assertEquals(tracks, forkOrExec, out);
        assertTrue(ev.get(ev.size() - 1).endsWith(":" + (2 << 8)), "the exit status comes either way: " + out);
        System.out.println("uid 65534 without capabilities: tracksForkAndExec=" + tracks + ", " + ev.size() + " events");
    }

    @Test
    void inAContainersNamespacesTheSameRegistrationReportsTheExitOnly() throws Exception {
        // A new user and pid namespace: the connector's pids would be the initial namespace's, so Knot leaves it.
        String out = child(List.of("/usr/bin/unshare", "--user", "--map-root-user", "--pid", "--fork"));
        assertTrue(out.contains("tracks=false"), out);
        List<String> ev = events(out);
        assertEquals(1, ev.size(), "only the exit: " + out);
        assertTrue(ev.get(0).endsWith(":0x" + Integer.toHexString(NOTE_EXIT) + ":" + (2 << 8)), out);
    }
}
