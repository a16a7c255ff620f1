// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps two Knot masters from serving one TCP port with SO_REUSEPORT, which the kernel allows (same uid) and which
 * silently splits the port's connections between them.
 *
 * <p>The lock is an fcntl record lock on {@code reuseport-tcp-PORT.lock} in a per-uid directory (the default
 * control directory's, closed to other users), held for the master's whole life and released by the kernel when
 * it exits, however it exits. It is keyed by port alone: a wildcard and a specific address, IPv4 and IPv6, overlap
 * on one port. The file says who holds it, for the refusal message; it is left in place (deleting a lock file
 * races with the next locker).
 */
final class PortLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;
    private final Path path;

    private PortLock(FileChannel channel, FileLock lock, Path path) {
        this.channel = channel;
        this.lock = lock;
        this.path = path;
    }

    /**
     * Takes the lock of {@code port}, or says who holds it.
     *
     * @param owner what the file records about this master (its pid and control socket)
     * @throws IOException naming the port and the master holding it, or the operation, path and errno that failed
     */
    static PortLock acquire(Path dir, int port, String owner) throws IOException {
        ControlSocket.secureDirectory(dir, PreforkConfig.uid());
        Path p = dir.resolve("reuseport-tcp-" + port + ".lock");
        FileChannel ch;
        try {
            ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw StartupErrors.of("open", p, e);
        }
        try {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                String holder = read(ch).strip();
                throw new IOException("--reuseport: TCP port " + port + " is already served by another Knot master ("
                        + (holder.isEmpty() ? "unknown" : holder) + ", lock " + p + "); two masters on one port would silently split"
                        + " its connections: stop that master or choose another port");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((owner + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            return new PortLock(ch, l, p);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static String read(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096);
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    Path path() {
        return path;
    }

    boolean exists() {
        return Files.exists(path);
    }

    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) lock.release();
        } finally {
            channel.close();
        }
    }
}
