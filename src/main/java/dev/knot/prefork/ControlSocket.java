// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.system.Processes;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The master's control socket: a Unix-domain stream socket in a directory only its owner may enter, itself mode
 * 0600, and every connection's peer uid (SO_PEERCRED) checked against the master's before a command is read.
 * One command line per connection; the answer, then close. Runs on the master's loop thread.
 */
final class ControlSocket implements AutoCloseable {
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

    private final EventLoop loop;
    private final ListenSocket listener;
    private Path path;
    /** The inode of the socket this master bound: the path is removed at close only while it is still ours. */
    private Object fileKey;
    private final int uid;
    private final Function<String, String> commands;

    private ControlSocket(EventLoop loop, ListenSocket listener, Path path, int uid, Function<String, String> commands) {
        this.loop = loop;
        this.listener = listener;
        this.path = path;
        this.uid = uid;
        this.commands = commands;
    }

    /**
     * Creates (or checks) the directory, binds the socket and serves {@code commands} on {@code loop}.
     *
     * @param checkDirectory false only for tests that must let another uid reach the socket to see the uid check
     * @throws IOException if the directory is not safe, another master answers on the socket, or binding fails
     */
    static ControlSocket open(EventLoop loop, Path socket, Function<String, String> commands, boolean checkDirectory) throws IOException {
        return open(loop, socket, commands, checkDirectory, false);
    }

    /**
     * As above; a {@code successor} (a master started by {@code knotctl upgrade}) binds a path of its own next to
     * {@code socket}, which the master it replaces still serves, and takes {@code socket} over with
     * {@link #promote()} once its workers are ready.
     */
    static ControlSocket open(EventLoop loop, Path socket, Function<String, String> commands, boolean checkDirectory,
                              boolean successor) throws IOException {
        int uid = Processes.geteuid();
        Path dir = socket.toAbsolutePath().getParent();
        if (checkDirectory) secureDirectory(dir, uid);
        Path bound = successor ? socket.resolveSibling(socket.getFileName() + ".new." + ProcessHandle.current().pid()) : socket;
        ControlSocket c = bind(loop, bound, commands, checkDirectory, uid);
        c.path = bound;
        c.target = socket;
        return c;
    }

    private Path target;

