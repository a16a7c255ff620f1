// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.system.Fds;
import dev.knot.testing.ChildJvm;
import dev.knot.testing.Posix;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fork path with real children: posix_spawn, handed descriptors, snapshots replayed (or refused). */
@Timeout(120)
class ForkPathTest {
    /** A spawned child whose output goes to a file. */
    record Child(int pid, Path out) {
        Map<String, String> waitForLine(String key, long millis) throws Exception {
            long deadline = System.currentTimeMillis() + millis;
            while (System.currentTimeMillis() < deadline) {
                Map<String, String> m = parse();
                if (m.containsKey(key)) return m;
                Thread.sleep(20);
            }
            throw new AssertionError("child never printed " + key + ": " + Files.readString(out));
        }

        Map<String, String> parse() throws IOException {
            Map<String, String> m = new HashMap<>();
            for (String l : Files.readAllLines(out)) {
                int eq = l.indexOf('=');
                if (eq > 0) m.put(l.substring(0, eq), l.substring(eq + 1));
            }
            return m;
        }

        Map<String, String> finish() throws Exception {
            int status = Spawner.reap(pid, true);
            assertEquals(0, Spawner.exitCode(status), "child exit status " + status + ": " + Files.readString(out));
            return parse();
        }
    }

    static Child spawn(List<String> command, Map<String, String> extraEnv, List<Integer> fds) throws Exception {
        Path out = Files.createTempFile("knot-fork", ".out");
        out.toFile().deleteOnExit();                   // callers read it after the child ends, some more than once
        int fd = Posix.open(out.toString(), fcntl_h.O_WRONLY | fcntl_h.O_TRUNC);
        try {
            Map<String, String> env = new HashMap<>(extraEnv);
            env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
            int pid = Spawner.spawn(new Spawner.Spec(command, env, fds, new int[] {0, fd, fd}, null));
            return new Child(pid, out);
        } finally {
            Fds.close(fd);
        }
    }

