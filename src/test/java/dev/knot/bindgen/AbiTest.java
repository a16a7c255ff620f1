// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ABI file parser of the binding generator: header lines, key-value entries, and what it refuses. */
class AbiTest {
    @TempDir
    Path dir;

    private Abi parse(String text) throws IOException {
        Path p = dir.resolve("t.abi");
        Files.writeString(p, text);
        return Abi.parse(p);
    }

    @Test
    void readsHeaderAndEntries() throws IOException {
        Abi abi = parse("""
                # a comment
                os linux
                arch x86_64
                source captured: C compiler probe (gcc -S)
                type size_t size 8 signed 0
                const EAGAIN value 11 size 4 signed 1
                const NEG value -1 size 4 signed 1
                struct kevent size 64 align 8
                field kevent ident offset 0 size 8
                func kevent checked
                """);
        assertEquals("linux", abi.header.get("os"));
        assertEquals("captured: C compiler probe (gcc -S)", abi.header.get("source"));
        assertEquals(8, abi.get("type size_t", "size", "t.abi"));
        assertEquals(11, abi.get("const EAGAIN", "value", "t.abi"));
        assertEquals(-1, abi.get("const NEG", "value", "t.abi"));
        assertEquals(64, abi.get("struct kevent", "size", "t.abi"));
        assertEquals(Map.of("offset", 0L, "size", 8L), abi.entries.get("field kevent ident"));
        assertEquals(1, abi.get("func kevent", "checked", "t.abi"));
        assertTrue(abi.has("struct kevent"));
        assertFalse(abi.has("struct stat"));
    }

    @Test
    void refusesWhatItCannotRead() throws IOException {
        Failure e = assertThrows(Failure.class, () -> parse("const X value ten size 4\n"));
        assertTrue(e.getMessage().contains("bad value in const X value ten size 4"), e.getMessage());
        Abi abi = parse("const X value 1\n");
        e = assertThrows(Failure.class, () -> abi.get("const X", "size", "t.abi"));
        assertEquals("t.abi: no 'size' for const X", e.getMessage());
        e = assertThrows(Failure.class, () -> Abi.parse(dir.resolve("none.abi")));
        assertTrue(e.getMessage().startsWith("missing ABI file"), e.getMessage());
    }

    @Test
    void theCommittedAbiFilesParse() throws IOException {
        // Facts each ABI must carry: FreeBSD's 64-byte kevent, macOS's 32-byte one, and epoll_event packed to 12
        // bytes on x86_64 only.
        assertEquals(64, Abi.parse(Path.of("bindings/abi/freebsd-lp64.abi")).get("struct kevent", "size", "freebsd"));
        assertEquals(32, Abi.parse(Path.of("bindings/abi/macos-lp64.abi")).get("struct kevent", "size", "macos"));
        assertEquals(12, Abi.parse(Path.of("bindings/abi/linux-x86_64.abi")).get("struct epoll_event", "size", "x86_64"));
        assertEquals(16, Abi.parse(Path.of("bindings/abi/linux-aarch64.abi")).get("struct epoll_event", "size", "aarch64"));
    }
}
