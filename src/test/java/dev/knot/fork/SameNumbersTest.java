// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.fcntl_h;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.system.Fds;
import dev.knot.testing.Posix;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same-numbers spawn mode, with a real child JVM: the handed descriptors keep their numbers (what a kernel-copied
 * kqueue needs), everything else of the parent stays out.
 *
 * <p>How "exactly the handed numbers plus 0-2" is checked, given that the child JVM opens descriptors of its own
 * before main runs (the jimage, the probe's own listing of /proc/self/fd; some without FD_CLOEXEC, so that flag
 * tells nothing): a baseline child, spawned with nothing handed, shows what the JVM opens by itself; the
 * same-numbers child must have exactly those (by what they name) plus 0, 1, 2 and the handed numbers, each handed
 * one naming the same file as in the parent (st_dev, st_ino); and no descriptor of the child may name a file that
 * the parent had open without FD_CLOEXEC and did not hand (the parent's sentinel), unless every JVM opens that file
 * by itself (the jimage, which the baseline has too, and only once).
 */
@Timeout(120)
class SameNumbersTest {
    private static Map<Integer, String> parentIdentities() throws Exception {
        Map<Integer, String> ids = new HashMap<>();
        for (int fd : Fds.openDescriptors()) {
            Path p = Path.of("/proc/self/fd/" + fd);
            try {
                ids.put(fd, Files.getAttribute(p, "unix:dev") + ":" + Files.getAttribute(p, "unix:ino") + ":" + Fds.isCloseOnExec(fd));
            } catch (Exception gone) {
                // closed meanwhile (another thread's)
            }
        }
        return ids;
    }

    /** The child's descriptors as dev:ino, by number. */
    private static Map<Integer, String> identities(Map<String, String> m) {
        Map<Integer, String> ids = new HashMap<>();
        for (var e : m.entrySet()) {
            if (!e.getKey().startsWith("fd.")) continue;
            String[] f = e.getValue().split(":", 4);                 // dev:ino:cloexec:link
            ids.put(Integer.parseInt(e.getKey().substring(3)), f[0] + ":" + f[1]);
        }
        return ids;
    }

    /** What the given descriptors name, sorted, with the child's own pid taken out of /proc paths. */
    private static List<String> targets(Map<String, String> m, Set<Integer> fds) {
        List<String> t = new java.util.ArrayList<>();
        for (int fd : fds) t.add(m.get("fd." + fd).split(":", 4)[3].replaceAll("^/proc/[0-9]+/", "/proc/PID/"));
        t.sort(null);
        return t;
    }

    @Test
    void handedDescriptorsKeepTheirNumbersAndNothingElseOfTheParentComesThrough(@TempDir Path dir) throws Exception {
        Path sentinelFile = Files.writeString(dir.resolve("sentinel"), "x");
        Path dataFile = Files.writeString(dir.resolve("data"), "y");
        int sentinel = Posix.open(sentinelFile.toString(), fcntl_h.O_RDONLY);
        Fds.setCloseOnExec(sentinel, false);            // only the spawn's closing keeps it out of the child
        int file = Posix.open(dataFile.toString(), fcntl_h.O_RDONLY);
        int[] pipe = Posix.pipe();
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0)); Selector sel = Selector.open()) {
            sel.register(l, Selector.OP_READ, null);
            sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
            sel.selectNow();
            List<Integer> handed = List.of(l.fd(), pipe[0], file);
            assertNotEquals(List.of(3, 4, 5), handed, "the test needs numbers a renumbering spawn would change");
            try (Handoff h = new Handoff(ForkPolicy.COPY).keepNumbers(true).fd("http", l.fd()).fd("pipe", pipe[0]).fd("file", file).prepare(sel)) {
                assertTrue(h.keepsNumbers());
                Map<Integer, String> parent = parentIdentities();
                Map<String, String> m = CopyChild.run("fds", h);
                String out = m.get("_output");
                assertEquals(Integer.toString(l.fd()), m.get("handed.http"), out);
                assertEquals(Integer.toString(pipe[0]), m.get("handed.pipe"), out);
                assertEquals(Integer.toString(file), m.get("handed.file"), out);
                Map<Integer, String> child = identities(m);
                Set<Integer> extra = new TreeSet<>(child.keySet());
                extra.removeAll(List.of(0, 1, 2));
                extra.removeAll(handed);
                List<String> own = targets(m, extra);
                Map<String, String> base;
                try (Handoff nothing = new Handoff(ForkPolicy.DROP).prepare(sel)) {
                    base = CopyChild.run("fds", nothing);
                }
                Set<Integer> baseExtra = new TreeSet<>(identities(base).keySet());
                baseExtra.removeAll(List.of(0, 1, 2));
                assertEquals(targets(base, baseExtra), own, "besides 0-2 and the handed numbers, the child has only what a JVM opens by itself: "
                        + out + "\nbaseline:\n" + base.get("_output"));
                Set<Integer> inherited = new TreeSet<>(child.keySet());
                inherited.removeAll(extra);
                Set<Integer> expected = new TreeSet<>(List.of(0, 1, 2));
                expected.addAll(handed);
                assertEquals(expected, inherited, out);
                for (int fd : handed) {
                    String p = parent.get(fd);
                    assertEquals(p.substring(0, p.lastIndexOf(':')), child.get(fd), "descriptor " + fd + " names another file in the child: " + out);
                }
                for (var e : parent.entrySet()) {
                    int fd = e.getKey();
                    if (fd <= 2 || handed.contains(fd) || e.getValue().endsWith(":true")) continue;
                    String id = e.getValue().substring(0, e.getValue().lastIndexOf(':'));
                    // A file every JVM opens by itself (its jimage) is the baseline's too; the count check above
                    // already shows the child has no second copy of it.
                    if (identities(base).containsValue(id)) continue;
                    assertFalse(child.containsValue(id), "the parent's descriptor " + fd + " (no FD_CLOEXEC, not handed) reached the child: " + out);
                }
                assertFalse(out.contains(sentinelFile.toString()), out);
                // The replayed descriptor knote names the listener's own number.
                assertEquals("FD:" + l.fd() + ":1,USER:7", m.get("keys"), out);
                System.out.println("same numbers: handed " + handed + ", came through exec " + inherited
                        + ", the child JVM's own " + own);
            }
        } finally {
            Fds.close(sentinel);
            Fds.close(file);
            Fds.close(pipe[0]);
            Fds.close(pipe[1]);
        }
    }

    @Test
    void stdioNumbersCannotBeKept() {
        assertThrows(IllegalArgumentException.class,
                () -> new Spawner.Spec(List.of("/bin/true"), Map.of(), List.of(2), null, null, true));
        assertThrows(IllegalArgumentException.class,
                () -> new Spawner.Spec(List.of("/bin/true"), Map.of(), List.of(7, 7), null, null, true));
    }
}