    static List<String> probe(String mode) {
        return ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-XX:TieredStopAtLevel=1"),
                "dev.knot.testing.ForkProbe", mode);
    }

    /** Parent state: a listener, a 50 ms timer and a user event, all on one selector. */
    static Selector parentSelector(ListenSocket l) throws Exception {
        Selector sel = Selector.open();
        sel.register(l, Selector.OP_READ, null);
        sel.watch(1, EVFILT_TIMER, 0, 0, 50, null);
        sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
        sel.selectNow();
        return sel;
    }

    @Test
    void copyChildSeesTheParentsTimerUserEventAndListenerAndNoOtherDescriptorOfTheParent() throws Exception {
        Path sentinel = Files.createTempFile("knot-sentinel", ".txt");
        // Opened without O_CLOEXEC: only closefrom in the spawn keeps it out of the child.
        int leaky = Posix.open(sentinel.toString(), fcntl_h.O_RDONLY) ;
        Fds.setCloseOnExec(leaky, false);
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0)); Selector sel = parentSelector(l);
             Handoff h = new Handoff(ForkPolicy.COPY).fd("http", l.fd()).prepare(sel)) {
            assertEquals(3, h.entries());
            Child c = spawn(probe("restore"), h.environment(), h.fds());
            Map<String, String> ready = c.waitForLine("ready", 30_000);
            try (Socket s = new Socket("127.0.0.1", l.port())) {
                Map<String, String> m = c.finish();
                assertEquals("COPY", m.get("policy"));
                assertEquals("REREGISTER", m.get("method"));
                assertTrue(m.get("reason").startsWith("RE-REGISTER: Linux has no kqueue to copy"), m.get("reason"));
                assertEquals("3", m.get("registered"));
                assertEquals("0", m.get("skipped"));
                assertEquals("present", m.get("user7"));
                assertEquals("true", m.get("timer"));
                assertEquals("true", m.get("listener"));
                assertEquals("3", m.get("handed.http"));
                // fd 3 in the child is the parent's listening socket (same socket inode).
                assertEquals(Files.readSymbolicLink(Path.of("/proc/self/fd/" + l.fd())).toString(), m.get("fd.3"));
                for (var e : m.entrySet()) {
                    assertFalse(e.getValue().contains(sentinel.getFileName().toString()), "the parent's " + e.getValue() + " leaked into the child");
                }
                assertFalse(m.containsKey("fd.4") && m.get("fd.4").startsWith("socket:"), m.toString());
                assertNotNull(ready);
            }
        } finally {
            Fds.close(leaky);
            Files.delete(sentinel);
        }
    }

    @Test
    void dropChildSeesNoRegistrations() throws Exception {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0)); Selector sel = parentSelector(l);
             Handoff h = new Handoff(ForkPolicy.DROP).fd("http", l.fd()).prepare(sel)) {
            Child c = spawn(probe("restore"), h.environment(), h.fds());
            c.waitForLine("ready", 30_000);
            try (Socket s = new Socket("127.0.0.1", l.port())) {
                Map<String, String> m = c.finish();
                assertEquals("NONE", m.get("method"));
                assertEquals("0", m.get("registered"));
                assertEquals("absent", m.get("user7"));
                assertEquals("false", m.get("timer"));
                assertEquals("false", m.get("listener"));
                assertEquals("3", m.get("handed.http"), "DROP still hands the descriptors");
            }
        }
    }

    @Test
    void tenThousandRegistrationsAreReplayedInOneBatchThroughAMemfd() throws Exception {
        try (Selector sel = Selector.open()) {
            for (int i = 0; i < 10_000; i++) sel.watch(100_000 + i, EVFILT_USER, EV_CLEAR, 0, 0, null);
            sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
            sel.selectNow();
            try (Handoff h = new Handoff(ForkPolicy.COPY).prepare(sel)) {
                assertTrue(h.environment().containsKey(Handoff.ENV_SNAPSHOT_FD), "a 400 KB snapshot goes through a memfd");
                Child c = spawn(probe("restore"), h.environment(), h.fds());
                Map<String, String> m = c.finish();
                assertEquals("10001", m.get("registered"), m.toString());
                assertEquals("present", m.get("user7"));
                long nanos = Long.parseLong(m.get("keventNanos"));
                System.out.println("replayed 10,001 registrations in one kevent batch: " + nanos / 1000 + " us");
                assertTrue(nanos < 2_000_000_000L, "replay took " + nanos + " ns");
            }
        }
    }

    /** Children started outside the Spawner, with a hand-made (broken) handoff environment. */
    private static Map<String, String> runWithEnv(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(probe("restore"));
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        Map<String, String> m = new HashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    @Test
    void truncatedCorruptAndForeignSnapshotsLeaveTheChildsKqueueEmpty() throws Exception {
        try (Selector sel = Selector.open()) {
            sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
            sel.selectNow();
            try (Handoff h = new Handoff(ForkPolicy.COPY).prepare(sel)) {
                Map<String, String> good = new HashMap<>(h.environment());
                byte[] snap = Base64.getDecoder().decode(good.get(Handoff.ENV_SNAPSHOT));

                Map<String, String> truncated = new HashMap<>(good);
                truncated.put(Handoff.ENV_SNAPSHOT, Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(snap, snap.length - 10)));
                Map<String, String> m = runWithEnv(truncated);
                assertTrue(m.get("error").contains("truncated"), m.toString());
                assertEquals("absent", m.get("user7"));

                byte[] corrupt = snap.clone();
                corrupt[corrupt.length / 2] ^= 0x40;
                Map<String, String> bad = new HashMap<>(good);
                bad.put(Handoff.ENV_SNAPSHOT, Base64.getEncoder().encodeToString(corrupt));
                m = runWithEnv(bad);
                assertTrue(m.get("error").contains("checksum"), m.toString());
                assertEquals("absent", m.get("user7"));

                Map<String, String> foreign = new HashMap<>(good);
                foreign.put(Handoff.ENV_TOKEN, "00".repeat(16));
                m = runWithEnv(foreign);
                assertTrue(m.get("error").contains("foreign snapshot"), m.toString());
                assertEquals("absent", m.get("user7"));

                Map<String, String> otherParent = new HashMap<>(good);
                otherParent.put(Handoff.ENV_PARENT_PID, "1");
                m = runWithEnv(otherParent);
                assertTrue(m.get("error").contains("foreign handoff"), m.toString());
            }
        }
    }

    @Test
    void theChildStartsWithAnEmptySignalMaskAndDefaultDispositions() throws Exception {
        sun.misc.Signal hup = new sun.misc.Signal("HUP");
        sun.misc.SignalHandler old = sun.misc.Signal.handle(hup, sun.misc.SignalHandler.SIG_IGN);
        try {
            Child c = spawn(List.of("/bin/cat", "/proc/self/status"), Map.of(), List.of());
            c.finish();
            String status = Files.readString(c.out());
            long ignored = Long.parseLong(line(status, "SigIgn"), 16);
            long blocked = Long.parseLong(line(status, "SigBlk"), 16);
            assertEquals(0, ignored & 1, "SIGHUP is still ignored in the child: " + status);
            // Standard signals only: glibc's posix_spawn leaves its own internal signals 32 and 33 ignored.
            assertEquals(0, ignored & 0x7fffffffL, "the child ignores signals: " + line(status, "SigIgn"));
            assertEquals(0, blocked, "the child blocks signals: " + line(status, "SigBlk"));
        } finally {
            sun.misc.Signal.handle(hup, old);
        }
    }

    private static String line(String status, String key) {
        for (String l : status.split("\n")) if (l.startsWith(key + ":")) return l.substring(key.length() + 1).trim();
        throw new AssertionError("no " + key);
    }

    @Test
    void systemdListenFdsAreAdoptedOnlyWhenMeantForThisProcess() throws Exception {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0))) {
            List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web exec \"$@\"", "sh"));
            cmd.addAll(probe("listenfds"));
            Map<String, String> m = spawn(cmd, Map.of(), List.of(l.fd())).finish();
            assertEquals(Integer.toString(l.port()), m.get("listener.web"), m.toString());
            List<String> wrongPid = new ArrayList<>(List.of("/bin/sh", "-c", "LISTEN_PID=1 LISTEN_FDS=1 exec \"$@\"", "sh"));
            wrongPid.addAll(probe("listenfds"));
            Map<String, String> none = spawn(wrongPid, Map.of(), List.of(l.fd())).finish();
            assertFalse(none.keySet().stream().anyMatch(k -> k.startsWith("listener.")), none.toString());
        }
    }
}
