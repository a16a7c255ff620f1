// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.testing.Posix;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A key is one registration: once cancelled it stays invalid, a later registration that takes its slot gets a new
 * key, and a stale key can never change someone else's registration. The selector and its keys belong to one
 * thread: another thread's select must fail instead of taking the loop's events.
 */
@Timeout(30)
class KeyLifecycleTest {
    @Test
    void aCancelledKeyIsNeverReusedAndCannotTouchTheNextRegistration() throws Exception {
        int[] a = Posix.socketpair();
        int[] b = Posix.socketpair();
        try (Selector s = Selector.open()) {
            Key stale = s.register(a[0], Selector.OP_READ, "first");
            s.selectNow();
            stale.cancel();
            s.selectNow();
            Key fresh = s.register(b[0], Selector.OP_READ, "second");
            assertNotSame(stale, fresh, "a new registration must get a new key object");
            assertFalse(stale.isValid());
            assertTrue(fresh.isValid());
            assertNull(stale.attachment(), "a cancelled key holds nothing");
            assertEquals("second", fresh.attachment());

            assertThrows(IllegalStateException.class, () -> stale.interest(0));
            assertThrows(IllegalStateException.class, () -> stale.interestOr(Selector.OP_WRITE));
            assertThrows(IllegalStateException.class, () -> stale.attach("x"));
            stale.cancel();                                     // documented no-op
            stale.clearReady();                                 // documented no-op
            assertTrue(fresh.isValid(), "cancelling a stale key again must not cancel the new registration");

            // The new registration still gets its events: the stale key's calls did not turn it off.
            Posix.write(b[1], new byte[] {1});
            assertEquals(1, s.select(TimeUnit.SECONDS.toNanos(5)));
            assertSame(fresh, s.readyKey(0));
            assertTrue(fresh.isReadable());
            assertEquals(Selector.OP_READ, fresh.interest());
        } finally {
            Posix.rawClose(a[0]);
            Posix.rawClose(a[1]);
            Posix.rawClose(b[0]);
            Posix.rawClose(b[1]);
        }
    }

    @Test
    void keysOfAClosedSelectorStayInvalid() throws Exception {
        int[] a = Posix.socketpair();
        try {
            Selector s = Selector.open();
            Key k = s.register(a[0], Selector.OP_READ, null);
            s.close();
            assertFalse(k.isValid());
            assertThrows(IllegalStateException.class, () -> k.interest(0));
            k.cancel();
        } finally {
            Posix.rawClose(a[0]);
            Posix.rawClose(a[1]);
        }
    }

    @Test
    void anotherThreadCannotSelectOrChangeKeys() throws Exception {
        int[] a = Posix.socketpair();
        try (Selector s = Selector.open()) {
            Key k = s.register(a[0], Selector.OP_READ, null);
            s.selectNow();                                      // this thread owns the selector from now on
            Posix.write(a[1], new byte[] {1});
            CompletableFuture<Throwable> other = CompletableFuture.supplyAsync(() -> {
                try {
                    s.select(TimeUnit.SECONDS.toNanos(1));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Throwable t = other.get(10, TimeUnit.SECONDS);
            assertTrue(t instanceof IllegalStateException, "another thread's select must be refused, got " + t);
            CompletableFuture<Throwable> change = CompletableFuture.supplyAsync(() -> {
                try {
                    k.interest(0);
                    return null;
                } catch (Throwable e) {
                    return e;
                }
            });
            assertTrue(change.get(10, TimeUnit.SECONDS) instanceof IllegalStateException, "a key change off the owner thread");
            CompletableFuture<Throwable> reg = CompletableFuture.supplyAsync(() -> {
                try {
                    s.register(a[1], Selector.OP_READ, null);
                    return null;
                } catch (Throwable e) {
                    return e;
                }
            });
            assertTrue(reg.get(10, TimeUnit.SECONDS) instanceof IllegalStateException, "a register off the owner thread");
            // The owner still gets the event the other thread must not have stolen.
            assertEquals(1, s.select(TimeUnit.SECONDS.toNanos(5)));
            assertSame(k, s.readyKey(0));
            assertEquals(Selector.OP_READ, k.interest());
        } finally {
            Posix.rawClose(a[0]);
            Posix.rawClose(a[1]);
        }
    }

    @Test
    void wakeupStillWorksFromAnyThread() throws Exception {
        try (Selector s = Selector.open()) {
            s.selectNow();
            CompletableFuture.runAsync(s::wakeup).get(10, TimeUnit.SECONDS);
            assertEquals(0, s.select(TimeUnit.SECONDS.toNanos(10)));
        }
    }
}
