// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import java.util.Arrays;

/**
 * Who watches each descriptor number: the kqueues (Knot's emulation) that hold knotes or registrations keyed by it.
 * {@link Fds#close} tells exactly those, before the number goes away, as FreeBSD's {@code knote_fdclose} walks the
 * descriptor's own knote list rather than every kqueue of the process; a shutdown of the sending side is told the
 * same way.
 *
 * <p>Thread-safe. The table's lock is never held while a watcher runs, so a watcher may take its own lock (and
 * call {@link #watch}/{@link #unwatch} under it) without ordering problems.
 */
public final class FdWatchers {
    private FdWatchers() {}

    /** One party interested in a descriptor number. Callbacks must be quick and must not throw. */
    public interface Watcher {
        /** {@code fd} is about to be closed (or replaced, as by dup2) through Knot. */
        void closing(int fd);

        /** Knot shut down {@code fd}'s sending side (shutdown(SHUT_WR)). */
        void sendShutdown(int fd);
    }

    private static final Watcher[] NONE = {};
    private static Watcher[][] table = new Watcher[256][];

    /** Adds {@code w} to {@code fd}'s watchers (once; watching twice is one watch). */
    public static synchronized void watch(int fd, Watcher w) {
        if (fd < 0) return;
        if (fd >= table.length) table = Arrays.copyOf(table, Math.max(fd + 1, table.length * 2));
        Watcher[] ws = table[fd];
        if (ws == null) {
            table[fd] = new Watcher[] {w};
            return;
        }
        for (Watcher x : ws) if (x == w) return;
        Watcher[] n = Arrays.copyOf(ws, ws.length + 1);
        n[ws.length] = w;
        table[fd] = n;
    }

    /** Removes {@code w} from {@code fd}'s watchers, if it is one. */
    public static synchronized void unwatch(int fd, Watcher w) {
        if (fd < 0 || fd >= table.length) return;
        Watcher[] ws = table[fd];
        if (ws == null) return;
        int i = 0;
        while (i < ws.length && ws[i] != w) i++;
        if (i == ws.length) return;
        if (ws.length == 1) {
            table[fd] = null;
            return;
        }
        Watcher[] n = new Watcher[ws.length - 1];
        System.arraycopy(ws, 0, n, 0, i);
        System.arraycopy(ws, i + 1, n, i, ws.length - i - 1);
        table[fd] = n;
    }

    /** The watchers of {@code fd} now; the array is never modified (copy on write). */
    static synchronized Watcher[] of(int fd) {
        if (fd < 0 || fd >= table.length) return NONE;
        Watcher[] ws = table[fd];
        return ws == null ? NONE : ws;
    }

    static void closing(int fd) {
        for (Watcher w : of(fd)) w.closing(fd);
    }

    static void sendShutdown(int fd) {
        for (Watcher w : of(fd)) w.sendShutdown(fd);
    }
}
