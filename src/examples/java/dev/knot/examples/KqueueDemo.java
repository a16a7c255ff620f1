// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.NOTE_FFCOPY;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A tour of the kqueue surface: one kqueue, a 50 ms periodic timer, a user event triggered from another thread and
 * a socketpair with data on it; prints every event it gets.
 */
public final class KqueueDemo {
    private KqueueDemo() {}

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    public static void run(PrintStream out) throws Exception {
        out.println("Knot kqueue demo: backend " + Kqueue.backend());
        try (Kqueue kq = Kqueue.open();
             KeventArray changes = KeventArray.allocate(8);
             KeventArray events = KeventArray.allocate(8);
             Arena arena = Arena.ofConfined()) {
            StreamSocket[] sockets = StreamSocket.pair();
            int[] pair = {sockets[0].fd(), sockets[1].fd()};
            try {
                changes.set(0, 1, EVFILT_TIMER, EV_ADD, 0, 50, 0xA1)         // every 50 ms
                       .set(1, 7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0xB2)
                       .set(2, pair[0], EVFILT_READ, EV_ADD, 0, 0, 0xC3);
                kq.kevent(changes, 3, null, 0, 0);
                out.println("registered: timer 1 (50 ms), user event 7, socketpair fd " + pair[0]);

                write(sockets[1], "hello, kqueue", arena);
                Thread trigger = Thread.ofPlatform().start(() -> {
                    try (KeventArray t = KeventArray.allocate(1)) {
                        t.set(0, 7, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFCOPY | 0x42, 99, 0xB2);
                        kq.kevent(t, 1, null, 0, 0);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                trigger.join();

                int seen = 0;
                long deadline = System.nanoTime() + 2_000_000_000L;
                boolean timer = false, user = false, read = false;
                while (!(timer && user && read) && System.nanoTime() < deadline) {
                    int n = kq.kevent(null, 0, events, events.capacity(), 200_000_000L);
                    for (int i = 0; i < n; i++) {
                        out.println("event " + (++seen) + ": " + events.toString(i));
                        int f = events.filter(i);
                        timer |= f == EVFILT_TIMER;
                        user |= f == EVFILT_USER;
                        if (f == EVFILT_READ) {
                            read = true;
                            drain(sockets[0], arena);
                        }
                    }
                }
                out.println(timer && user && read ? "demo: all three events arrived" : "demo: missing events");
            } finally {
                sockets[0].close();
                sockets[1].close();
            }
        }
    }

    private static void write(StreamSocket s, String text, Arena arena) throws IOException {
        MemorySegment buf = arena.allocateFrom(text);
        s.write(buf.asSlice(0, buf.byteSize() - 1));
    }

    private static void drain(StreamSocket s, Arena arena) throws IOException {
        s.read(arena.allocate(256));
    }
}
