// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.testing.ChildJvm;
import dev.knot.testing.Posix;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A prefork worker (a real child JVM) started with a forged or mismatched environment must fail at once with an
 * error naming what is wrong: never hang, spin, or report ready and then never serve.
 */
@Timeout(180)
class ForgedEnvironmentTest {
    /** Builds a real handoff (control socket, one listener; optionally extra registrations), lets {@code forge} edit it. */
    static String runWorker(BiConsumer<Selector, Integer> register, Consumer<Map<String, String>> forge) throws Exception {
        int[] pair = Posix.socketpair();
        ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
        try (Selector s = Selector.open(); Handoff h = new Handoff(ForkPolicy.COPY)) {
            s.register(l.fd(), Selector.OP_READ, null);
            register.accept(s, pair[1]);
            h.fd("control", pair[1]).fd("listen.0", l.fd());
            h.prepare(s);
            Map<String, String> env = new HashMap<>(h.environment());
            forge.accept(env);
            ForkPathTest.Child c = ForkPathTest.spawn(ChildJvm.command(List.of("--enable-native-access=ALL-UNNAMED",
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), "dev.knot.prefork.WorkerMain", "--slot", "0"), env, h.fds());
            long deadline = System.currentTimeMillis() + 30_000;
            while (!Posix.isZombieOrGone(c.pid()) && System.currentTimeMillis() < deadline) Thread.sleep(20);
            boolean exited = Posix.isZombieOrGone(c.pid());
            if (!exited) Posix.kill(c.pid(), 9);
            int status = Spawner.reap(c.pid(), true);
            String out = Files.readString(c.out());
            Files.delete(c.out());
            assertTrue(exited, "the worker did not exit within 30 s (hung or serving a forged environment): " + out);
            assertTrue(Spawner.exitCode(status) != 0, "the worker exited 0: " + out);
            return out;
        } finally {
            l.close();
            Posix.rawClose(pair[0]);
            Posix.rawClose(pair[1]);
        }
    }

    static void assertMentions(String out, String... words) {
        for (String w : words) assertTrue(out.contains(w), "expected '" + w + "' in the worker's error: " + out);
    }

    @Test
    void aDescriptorNameGivenTwiceIsAClearError() throws Exception {
        String out = runWorker((s, control) -> {}, env -> env.put("KNOT_FD_NAMES", "control,control"));
        assertMentions(out, "KNOT_FD_NAMES", "'control' twice");
    }

    @Test
    void aNonNumericSkippedCountIsAClearError() throws Exception {
        String out = runWorker((s, control) -> {}, env -> env.put("KNOT_SNAPSHOT_SKIPPED", "x"));
        assertMentions(out, "KNOT_SNAPSHOT_SKIPPED", "'x'");
        assertTrue(!out.contains("NumberFormatException"), out);
    }

    @Test
    void aDescriptorThatIsNotWhatTheParentHandedIsRefused() throws Exception {
        String out = runWorker((s, control) -> {}, env -> env.put("KNOT_FD_KINDS", "listen,stream"));
        assertMentions(out, "handed descriptor 3 (control) is a stream socket, but the parent handed a listening socket");
    }

    @Test
    void aWriteEntryOnAHandedDescriptorNothingServesFailsTheWorkerInsteadOfSpinning() throws Exception {
        // The parent's selector watches the control socket for WRITE: always writable, and no worker code attaches it.
        String out = runWorker((s, control) -> s.register(control, Selector.OP_WRITE, null), env -> {});
        assertMentions(out, "registration nothing serves");
    }

    @Test
    void aDisabledListenerEntryFailsTheWorkerInsteadOfAWorkerThatNeverAccepts() throws Exception {
        String out = runWorker((s, control) -> {}, env -> {
            Snapshot snap;
            try {
                snap = Snapshot.decode(Base64.getDecoder().decode(env.get("KNOT_SNAPSHOT")));
            } catch (SnapshotException e) {
                throw new AssertionError(e);
            }
            List<Snapshot.Entry> forged = new ArrayList<>();
            for (Snapshot.Entry e : snap.entries()) {
                forged.add(e.filter() == EVFILT_READ && e.fdIndex() == 1
                        ? new Snapshot.Entry(e.ident(), e.filter(), EV_ADD | EV_DISABLE, e.fflags(), e.data(), e.token(), e.fdIndex()) : e);
            }
            byte[] token = HexFormat.of().parseHex(env.get("KNOT_SPAWN_TOKEN"));
            env.put("KNOT_SNAPSHOT", Base64.getEncoder().encodeToString(new Snapshot(snap.parentPid(), token, 2, forged).encode()));
        });
        assertMentions(out, "snapshot entry", "cannot hold");
    }
}
