// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.fork.Spawner;
import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The restart policy alone: which failures halt, and that backoff is kept per slot. */
class SupervisorTest {
    private static final long MS = 1_000_000L;

    private static Supervisor policy() {
        return new Supervisor(Duration.ofMillis(100), Duration.ofMillis(1000), 3, Duration.ofSeconds(30), Duration.ofSeconds(10));
    }

    @Test
    void workersThatRanAndDiedNeverHaltHoweverOftenTheyDie() {
        Supervisor s = policy();
        for (int i = 0; i < 100; i++) assertFalse(s.crashAfterReady(1 + i % 4, 500 * MS).halt(), "crash " + i);
    }

    @Test
    void bootFailuresWithinTheWindowHalt() {
        Supervisor s = policy();
        assertFalse(s.bootFailure(1, 0).halt());
        assertFalse(s.bootFailure(2, 1000 * MS).halt());
        assertTrue(s.bootFailure(1, 2000 * MS).halt());
        // Spread beyond the window they do not.
        Supervisor t = policy();
        for (int i = 0; i < 10; i++) assertFalse(t.bootFailure(1, i * 20_000 * MS).halt());
    }

    @Test
    void backoffDoublesPerSlotUpToTheCapAndOneSlotNeverDelaysAnother() {
        Supervisor s = policy();
        assertEquals(100 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(200 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(400 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(800 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(1000 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(1000 * MS, s.crashAfterReady(1, MS).delayNanos());
        assertEquals(100 * MS, s.crashAfterReady(2, MS).delayNanos(), "slot 2's first crash waits the base delay");
        assertEquals(100 * MS, s.resourceShortage(3), "slot 3 too");
    }

    @Test
    void aSlotThatStayedUpStartsItsBackoffOver() {
        Supervisor s = policy();
        for (int i = 0; i < 5; i++) s.crashAfterReady(1, MS);
        assertEquals(100 * MS, s.crashAfterReady(1, 11_000 * MS).delayNanos(), "ready for longer than stableAfter");
        s.crashAfterReady(2, MS);
        s.crashAfterReady(2, MS);
        s.stable(2);
        assertEquals(100 * MS, s.crashAfterReady(2, MS).delayNanos());
    }

    @Test
    void resourceShortagesAreRecognisedFromTheErrnoOfRealCalls() throws Exception {
        assertTrue(Supervisor.isResourceShortage(new ErrnoException("socketpair", dev.knot.bindings.linux.errno_h.EMFILE)));
        assertTrue(Supervisor.isResourceShortage(new IOException("wrapped", new ErrnoException("posix_spawn", dev.knot.bindings.linux.errno_h.EAGAIN))));
        assertTrue(Supervisor.isResourceShortage(new ErrnoException("fork", dev.knot.bindings.linux.errno_h.ENOMEM)));
        assertTrue(Supervisor.isResourceShortage(new ErrnoException("socket", dev.knot.bindings.linux.errno_h.ENFILE)));
        // A program that does not exist is not a shortage: it would never succeed.
        try {
            Spawner.spawn(new Spawner.Spec(List.of("/nonexistent/knot-java"), Map.of(), List.of(), null, null));
        } catch (IOException e) {
            assertFalse(Supervisor.isResourceShortage(e), e.toString());
        }
    }
}
