package dev.knot.net;

import dev.knot.bindings.linux.in_h;
import dev.knot.bindings.linux.linger;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.tcp_h;
import dev.knot.system.CallState;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** getsockopt/setsockopt for the options Knot's sockets expose; errors name the option and the descriptor. */
final class SocketOptions {
    private SocketOptions() {}

    static void setInt(int fd, int level, int name, int value, String what) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, level, name, v, 4) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", " + what + ", " + value + ")", CallState.errno(st));
            }
        }
    }

    static int getInt(int fd, int level, int name, String what) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, level, name, v, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", " + what + ")", CallState.errno(st));
            }
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static void setBoolean(int fd, int level, int name, boolean on, String what) throws ErrnoException {
        setInt(fd, level, name, on ? 1 : 0, what);
    }

    static boolean getBoolean(int fd, int level, int name, String what) throws ErrnoException {
        return getInt(fd, level, name, what) != 0;
    }

    static void tcpNoDelay(int fd, boolean on) throws ErrnoException {
        setBoolean(fd, in_h.IPPROTO_TCP, tcp_h.TCP_NODELAY, on, "TCP_NODELAY");
    }

    /** SO_LINGER: {@code seconds < 0} turns it off; 0 makes close send a reset. */
    static void linger(int fd, int seconds) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = linger.allocate(a);
            linger.l_onoff(l, seconds >= 0 ? 1 : 0);
            linger.l_linger(l, Math.max(0, seconds));
            MemorySegment st = CallState.forThread();
            if (socket_h.setsockopt(st, fd, socket_h.SOL_SOCKET, socket_h.SO_LINGER, l, (int) linger.SIZEOF) != 0) {
                throw new ErrnoException("setsockopt(" + fd + ", SO_LINGER, " + seconds + ")", CallState.errno(st));
            }
        }
    }

    /** SO_LINGER in seconds, -1 when off. */
    static int linger(int fd) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = linger.allocate(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) linger.SIZEOF);
            MemorySegment st = CallState.forThread();
            if (socket_h.getsockopt(st, fd, socket_h.SOL_SOCKET, socket_h.SO_LINGER, l, len) != 0) {
                throw new ErrnoException("getsockopt(" + fd + ", SO_LINGER)", CallState.errno(st));
            }
            return linger.l_onoff(l) != 0 ? linger.l_linger(l) : -1;
        }
    }
}
