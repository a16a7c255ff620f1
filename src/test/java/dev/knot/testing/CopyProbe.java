// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ENABLE;

import dev.knot.fork.Inheritance;
import dev.knot.fork.Restoration;
import dev.knot.kqueue.Kevent;
import dev.knot.kqueue.KeventArray;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A child for the copy-on-fork tests. Prints {@code key=value} lines:
 * <ul>
 * <li>{@code state}: restores the handoff; prints the restored keys ({@code keys=}), the events of its first kevent
 *     ({@code first=}), then enables USER knotes 8 and 9 if present and prints what that brings
 *     ({@code enabled=}), then collects timer 1 until it has fired three times in all, printing each as
 *     {@code timer.N=nanoTime:data};</li>
 * <li>{@code inherit}: adopts the kqueue handed as "kq" (FreeBSD's CPONFORK copy) and prints user event 7 as its
 *     first kevent returns it;</li>
 * <li>{@code fds}: first thing, every descriptor as {@code fd.N=dev:ino:cloexec:link}; then restores the handoff
 *     and prints the handed descriptors and the keys.</li>
 * </ul>
 */
public final class CopyProbe {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("fds")) descriptors();
        Inheritance in = Inheritance.fromEnvironment();
        if (args[0].equals("inherit")) {
            // The parent's CPONFORK kqueue, handed under its own number: the kernel's copy, pending event included.
            try (dev.knot.kqueue.Kqueue kq = dev.knot.kqueue.Kqueue.adopt(in.fd("kq")); KeventArray ev = KeventArray.allocate(4)) {
                int n = kq.kevent(null, 0, ev, 4, 0);
                List<String> got = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (ev.ident(i) == 7) got.add(Kevent.filterName(ev.filter(i)).replace("EVFILT_", "") + ":7:0x" + Integer.toHexString(ev.fflags(i)) + ":" + ev.udata(i));
                }
                System.out.println("inherited=" + String.join(",", got));
            }
            return;
        }
        in.fds().forEach((name, fd) -> System.out.println("handed." + name + "=" + fd));
        try (Selector sel = Selector.open()) {
            Restoration r = in.restore(sel);
            System.out.println("method=" + r.method());
            System.out.println("registered=" + r.registered());
            List<String> keys = new ArrayList<>();
            for (Key k : r.keys()) {
                keys.add(k.isKnote() ? Kevent.filterName(k.filter()).replace("EVFILT_", "") + ":" + k.ident() : "FD:" + k.fd() + ":" + k.interest());
            }
            keys.sort(null);
            System.out.println("keys=" + String.join(",", keys));
            if (args[0].equals("state")) state(sel, r);
            System.out.println("done=1");
        }
    }

    private static void state(Selector sel, Restoration r) throws Exception {
        List<String> timers = new ArrayList<>();
        sel.selectNow();
        System.out.println("first=" + events(sel, timers));
        try (KeventArray ch = KeventArray.allocate(2)) {
            int n = 0;
            for (Key k : r.keys()) {
                if (k.isKnote() && k.filter() == EVFILT_USER && (k.ident() == 8 || k.ident() == 9)) {
                    ch.set(n++, k.ident(), EVFILT_USER, EV_ENABLE, 0, 0, k.token());
                }
            }
            if (n > 0) {
                sel.kqueue().kevent(ch, n, null, 0, 0);
                sel.selectNow();
                System.out.println("enabled=" + events(sel, timers));
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (timers.size() < 3 && System.nanoTime() < deadline && r.keys().stream().anyMatch(k -> k.isKnote() && k.filter() == EVFILT_TIMER && k.ident() == 1)) {
            sel.select(1_000_000_000L);
            events(sel, timers);
        }
        for (int i = 0; i < timers.size(); i++) System.out.println("timer." + i + "=" + timers.get(i));
    }

    /** The ready keys as FILTER:ident:fflags:data, timer 1's also in {@code timers} with the time they came. */
    private static String events(Selector sel, List<String> timers) {
        long now = System.nanoTime();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sel.readyCount(); i++) {
            Key k = sel.readyKey(i);
            if (k.isKnote()) {
                out.add(Kevent.filterName(k.filter()).replace("EVFILT_", "") + ":" + k.ident() + ":0x" + Integer.toHexString(k.eventFflags()) + ":" + k.eventData());
                if (k.filter() == EVFILT_TIMER && k.ident() == 1) timers.add(now + ":" + k.eventData());
            } else {
                out.add("FD:" + k.fd() + ":" + k.readyOps());
            }
            k.clearReady();
        }
        out.sort(null);
        return String.join(",", out);
    }

    private static void descriptors() throws Exception {
        TreeMap<Integer, String> fds = new TreeMap<>();
        try (var ds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : ds) {
                int fd = Integer.parseInt(p.getFileName().toString());
                try {
                    String link = Files.readSymbolicLink(p).toString();
                    Object dev = Files.getAttribute(p, "unix:dev"), ino = Files.getAttribute(p, "unix:ino");
                    fds.put(fd, dev + ":" + ino + ":" + cloexec(fd) + ":" + link);
                } catch (Exception gone) {
                    // the listing's own descriptor, closed by now
                }
            }
        }
        fds.forEach((fd, d) -> System.out.println("fd." + fd + "=" + d));
    }

    /** Whether the descriptor is close-on-exec, from the flags line (octal) of /proc/self/fdinfo. */
    static boolean cloexec(int fd) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (l.startsWith("flags:")) return (Long.parseLong(l.substring(6).trim(), 8) & 02000000) != 0;
        }
        return false;
    }
}
