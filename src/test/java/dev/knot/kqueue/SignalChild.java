// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.bindings.linux.signal_h;
import dev.knot.testing.Kq;
import dev.knot.testing.Posix;

/**
 * Child JVM for {@link SignalFilterTest}: watches SIGTERM, sends it to itself (the event replaces the JVM's shutdown),
 * then deletes the knote (argument "delete") or just closes the kqueue (argument "close") and sends it again: now the
 * JVM's own handler must run and exit with 143.
 */
public final class SignalChild {
    private SignalChild() {}

    public static void main(String[] args) throws Exception {
        try (Kq kq = new Kq()) {
            kq.add(signal_h.SIGTERM, Kevent.EVFILT_SIGNAL, Kevent.EV_ADD);
            Posix.kill(Posix.getpid(), signal_h.SIGTERM);
            Kq.Ev e = kq.one();
            System.out.println("term-event data=" + e.data());
            Thread.sleep(200);
            System.out.println("alive after TERM");
            if (args.length > 0 && args[0].equals("delete")) kq.add(signal_h.SIGTERM, Kevent.EVFILT_SIGNAL, Kevent.EV_DELETE);
        }
        System.out.flush();
        Posix.kill(Posix.getpid(), signal_h.SIGTERM);
        Thread.sleep(3000);
        System.out.println("alive after second TERM");
        System.exit(0);
    }
}
