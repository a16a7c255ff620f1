// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import dev.knot.system.Sockets;
import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a handed descriptor is, as the parent saw it and the child checks it: a word per descriptor in
 * {@link Handoff#ENV_FD_KINDS}. Sockets are told apart by SO_TYPE and SO_ACCEPTCONN, other descriptors by what
 * /proc/self/fd names them (pipe, memfd, anonymous inode, file), so a descriptor that is not what the parent handed
 * (a forged or renumbered environment) is refused before anything adopts it.
 */
final class FdKind {
    private FdKind() {}

    static final String LISTEN = "listen", STREAM = "stream", DGRAM = "dgram", SOCKET = "socket", PIPE = "pipe",
            MEMFD = "memfd", ANON = "anon", FILE = "file", OTHER = "other";

    /**
     * Tells what {@code fd} is.
     *
     * @param fd an open descriptor of this process
     * @return one of the kind words of this class
     * @throws IOException if the descriptor cannot be examined
     */
    static String of(int fd) throws IOException {
        int type;
        try {
            type = Sockets.getInt(fd, Sockets.SOL_SOCKET, Sockets.SO_TYPE, "SO_TYPE");
        } catch (ErrnoException notASocket) {
            if (!notASocket.errnoName().equals("ENOTSOCK")) throw notASocket;
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            if (target.startsWith("pipe:")) return PIPE;
            if (target.startsWith("/memfd:")) return MEMFD;
            if (target.startsWith("anon_inode:")) return ANON;
            return target.startsWith("/") ? FILE : OTHER;
        }
        if (type == Sockets.SOCK_STREAM) {
            return Sockets.getBoolean(fd, Sockets.SOL_SOCKET, Sockets.SO_ACCEPTCONN, "SO_ACCEPTCONN") ? LISTEN : STREAM;
        }
        return type == 2 ? DGRAM : SOCKET;                 // SOCK_DGRAM is 2 on Linux, FreeBSD and macOS
    }

    /** {@return true if {@code fd} is a kqueue: on Linux, the emulation's epoll instance} */
    static boolean isKqueue(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().equals("anon_inode:[eventpoll]");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A description for error messages.
     *
     * @param kind a kind word
     * @return e.g. "a listening socket"
     */
    static String describe(String kind) {
        return switch (kind) {
            case LISTEN -> "a listening socket";
            case STREAM -> "a stream socket";
            case DGRAM -> "a datagram socket";
            case SOCKET -> "a socket";
            case PIPE -> "a pipe";
            case MEMFD -> "a memfd";
            case ANON -> "an anonymous inode (eventfd, epoll, ...)";
            case FILE -> "a file";
            default -> "'" + kind + "'";
        };
    }
}
