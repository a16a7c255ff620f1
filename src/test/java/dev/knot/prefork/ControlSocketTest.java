// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.knot.loop.EventLoop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Who may steer a master: only its own uid, checked twice (directory permissions, then SO_PEERCRED). */
@Timeout(60)
class ControlSocketTest {
    private static final String CLIENT = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])"
            + " or do { print \"connect failed: $!\\n\"; exit 2 }; print $s \"status\\n\"; local $/; my $r = <$s>; print $r;";

    /** Runs a tiny client as uid/gid 65534 (nobody) against {@code socket}; returns its output. */
    private static String asNobody(Path socket) throws Exception {
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", CLIENT, socket.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return out;
    }

    private static void assumeRoot() throws IOException {
        assumeTrue(PreforkConfig.uid() == 0, "dropping to another uid needs root; this test runs as uid " + PreforkConfig.uid());
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) && Files.isExecutable(Path.of("/usr/bin/perl")),
                "needs setpriv and perl to run a client as another uid");
    }

    @Test
    void anotherUidCannotEvenReachTheMastersControlSocket() throws Exception {
        assumeRoot();
        try (MasterProcess m = MasterProcess.start("--workers", "1")) {
            Path socket = m.dir.resolve("control.sock");
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(m.dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            String out = asNobody(socket);
            assertTrue(out.startsWith("connect failed: Permission denied"), out);
            assertTrue(m.ctl("status").contains("state running"), "the owner still gets through");
        }
    }

    @Test
    void aPeerOfAnotherUidIsRefusedBySoPeercredEvenWhenItCanConnect() throws Exception {
        assumeRoot();
        // A directory and socket open to everyone, as a misconfiguration would leave them: the uid check still holds.
        Path dir = Files.createTempDirectory("knot-open");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = dir.resolve("control.sock");
        EventLoop loop = EventLoop.open();
        ControlSocket c = ControlSocket.open(loop, socket, cmd -> "obeyed " + cmd + "\n", false);
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
        loop.start("control");
        try {
            String out = asNobody(socket);
            assertTrue(out.startsWith("refused: peer uid 65534"), out);
            assertEquals("obeyed status\n", Ctl.send(socket, "status"), "the master's own uid is obeyed");
        } finally {
            loop.execute(() -> {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // test cleanup
                }
            });
            loop.close();
            Files.deleteIfExists(socket);
            Files.delete(dir);
        }
    }

    @Test
    void aControlDirectoryOpenToOthersOrOwnedBySomeoneElseIsRefused() throws Exception {
        Path open = Files.createTempDirectory("knot-open");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        IOException e = assertThrows(IOException.class, () -> ControlSocket.secureDirectory(open, PreforkConfig.uid()));
        assertTrue(e.getMessage().contains("open to others (rwxr-xr-x)"), e.getMessage());
        IOException owner = assertThrows(IOException.class, () -> ControlSocket.secureDirectory(open, PreforkConfig.uid() + 1));
        assertTrue(owner.getMessage().contains("belongs to uid"), owner.getMessage());
        Files.delete(open);
        Path fresh = Files.createTempDirectory("knot-parent").resolve("ctl");
        ControlSocket.secureDirectory(fresh, PreforkConfig.uid());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
        Files.delete(fresh);
        Files.delete(fresh.getParent());
    }

    @Test
    void aSecondMasterOnTheSameControlSocketIsRefused() throws Exception {
        try (MasterProcess m = MasterProcess.start("--workers", "0")) {
            List<String> cmd = dev.knot.testing.ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED"), "dev.knot.prefork.Master",
                    "--listen", "127.0.0.1:0", "--control-dir", m.dir.toString(), "--workers", "0");
            var r = dev.knot.testing.ChildJvm.run(cmd, 30);
            assertEquals(1, r.exit(), r.stdout() + r.stderr());
            assertTrue(r.stderr().contains("another master answers on"), r.stderr());
        }
    }
}