    /**
     * Renames this (successor's) socket over the control socket path: from now on every {@code knotctl} connects
     * here, while connections already queued at the old master are still answered by it. rename(2) is atomic, so
     * the path always names a live master.
     */
    void promote() throws IOException {
        if (path.equals(target)) return;
        Files.move(path, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        path = target;
    }

    private static ControlSocket bind(EventLoop loop, Path socket, Function<String, String> commands, boolean checkDirectory, int uid)
            throws IOException {
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                String what = Files.isDirectory(socket, LinkOption.NOFOLLOW_LINKS) ? "a directory (EISDIR)"
                        : Files.isSymbolicLink(socket) ? "a symbolic link" : "a regular file";
                throw new IOException("control socket " + socket + " is " + what + ", not a socket; remove it or choose another --control-dir");
            }
            if (answers(socket)) throw new IOException("another master answers on " + socket + "; stop it or choose another --control-dir");
            try {
                Files.delete(socket);                      // stale: its master is gone
            } catch (IOException e) {
                throw StartupErrors.of("unlink stale control socket", socket, e);
            }
        }
        ListenSocket l;
        try {
            l = ListenSocket.bind(UnixDomainSocketAddress.of(socket), 16);
        } catch (IOException e) {
            throw new IOException("control socket: " + e.getMessage(), e);
        }
        try {
            if (checkDirectory) Files.setPosixFilePermissions(socket, OWNER_ONLY_FILE);
            ControlSocket c = new ControlSocket(loop, l, socket, uid, commands);
            c.fileKey = Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            loop.register(l.fd(), Selector.OP_READ, c::accept);
            return c;
        } catch (IOException | RuntimeException e) {
            l.close();
            Files.deleteIfExists(socket);
            throw e;
        }
    }

    /** The directory must be ours and closed to everyone else; it is created that way if missing. */
    static void secureDirectory(Path dir, int uid) throws IOException {
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
        } catch (FileAlreadyExistsException exists) {
            checkDirectory(dir, uid);
        } catch (IOException e) {
            throw StartupErrors.of("mkdir", dir, e);
        }
    }

    private static void checkDirectory(Path dir, int uid) throws IOException {
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) throw new IOException("control directory " + dir + " is not a directory");
            int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != uid) throw new IOException("control directory " + dir + " belongs to uid " + owner + ", not to this master's uid " + uid);
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
            if (!OWNER_ONLY_DIR.containsAll(perms)) {
                throw new IOException("control directory " + dir + " is open to others (" + PosixFilePermissions.toString(perms)
                        + "); make it rwx------ or choose another --control-dir");
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("control directory")) throw e;
            throw StartupErrors.of("stat", dir, e);
        }
    }

    private static boolean answers(Path socket) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    Path path() {
        return path;
    }

    private void accept(Key key) throws IOException {
        listener.acceptAll(loop, key, s -> {
            StreamSocket.PeerCredentials peer = s.peerCredentials();
            // Only the master's own user may steer it. Another user's line is still read (and never obeyed): closing
            // an AF_UNIX socket with unread input resets the peer, which would lose the refusal.
            String refusal = peer.uid() == uid ? null
                    : "refused: peer uid " + peer.uid() + " (pid " + peer.pid() + ") is not the master's uid " + uid + "\n";
            Connection c = new Connection(s, refusal);
            c.key = loop.register(c, Selector.OP_READ, c::ready);
            loop.schedule(c::expire, IDLE_SECONDS, TimeUnit.SECONDS);
        });
    }

    private static void reply(StreamSocket s, String text) {
        try (s; Arena a = Arena.ofConfined()) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            MemorySegment m = a.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
            // One write, never a wait on the master's loop: the client reads nothing before its answer, so an empty
            // send buffer large enough for the answer takes all of it.
            if (b.length > s.sendBufferSize() / 2) s.setSendBufferSize(b.length);
            s.write(m, 0, b.length);
        } catch (IOException ignored) {
            // the client went away
        }
    }

    /** How long a client may take to send its command line before it is dropped. */
    static final long IDLE_SECONDS = 10;

    /** A client connection: collects one line, answers, closes. */
    private final class Connection implements dev.knot.loop.Pollable, AutoCloseable {
        final StreamSocket socket;
        final StringBuilder line = new StringBuilder();
        final String refusal;                     // the answer to a peer of another uid, whatever it asks
        Key key;

        Connection(StreamSocket socket, String refusal) {
            this.socket = socket;
            this.refusal = refusal;
        }

        @Override
        public int fd() {
            return socket.fd();
        }

        void ready(Key k) throws IOException {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(512);
                while (true) {
                    int n = socket.read(buf);
                    if (n == 0) return;
                    if (n < 0) break;
                    line.append(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                    if (line.indexOf("\n") >= 0 || line.length() > 4096) break;
                }
            }
            k.cancelForClose();
            if (refusal != null) {
                reply(socket, refusal);
                return;
            }
            String cmd = line.toString().split("\n", 2)[0].trim();
            String answer;
            try {
                answer = commands.apply(cmd);
            } catch (RuntimeException e) {
                answer = "error: " + e.getMessage() + "\n";
            }
            reply(socket, answer);
        }

        /** The client has not sent its line in time: drop it, so that no peer holds a descriptor of the master. */
        void expire() {
            if (!socket.isOpen()) return;
            if (key.isValid()) key.cancelForClose();
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        // After an upgrade the path is the successor's socket: leave it.
        try {
            Object now = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (now != null && now.equals(fileKey)) Files.deleteIfExists(path);
        } catch (java.nio.file.NoSuchFileException gone) {
            // removed already
        }
    }
}
