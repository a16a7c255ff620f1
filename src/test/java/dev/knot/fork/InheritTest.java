// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.NOTE_FFCOPY;
import static dev.knot.kqueue.Kevent.NOTE_TRIGGER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.loop.Selector;
import dev.knot.sys.Errno;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * INHERIT: the kernel's copy of a KQUEUE_CPONFORK kqueue, kept across exec by the same-numbers spawn. On Linux the
 * path is refused clearly; the FreeBSD case is written for a FreeBSD 15 host (scripts/freebsd-fork-tests) and has
 * not run yet.
 */
@Timeout(120)
class InheritTest {
    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxAKqueueIsNeverAdoptedAndTheChildIsToldWhy() throws Exception {
        try (Kqueue kq = Kqueue.open(Kqueue.CLOEXEC | Kqueue.CPONFORK)) {
            KqueueException e = assertThrows(KqueueException.class, () -> Kqueue.adopt(kq.fd()));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertTrue(e.getMessage().contains("shared with a child rather than copied"), e.getMessage());
        }
        assertTrue(!Kqueue.copiesOnFork());
        try (Selector sel = Selector.open(); Handoff h = new Handoff(ForkPolicy.COPY).keepNumbers(true).prepare(sel)) {
            assertTrue(!h.environment().containsKey(Handoff.ENV_KQUEUE_FD), "no kqueue is handed where the kernel does not copy it");
            Inheritance in = Inheritance.from(new java.util.HashMap<>(h.environment()), ProcessHandle.current().pid());
            assertNull(in.inheritedKqueue());
        }
    }

    /** Unverified: for a FreeBSD 15 host with KQUEUE_CPONFORK (scripts/freebsd-fork-tests). */
    @Test
    @EnabledOnOs(OS.FREEBSD)
    void onFreeBsdTheChildAdoptsTheKernelsCopyWithItsPendingEvent() throws Exception {
        assertTrue(Kqueue.copiesOnFork(), "this FreeBSD kernel has no KQUEUE_CPONFORK (15.1 or later needed)");
        try (Kqueue kq = Kqueue.open(Kqueue.CLOEXEC | Kqueue.CPONFORK); KeventArray ch = KeventArray.allocate(1)) {
            ch.set(0, 7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, 42);
            kq.kevent(ch, 1, null, 0, 0);
            ch.set(0, 7, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFCOPY | 0x1234, 0, 42);
            kq.kevent(ch, 1, null, 0, 0);
            Handoff h = new Handoff(ForkPolicy.DROP).keepNumbers(true).fd("kq", kq.fd());
            try (Handoff prepared = h.prepare(null)) {
                Map<String, String> m = CopyChild.run("inherit", prepared);
                assertEquals("USER:7:0x1234:42", m.get("inherited"), m.get("_output"));
            }
        }
    }
}
