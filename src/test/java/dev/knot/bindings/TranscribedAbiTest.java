// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemoryLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The FreeBSD and macOS ABIs are transcribed, not captured: check them against the published layouts. */
class TranscribedAbiTest {
    @Test
    void freebsdKeventIs64BytesWithExt4() {
        var k = dev.knot.bindings.freebsd.kevent.class;
        assertEquals(64, dev.knot.bindings.freebsd.kevent.SIZEOF);
        assertEquals(64, dev.knot.bindings.freebsd.kevent.LAYOUT.byteSize());
        assertEquals(0, dev.knot.bindings.freebsd.kevent.ident$OFFSET);
        assertEquals(8, dev.knot.bindings.freebsd.kevent.filter$OFFSET);
        assertEquals(10, dev.knot.bindings.freebsd.kevent.flags$OFFSET);
        assertEquals(12, dev.knot.bindings.freebsd.kevent.fflags$OFFSET);
        assertEquals(16, dev.knot.bindings.freebsd.kevent.data$OFFSET);
        assertEquals(24, dev.knot.bindings.freebsd.kevent.udata$OFFSET);
        assertEquals(32, dev.knot.bindings.freebsd.kevent.ext$OFFSET);
        assertEquals(4 * 8, dev.knot.bindings.freebsd.kevent.ext$SIZE, "ext[4] of uint64_t");
        assertEquals(8, dev.knot.bindings.freebsd.kevent.LAYOUT.byteAlignment());
        assertEquals(2, dev.knot.bindings.freebsd.kevent.LAYOUT.select(MemoryLayout.PathElement.groupElement("filter")).byteSize());
        assertTrue(k.getSimpleName().equals("kevent"));
    }

    @Test
    void macosKeventIs32Bytes() {
        assertEquals(32, dev.knot.bindings.macos.kevent.SIZEOF);
        assertEquals(32, dev.knot.bindings.macos.kevent.LAYOUT.byteSize());
        assertEquals(0, dev.knot.bindings.macos.kevent.ident$OFFSET);
        assertEquals(8, dev.knot.bindings.macos.kevent.filter$OFFSET);
        assertEquals(10, dev.knot.bindings.macos.kevent.flags$OFFSET);
        assertEquals(12, dev.knot.bindings.macos.kevent.fflags$OFFSET);
        assertEquals(16, dev.knot.bindings.macos.kevent.data$OFFSET);
        assertEquals(24, dev.knot.bindings.macos.kevent.udata$OFFSET);
    }

    @Test
    void theValuesThatDifferBetweenFreebsdAndMacos() {
        assertEquals(-11, dev.knot.bindings.freebsd.event_h.EVFILT_USER);
        assertEquals(-10, dev.knot.bindings.macos.event_h.EVFILT_USER);
        assertEquals(0x10, dev.knot.bindings.freebsd.event_h.NOTE_ABSTIME);
        assertEquals(0x08, dev.knot.bindings.macos.event_h.NOTE_ABSOLUTE);
        assertEquals(0x04, dev.knot.bindings.freebsd.event_h.NOTE_USECONDS);
        assertEquals(0x02, dev.knot.bindings.macos.event_h.NOTE_USECONDS);
        assertEquals(0x200, dev.knot.bindings.freebsd.event_h.EV_KEEPUDATA);
        assertEquals(0x1, dev.knot.bindings.freebsd.event_h.KQUEUE_CLOEXEC);
        assertEquals(0x2, dev.knot.bindings.freebsd.event_h.KQUEUE_CPONFORK);
        assertEquals(35, dev.knot.bindings.freebsd.errno_h.EAGAIN);
        assertEquals(102, dev.knot.bindings.macos.errno_h.EOPNOTSUPP);
        assertEquals(45, dev.knot.bindings.freebsd.errno_h.EOPNOTSUPP);
    }

    @Test
    void transcribedFilesSayTheyAreTranscribed() throws Exception {
        for (String f : new String[] {"bindings/abi/freebsd-lp64.abi", "bindings/abi/macos-lp64.abi"}) {
            String head = Files.readAllLines(Path.of(f)).get(0);
            assertTrue(head.contains("TRANSCRIBED"), f + " must say it is transcribed: " + head);
        }
        assertTrue(Files.readAllLines(Path.of("bindings/abi/linux-x86_64.abi")).stream().anyMatch(l -> l.startsWith("source captured")));
    }
}
