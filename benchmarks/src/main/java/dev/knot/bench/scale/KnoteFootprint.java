// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.scale;

import dev.knot.kqueue.Kevent;
import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.net.StreamSocket;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes per registered knote in Knot's kqueue (issue 14): live Java heap (after a full GC) and RSS of the process,
 * before and after registering N knotes, divided by N. Two kinds: EVFILT_USER knotes (ident 1..N, no descriptor;
 * pure emulation state) and EVFILT_READ knotes on one end of N socketpairs (the descriptor kind a server holds per
 * connection; the sockets are made before the first measurement, so their own cost is not counted, but the kernel's
 * epoll registration is not in RSS either). One JSON line per kind.
 *
 * <p>Usage: {@code KnoteFootprint USER_N READ_N}; READ_N needs 2 * READ_N descriptors.
 */
public final class KnoteFootprint {
    private KnoteFootprint() {}

    public static void main(String[] args) throws Exception {
        int userN = Integer.parseInt(args[0]), readN = Integer.parseInt(args[1]);
        System.out.println(measure("EVFILT_USER", userN, null));
        List<StreamSocket> ends = new ArrayList<>();
        int[] fds = new int[readN];
        for (int i = 0; i < readN; i++) {
            StreamSocket[] p = StreamSocket.pair();
            ends.add(p[0]);
            ends.add(p[1]);
            fds[i] = p[0].fd();
        }
        System.out.println(measure("EVFILT_READ", readN, fds));
        for (StreamSocket s : ends) s.close();
    }

    private static String measure(String kind, int n, int[] fds) throws Exception {
        try (Kqueue kq = Kqueue.open(); KeventArray changes = KeventArray.allocate(1024); KeventArray events = KeventArray.allocate(1024)) {
            kq.kevent(changes, 0, events, 0, 0);                 // whatever the first call sets up, before measuring
            long heap0 = liveHeap(), rss0 = rss();
            for (int done = 0; done < n; ) {
                int batch = Math.min(1024, n - done);
                for (int i = 0; i < batch; i++) {
                    int k = done + i;
                    if (fds == null) changes.set(i, k + 1, Kevent.EVFILT_USER, Kevent.EV_ADD | Kevent.EV_CLEAR, 0, 0, k);
                    else changes.set(i, fds[k], Kevent.EVFILT_READ, Kevent.EV_ADD, 0, 0, k);
                }
                kq.kevent(changes, batch, events, 0, 0);
                done += batch;
            }
            long heap1 = liveHeap(), rss1 = rss();
            return String.format("{\"kind\":\"%s\",\"knotes\":%d,\"heap_bytes_per_knote\":%.1f,\"rss_bytes_per_knote\":%.1f}",
                    kind, n, (heap1 - heap0) / (double) n, (rss1 - rss0) / (double) n);
        }
    }

    private static long liveHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long rss() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        return -1;
    }
}
