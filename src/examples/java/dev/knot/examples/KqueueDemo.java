package dev.knot.examples;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.NOTE_FFCOPY;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;

import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.system.CallState;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Fds;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
            int[] pair = socketpair(arena);
            try {
                changes.set(0, 1, EVFILT_TIMER, EV_ADD, 0, 50, 0xA1)         // every 50 ms
                       .set(1, 7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 0xB2)
                       .set(2, pair[0], EVFILT_READ, EV_ADD, 0, 0, 0xC3);
                kq.kevent(changes, 3, null, 0, 0);
                out.println("registered: timer 1 (50 ms), user event 7, socketpair fd " + pair[0]);

                write(pair[1], "hello, kqueue", arena);
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
                            drain(pair[0], arena);
                        }
                    }
                }
                out.println(timer && user && read ? "demo: all three events arrived" : "demo: missing events");
            } finally {
                Fds.close(pair[0]);
                Fds.close(pair[1]);
            }
        }
    }

    private static int[] socketpair(Arena arena) throws ErrnoException {
        MemorySegment sv = arena.allocate(ValueLayout.JAVA_INT, 2);
        MemorySegment st = CallState.forThread();
        if (socket_h.socketpair(st, socket_h.AF_UNIX, socket_h.SOCK_STREAM | socket_h.SOCK_CLOEXEC, 0, sv) != 0) {
            throw new ErrnoException("socketpair", CallState.errno(st));
        }
        return new int[] {sv.getAtIndex(ValueLayout.JAVA_INT, 0), sv.getAtIndex(ValueLayout.JAVA_INT, 1)};
    }

    private static void write(int fd, String text, Arena arena) throws ErrnoException {
        MemorySegment buf = arena.allocateFrom(text);
        MemorySegment st = CallState.forThread();
        if (unistd_h.write(st, fd, buf, buf.byteSize() - 1) < 0) throw new ErrnoException("write(" + fd + ")", CallState.errno(st));
    }

    private static void drain(int fd, Arena arena) {
        MemorySegment buf = arena.allocate(256);
        unistd_h.read(CallState.forThread(), fd, buf, buf.byteSize());
    }
}
