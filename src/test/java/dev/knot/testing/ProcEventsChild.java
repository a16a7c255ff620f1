// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.NOTE_EXEC;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;
import static dev.knot.kqueue.Kevent.NOTE_FORK;
import static dev.knot.kqueue.Kevent.NOTE_TRACK;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;

/**
 * A child JVM for ProcTrackTest, meant to run without CAP_NET_ADMIN (dropped to another uid): it says whether Knot
 * thinks it can track forks and execs, registers NOTE_FORK|NOTE_EXEC|NOTE_TRACK|NOTE_EXIT on a shell that forks and
 * execs, and prints every event until the exit ({@code event=ident:fflags:data}), then {@code done=1}. Only the JDK
 * and Knot on its class path: no JUnit.
 */
public final class ProcEventsChild {
    public static void main(String[] args) throws Exception {
        for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (l.startsWith("Uid:") || l.startsWith("CapEff:")) System.out.println(l.substring(0, l.indexOf(':')) + "=" + l.substring(l.indexOf(':') + 1).trim());
        }
        System.out.println("tracks=" + Kqueue.tracksForkAndExec());
        int pid = Posix.spawn("/bin/sh", "-c", "sleep 0.3; /bin/true; exec /bin/sh -c 'exit 2'");
        try (Kqueue kq = Kqueue.open(); KeventArray ch = KeventArray.allocate(1); KeventArray ev = KeventArray.allocate(16)) {
            ch.set(0, pid, EVFILT_PROC, EV_ADD, NOTE_EXIT | NOTE_FORK | NOTE_EXEC | NOTE_TRACK, 0, 5);
            kq.kevent(ch, 1, null, 0, 0);
            long deadline = System.nanoTime() + 10_000_000_000L;
            boolean exited = false;
            while (!exited && System.nanoTime() < deadline) {
                int n = kq.kevent(null, 0, ev, 16, 1_000_000_000L);
                for (int i = 0; i < n; i++) {
                    System.out.println("event=" + ev.ident(i) + ":0x" + Integer.toHexString(ev.fflags(i)) + ":" + ev.data(i));
                    if (ev.ident(i) == pid && (ev.fflags(i) & NOTE_EXIT) != 0) exited = true;
                }
            }
        }
        Posix.waitpid(pid);
        System.out.println("done=1");
    }
}
