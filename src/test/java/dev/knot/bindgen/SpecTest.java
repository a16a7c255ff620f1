// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spec parser of the binding generator: directives, prototypes, and the errors that name the line. */
class SpecTest {
    @TempDir
    Path dir;

    private Spec parse(String text) throws IOException {
        Path p = dir.resolve("t.spec");
        Files.writeString(p, text);
        return Spec.parse(p);
    }

    @Test
    void readsEveryDirective() throws IOException {
        Spec s = parse("""
                os linux          # a comment
                package dev.knot.bindings.linux
                define _GNU_SOURCE
                arch x86_64 amd64,x86_64 gcc -O0
                pointer __SOCKADDR_ARG
                header socket_h <sys/socket.h> <sys/types.h>
                const AF_INET AF_UNIX
                errno EAGAIN
                expr SOCK_NB SOCK_NONBLOCK | SOCK_CLOEXEC
                opaque sigset_t
                struct sockaddr
                field sa_family
                field sa_data bytes
                struct linger typedef
                func int socket(int domain, int type, int protocol) errno
                """);
        assertEquals("linux", s.os);
        assertEquals("dev.knot.bindings.linux", s.pkg);
        assertEquals(List.of("_GNU_SOURCE"), s.defines);
        Arch a = s.arch("x86_64");
        assertEquals(List.of("amd64", "x86_64"), a.javaArchNames);
        assertEquals(List.of("gcc", "-O0"), a.cc);
        assertTrue(s.pointerTypes.contains("__SOCKADDR_ARG"));
        HeaderClass h = s.classes.get(0);
        assertEquals("socket_h", h.name);
        assertEquals(List.of("sys/socket.h", "sys/types.h"), h.includes);
        assertEquals(List.of("AF_INET", "AF_UNIX"), h.consts);
        assertEquals(List.of("EAGAIN"), h.errnos);
        assertEquals("SOCK_NONBLOCK | SOCK_CLOEXEC", h.exprs.get("SOCK_NB"));
        assertEquals(List.of("sigset_t"), h.opaques);
        assertEquals("struct sockaddr", h.structs.get(0).cType());
        assertEquals("linger", h.structs.get(1).cType());
        assertEquals("bytes", h.structs.get(0).fields.get(1).hint);
        Func f = h.funcs.get(0);
        assertEquals("socket", f.name);
        assertEquals("int", f.ret);
        assertTrue(f.errno);
        assertEquals(3, f.params.size());
        assertEquals("protocol", f.params.get(2).name);
        assertEquals("int (int, int, int)", f.cFunctionType());
    }

    @Test
    void readsPrototypesWithPointersUnnamedAndVariadicParameters() {
        Func f = Spec.parseFunc("func int fcntl(int fd, int cmd, ... int arg) errno", "x: ");
        assertTrue(f.variadic());
        assertEquals(2, f.firstVariadic());
        assertEquals("int (int, int, ...)", f.cFunctionType());

        Func g = Spec.parseFunc("func char *strerror(int)", "x: ");
        assertEquals("char *", g.ret);
        assertFalse(g.errno);
        assertNull(g.params.get(0).name);
        assertEquals("int", g.params.get(0).cType);

        Func h = Spec.parseFunc("func pid_t getppid(void)", "x: ");
        assertEquals(0, h.params.size());
        assertEquals("pid_t (void)", h.cFunctionType());

        Func k = Spec.parseFunc("func ssize_t read(int fd, void *buf, size_t count) errno", "x: ");
        assertEquals("void *", k.params.get(1).cType);
        assertEquals("buf", k.params.get(1).name);
        assertFalse(k.raw);
        assertEquals("ssize_t read(int fd, void *buf, size_t count)", k.line);

        // Flags in any order; the prototype the javadoc shows stops at the parenthesis.
        Func r = Spec.parseFunc("func ssize_t recv(int fd, void *buf, size_t n, int flags) raw errno", "x: ");
        assertTrue(r.errno);
        assertTrue(r.raw);
        assertEquals("ssize_t recv(int fd, void *buf, size_t n, int flags)", r.line);
        assertFalse(r.critical);
        Func q = Spec.parseFunc("func int ioctl(int fd, unsigned long request, ...void *arg) errno critical", "x: ");
        assertTrue(q.errno);
        assertTrue(q.critical);
        assertFalse(q.raw);
        assertEquals(2, q.firstVariadic());
        assertThrows(Failure.class, () -> Spec.parseFunc("func int f(int a) errnoo", "x: "));
        assertThrows(Failure.class, () -> Spec.parseFunc("func int f(int a) criticall", "x: "));
    }

    @Test
    void errorsNameTheFileAndLine() {
        Failure e = assertThrows(Failure.class, () -> parse("os linux\npackage p\narch a b cc\nconst X\n"));
        assertTrue(e.getMessage().endsWith("t.spec:4: const outside a header block"), e.getMessage());
        e = assertThrows(Failure.class, () -> parse("os linux\npackage p\narch a b cc\nheader h <h.h>\nfield x\n"));
        assertTrue(e.getMessage().endsWith(":5: field outside a struct"), e.getMessage());
        e = assertThrows(Failure.class, () -> parse("os linux\npackage p\narch a b cc\nheader h <h.h>\nstruct s\nfield x wide\n"));
        assertTrue(e.getMessage().endsWith(":6: unknown field hint wide"), e.getMessage());
        e = assertThrows(Failure.class, () -> parse("bogus 1\n"));
        assertTrue(e.getMessage().endsWith(":1: unknown directive 'bogus'"), e.getMessage());
        e = assertThrows(Failure.class, () -> parse("os linux\narch a b\n"));
        assertTrue(e.getMessage().endsWith(":2: arch NAME JAVA_ARCHES CC [FLAGS]"), e.getMessage());
        e = assertThrows(Failure.class, () -> parse("os linux\n"));
        assertTrue(e.getMessage().endsWith("needs os, package and arch"), e.getMessage());
        e = assertThrows(Failure.class, () -> Spec.parseFunc("func int (broken", "t.spec:9: "));
        assertTrue(e.getMessage().startsWith("t.spec:9: cannot read function prototype"), e.getMessage());
    }

    @Test
    void theCommittedSpecsParse() throws IOException {
        for (String os : List.of("linux", "freebsd", "macos")) {
            Spec s = Spec.parse(Path.of("bindings/spec/" + os + ".spec"));
            assertEquals(os, s.os);
            assertFalse(s.classes.isEmpty(), os);
        }
    }
}
