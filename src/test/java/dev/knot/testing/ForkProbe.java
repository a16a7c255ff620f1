// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;

import dev.knot.fork.Inheritance;
import dev.knot.fork.ListenFds;
import dev.knot.fork.Restoration;
import dev.knot.kqueue.KeventArray;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeMap;

/**
 * A child process for fork-path tests. Prints {@code key=value} lines:
 * <ul>
 * <li>{@code restore}: restores the handoff into a fresh selector and reports the method, counts, the replay time,
 *     whether knote 7 (EVFILT_USER) exists, whether timer 1 fires, whether the handed listener "http" becomes
 *     readable (the test connects to it), and the descriptors it has ({@code fd.N=link});</li>
 * <li>{@code listenfds}: adopts systemd listeners and prints their ports.</li>
 * </ul>
 */
public final class ForkProbe {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "restore" -> restore();
            case "listenfds" -> {
                for (var p : ListenFds.adopt()) System.out.println("listener." + p.name() + "=" + p.socket().port());
                System.out.println("done=1");
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void restore() throws Exception {
        TreeMap<String, String> links = new TreeMap<>();
        try (var ds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : ds) {
                try {
                    links.put(p.getFileName().toString(), Files.readSymbolicLink(p).toString());
                } catch (Exception ignored) {
                    // the listing's own descriptor
                }
            }
        }
        links.forEach((fd, link) -> System.out.println("fd." + fd + "=" + link));
        Inheritance in;
        try {
            in = Inheritance.fromEnvironment();
        } catch (Exception e) {
            System.out.println("error=" + e.getMessage());
            return;
        }
        System.out.println("policy=" + in.policy());
        in.fds().forEach((name, fd) -> System.out.println("handed." + name + "=" + fd));
        try (Selector sel = Selector.open()) {
            Restoration r;
            try {
                r = in.restore(sel);
            } catch (Exception e) {
                System.out.println("error=" + e.getMessage());
                System.out.println("user7=" + exists(sel));
                return;
            }
            System.out.println("method=" + r.method());
            System.out.println("reason=" + r.reason());
            System.out.println("registered=" + r.registered());
            System.out.println("skipped=" + r.skipped());
            System.out.println("keventNanos=" + r.keventNanos());
            System.out.println("keys=" + r.keys().size());
            System.out.println("user7=" + exists(sel));
            System.out.println("ready=1");
            System.out.flush();
            boolean timer = false, listener = false;
            long deadline = System.nanoTime() + 3_000_000_000L;
            while ((!timer || (in.fd("http") >= 0 && !listener)) && System.nanoTime() < deadline) {
                sel.select(100_000_000L);
                for (int i = 0; i < sel.readyCount(); i++) {
                    Key k = sel.readyKey(i);
                    if (k.isKnote() && k.filter() == EVFILT_TIMER) timer = true;
                    if (!k.isKnote() && k.fd() == in.fd("http") && k.isReadable()) listener = true;
                    k.clearReady();
                }
                if (r.registered() == 0) break;
            }
            System.out.println("timer=" + timer);
            System.out.println("listener=" + listener);
        }
    }

    /** Whether user knote 7 exists: a receipt for a trigger says 0, a missing knote ENOENT. */
    private static String exists(Selector sel) throws Exception {
        try (KeventArray ch = KeventArray.allocate(1); KeventArray ev = KeventArray.allocate(1)) {
            ch.set(0, 7, EVFILT_USER, EV_RECEIPT, NOTE_TRIGGER, 0, 0);
            int n = sel.kqueue().kevent(ch, 1, ev, 1, 0);
            return n == 1 && (ev.flags(0) & EV_ERROR) != 0 && ev.data(0) == 0 ? "present" : "absent";
        }
    }
}
