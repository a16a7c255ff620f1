// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.prefork.MasterProcess.complete200;
import static dev.knot.prefork.MasterProcess.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Start-up failures say what failed, where and why; a --reuseport port serves one master only. */
@Timeout(120)
class StartupTest {
    private static PreforkConfig config(Path controlDir, Path lockDir, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("--listen", "127.0.0.1:0", "--workers", "0", "--control-dir", controlDir.toString(),
                "--lock-dir", lockDir.toString()));
        a.addAll(List.of(more));
        return PreforkConfig.parse(a.toArray(String[]::new));
    }

    /** Runs a master in this JVM that must fail at start, and checks that it left no descriptor open. */
    private static String startFailure(PreforkConfig c) throws IOException {
        // The first kqueue of a process opens what the process keeps for good (the io_uring pool's first ring): open
        // one before the baseline, so that run alone the test counts only what the failed start left.
        dev.knot.kqueue.Kqueue.open().close();
        java.util.Set<String> before = fds();
        String m = assertThrows(IOException.class, () -> new Master(c).run()).getMessage();
        java.util.Set<String> after = fds();
        after.removeAll(before);
        assertEquals(java.util.Set.of(), after, "descriptors left open by the failed start");
        return m;
    }

    private static java.util.Set<String> fds() throws IOException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (var ds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : ds) {
                try {
                    out.add(p.getFileName() + " -> " + Files.readSymbolicLink(p));
                } catch (IOException e) {
                    // the directory stream's own descriptor, closed by now
                }
            }
        }
        return out;
    }

    @Test
    void aMissingParentOfTheControlDirectoryIsNamedWithTheOperationAndErrno() throws Exception {
        Path base = Files.createTempDirectory("knot-start");
        try {
            Path dir = base.resolve("missing").resolve("knot");
            String m = startFailure(config(dir, base));
            assertEquals("mkdir " + dir + ": ENOENT (no such file or directory: " + dir.getParent() + " does not exist)", m);
        } finally {
            MasterProcess.deleteTree(base);
        }
    }

    @Test
    void aControlSocketPathThatIsADirectoryIsRefusedNotDeleted() throws Exception {
        Path base = Files.createTempDirectory("knot-start");
        try {
            Path sock = Files.createDirectory(base.resolve("control.sock"));
            String m = startFailure(config(base, base));
            assertEquals("control socket " + sock + " is a directory (EISDIR), not a socket; remove it or choose another --control-dir", m);
            assertTrue(Files.isDirectory(sock));
        } finally {
            MasterProcess.deleteTree(base);
        }
    }

    @Test
    void aControlDirectoryThatCannotBeCreatedSaysEacces() throws Exception {
        Path base = Files.createTempDirectory("knot-start");
        try {
            Path closed = Files.createDirectory(base.resolve("closed"));
            Path dir = closed.resolve("knot");
            MasterProcess.Exit e;
            if (PreforkConfig.uid() == 0) {
                // root creates directories anywhere: run the master as nobody, in a directory nobody may not write.
                Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
                Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwxr-xr-x"));
                e = MasterProcess.runToExit(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), "--control-dir", dir.toString(),
                        "--workers", "0");
            } else {
                Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("r-x------"));
                e = MasterProcess.runToExit("--control-dir", dir.toString(), "--workers", "0");
            }
            assertEquals(1, e.code(), e.log());
            assertTrue(e.log().contains("mkdir " + dir + ": EACCES (permission denied)"), e.log());
        } finally {
            MasterProcess.deleteTree(base);
        }
    }

    @Test
    void aPortLockIsHeldOnceAndReleasedOnClose() throws Exception {
        Path base = Files.createTempDirectory("knot-locks");
        try {
            try (PortLock first = PortLock.acquire(base, 23999, "pid 1, control socket /x")) {
                String m = assertThrows(IOException.class, () -> PortLock.acquire(base, 23999, "pid 2")).getMessage();
                assertTrue(m.contains("TCP port 23999 is already served by another Knot master (pid 1, control socket /x"), m);
                PortLock.acquire(base, 23998, "pid 1").close();          // another port is another lock
            }
            PortLock.acquire(base, 23999, "pid 3").close();
        } finally {
            MasterProcess.deleteTree(base);
        }
    }

    @Test
    void aSecondMasterWithReusePortOnAServedPortIsRefusedWithAClearMessage() throws Exception {
        Path locks = Files.createTempDirectory("knot-locks");
        try (MasterProcess a = MasterProcess.start("--workers", "1", "--reuseport", "--lock-dir", locks.toString())) {
            a.awaitReady(1, 1, 60_000);
            MasterProcess.Exit b = MasterProcess.runToExit("--listen", "127.0.0.1:" + a.port, "--reuseport", "--workers", "1",
                    "--lock-dir", locks.toString());
            assertEquals(1, b.code(), b.log());
            assertTrue(b.log().contains("TCP port " + a.port + " is already served by another Knot master (pid " + a.process.pid()), b.log());
            assertFalse(b.log().contains("spawned worker"), b.log());
            for (int i = 0; i < 10; i++) assertTrue(complete200(get(a.port, "/")));
            assertTrue(a.process.isAlive());
        } finally {
            MasterProcess.deleteTree(locks);
        }
    }
}
