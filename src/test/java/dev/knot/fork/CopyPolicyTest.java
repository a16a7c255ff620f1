// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.knot.kqueue.Kqueue;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;

import java.net.InetSocketAddress;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which knotes a child gets, policy by policy, with real child JVMs. The parent has a handed listener (READ), a
 * handed listener whose key opted out, a handed kqueue with a READ knote on it (never copied: FreeBSD copies a
 * knote on a kqueue only with a copy of that kqueue, and a handed emulated kqueue would be shared, not copied), a
 * user event, a timer, and a user event whose key opted out.
 */
@Timeout(120)
class CopyPolicyTest {
    private static Map<String, String> childOf(ForkPolicy policy, int[] counts) throws Exception {
        try (ListenSocket l = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
             ListenSocket optedOut = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0));
             Kqueue other = Kqueue.open();
             Selector sel = Selector.open()) {
            sel.register(l, Selector.OP_READ, null);
            sel.register(optedOut, Selector.OP_READ, null).copyOnFork(false);
            sel.register(other.fd(), Selector.OP_READ, null);
            sel.watch(7, EVFILT_USER, EV_CLEAR, 0, 0, null);
            sel.watch(1, EVFILT_TIMER, 0, 0, 10_000, null);
            sel.watch(11, EVFILT_USER, EV_CLEAR, 0, 0, null).copyOnFork(false);
            sel.selectNow();
            try (Handoff h = new Handoff(policy).fd("http", l.fd()).fd("http2", optedOut.fd()).fd("kq", other.fd()).prepare(sel)) {
                counts[0] = h.entries();
                counts[1] = h.skipped();
                counts[2] = h.excluded();
                Map<String, String> m = CopyChild.run("list", h);
                assertEquals("3", m.get("handed.http"), m.get("_output"));
                assertEquals("5", m.get("handed.kq"), m.get("_output"));
                return m;
            }
        }
    }

    private static void expect(ForkPolicy policy, String keys, int entries, int skipped, int excluded) throws Exception {
        int[] counts = new int[3];
        Map<String, String> m = childOf(policy, counts);
        assertEquals(keys, m.get("keys"), policy + ": " + m.get("_output"));
        assertEquals(entries, counts[0], policy + " entries");
        assertEquals(skipped, counts[1], policy + " skipped (the kqueue's READ knote)");
        assertEquals(excluded, counts[2], policy + " excluded (by the policy or an opt-out)");
    }

    @Test
    void copyGivesEveryKnoteTheChildCanHaveExceptTheOptedOutOnes() throws Exception {
        expect(ForkPolicy.COPY, "FD:3:1,TIMER:1,USER:7", 3, 1, 2);
    }

    @Test
    void copyFdGivesOnlyTheDescriptorKnotes() throws Exception {
        expect(ForkPolicy.COPY_FD, "FD:3:1", 1, 1, 4);
    }

    @Test
    void copyNonFdGivesOnlyTheOtherKnotes() throws Exception {
        expect(ForkPolicy.COPY_NONFD, "TIMER:1,USER:7", 2, 0, 4);
    }

    @Test
    void dropGivesNothing() throws Exception {
        expect(ForkPolicy.DROP, "", 0, 0, 0);
    }
}
