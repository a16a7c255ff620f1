// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import static dev.knot.kqueue.Kevent.EVFILT_VNODE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_CLEAR;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_DISPATCH;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_KEEPUDATA;
import static dev.knot.kqueue.Kevent.EV_ONESHOT;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;
import static dev.knot.kqueue.Kevent.NOTE_ATTRIB;
import static dev.knot.kqueue.Kevent.NOTE_DELETE;
import static dev.knot.kqueue.Kevent.NOTE_EXTEND;
import static dev.knot.kqueue.Kevent.NOTE_LINK;
import static dev.knot.kqueue.Kevent.NOTE_RENAME;
import static dev.knot.kqueue.Kevent.NOTE_WRITE;
import static dev.knot.testing.Kq.assertEv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.testing.Kq;
import dev.knot.testing.KqueueTest;
import dev.knot.testing.Posix;
import dev.knot.testing.TrackedFds;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * EVFILT_VNODE (FreeBSD filt_vfsvnode and the vop_*_post hints, kqueue-facts.md 5.4, freebsd-kevent-semantics.md 4.4,
 * FreeBSD and libkqueue vnode.c): the knote follows the descriptor; when any requested bit is in a hint the whole
 * hint is reported (NOTE_WRITE|NOTE_EXTEND for an append); fflags accumulate until delivered with EV_CLEAR or
 * EV_ONESHOT; pipes and sockets are EINVAL. The emulation rebuilds the hints from inotify.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
@KqueueTest
class VnodeFilterTest {
    static final long U = 0x7E57L;
    @TempDir
    Path dir;
    Path file;
    int fd;
    Kq kq;
    @RegisterExtension final TrackedFds fds = new TrackedFds();
    int touches;

    @BeforeEach
    void open() throws Exception {
        file = Files.writeString(dir.resolve("kqueue-test.tmp"), "x");
        fd = Posix.open(file.toString(), fcntl_h.O_RDONLY);
        fds.add(fd);
    }

    void touch(Path p) throws Exception {
        Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000_000_000L + 1000L * ++touches));
    }

    void append(Path p, String s) throws Exception {
        Files.writeString(p, s, StandardOpenOption.APPEND);
    }

    void chmod(Path p) throws Exception {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(++touches % 2 == 0 ? "rw-------" : "rw-r-----"));
    }

    @Test
    void appendReportsWriteAndExtendEvenIfOnlyWriteWasAsked() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_WRITE, 0, U);
        kq.assertNoEvents();
        append(file, "hello\n");
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_WRITE | NOTE_EXTEND, 0, U);
        kq.assertNoEvents();
    }

    @Test
    void inPlaceWriteIsWriteWithoutExtend() throws Exception {
        int w = Posix.open(file.toString(), fcntl_h.O_WRONLY);
        fds.add(w);
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_WRITE | NOTE_EXTEND, 0, U);
        Posix.write(w, "y");
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_WRITE, 0, U);
    }

    @Test
    void extendAloneIsReportedForAGrowingFile() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_EXTEND, 0, U);
        append(file, "z");
        Kq.Ev e = kq.one();
        assertEquals(NOTE_EXTEND, e.fflags() & NOTE_EXTEND, e.toString());
    }

    @Test
    void touchIsAttrib() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, U);
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_ATTRIB, 0, U);
    }

    @Test
    void chmodIsAttrib() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB | NOTE_WRITE | NOTE_DELETE, 0, U);
        chmod(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_ATTRIB, 0, U);
    }

    @Test
    void renameIsRenameAndTheKnoteFollowsTheFile() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_RENAME | NOTE_ATTRIB, 0, U);
        Path moved = dir.resolve("moved");
        Files.move(file, moved);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR, NOTE_RENAME, 0, U);
        touch(moved);                                                  // keyed by the descriptor, not the path
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR, NOTE_ATTRIB, 0, U);
    }

    @Test
    void unlinkOfAnOpenFileIsDelete() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_DELETE, 0, U);
        Files.delete(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_DELETE, 0, U);
    }

    @Test
    void anUnlinkedFileIsStillWatchedThroughItsDescriptor() throws Exception {
        int w = Posix.open(file.toString(), fcntl_h.O_WRONLY | fcntl_h.O_APPEND);
        fds.add(w);
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, U);
        Files.delete(file);
        kq.assertNoEvents();                                           // DELETE was not asked for
        Posix.write(w, "more");
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR, NOTE_WRITE | NOTE_EXTEND, 0, U);
    }

    @Test
    void renameOverAWatchedFileIsDeleteForTheReplacedFile() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_DELETE, 0, U);
        Path src = Files.writeString(dir.resolve("src"), "new");
        Files.move(src, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_DELETE, 0, U);
    }

    @Test
    void hardLinkIsLink() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_LINK, 0, U);
        Files.createLink(dir.resolve("link"), file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR, NOTE_LINK, 0, U);
    }

    @Test
    void creatingAndRemovingEntriesIsWriteOnTheDirectory() throws Exception {
        int d = Posix.open(dir.toString(), fcntl_h.O_RDONLY);
        fds.add(d);
        kq.add(d, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, U);
        Path child = Files.writeString(dir.resolve("child"), "c");
        Kq.Ev e = kq.one();
        assertEquals(NOTE_WRITE, e.fflags() & NOTE_WRITE, e.toString());
        kq.poll();
        Files.delete(child);
        e = kq.one();
        assertEquals(NOTE_WRITE, e.fflags() & NOTE_WRITE, e.toString());
    }

    @Test
    void mkdirInAWatchedDirectoryIsWriteAndLink() throws Exception {
        // vop_mkdir_post: NOTE_WRITE|NOTE_LINK on the parent; the whole hint is reported.
        int d = Posix.open(dir.toString(), fcntl_h.O_RDONLY);
        fds.add(d);
        kq.add(d, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_LINK, 0, U);
        Files.createDirectory(dir.resolve("sub"));
        assertEv(kq.one(), d, EVFILT_VNODE, EV_ONESHOT, NOTE_WRITE | NOTE_LINK, 0, U);
    }

    @Test
    void rmdirOfASubdirectoryIsWriteAndLinkOnTheParent() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        int d = Posix.open(dir.toString(), fcntl_h.O_RDONLY);
        fds.add(d);
        kq.add(d, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_LINK, 0, U);
        Files.delete(sub);
        assertEv(kq.one(), d, EVFILT_VNODE, EV_ONESHOT, NOTE_WRITE | NOTE_LINK, 0, U);
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: EVFILT_VNODE): inotify tells a directory held open nothing of its removal until its last close")
    void rmdirOfAWatchedDirectoryIsDelete() throws Exception {
        // vop_rmdir_post: NOTE_DELETE on the removed directory (and WRITE|LINK on its parent).
        Path sub = Files.createDirectory(dir.resolve("gone"));
        int d = Posix.open(sub.toString(), fcntl_h.O_RDONLY);
        fds.add(d);
        kq.add(d, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_DELETE, 0, U);
        Files.delete(sub);
        Kq.Ev e = kq.one();
        assertEquals(NOTE_DELETE, e.fflags() & NOTE_DELETE, e.toString());
    }

    @Test
    void renameOfAnEntryIsExtendOnTheDirectory() throws Exception {
        // kqueue.2: NOTE_EXTEND on a directory reports entries added or removed by rename.
        Path a = Files.writeString(dir.resolve("a"), "a");
        int d = Posix.open(dir.toString(), fcntl_h.O_RDONLY);
        fds.add(d);
        kq.add(d, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_EXTEND, 0, U);
        Files.move(a, dir.resolve("b"));
        Kq.Ev e = kq.one();
        assertEquals(NOTE_EXTEND, e.fflags() & NOTE_EXTEND, e.toString());
    }

    @Test
    void truncationIsAttrib() throws Exception {
        // vn_truncate -> VOP_SETATTR -> NOTE_ATTRIB.
        append(file, "0123456789");
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, U);
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(1);
        }
        Kq.Ev e = kq.one();
        assertEquals(NOTE_ATTRIB, e.fflags() & NOTE_ATTRIB, e.toString());
    }

    @Test
    @Disabled("DEVIATION (docs/emulation.md: EVFILT_VNODE): inotify reports a truncation as IN_MODIFY without the sizes in between, so a shrink that does not end below the size before the write is not seen as one")
    void aTruncationAfterAWriteInOneBatchIsStillAttrib() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, U);
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap("abcdef".getBytes()), 1);   // grows the file: WRITE|EXTEND
            ch.truncate(2);                                              // setattr: ATTRIB
        }
        Kq.Ev e = kq.one();
        assertEquals(NOTE_ATTRIB, e.fflags() & NOTE_ATTRIB, e.toString());
    }

    @Test
    void openReadAndCloseNotesAreReportedWhenAsked() throws Exception {
        // FreeBSD's NOTE_OPEN, NOTE_READ, NOTE_CLOSE (a descriptor without write access closed) and NOTE_CLOSE_WRITE.
        int notes = Kevent.NOTE_OPEN | Kevent.NOTE_READ | Kevent.NOTE_CLOSE | Kevent.NOTE_CLOSE_WRITE;
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, notes, 0, U);
        int r = Posix.open(file.toString(), fcntl_h.O_RDONLY);
        Posix.read(r, 1);
        Posix.rawClose(r);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_CLEAR, Kevent.NOTE_OPEN | Kevent.NOTE_READ | Kevent.NOTE_CLOSE, 0, U)), kq.poll());
        int w = Posix.open(file.toString(), fcntl_h.O_WRONLY);
        Posix.rawClose(w);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_CLEAR, Kevent.NOTE_OPEN | Kevent.NOTE_CLOSE_WRITE, 0, U)), kq.poll());
    }

    @Test
    void openAndCloseAreNotReportedUnlessAsked() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_ATTRIB | NOTE_WRITE | NOTE_DELETE | NOTE_RENAME | NOTE_LINK | NOTE_EXTEND, 0, U);
        int r = Posix.open(file.toString(), fcntl_h.O_RDONLY);
        Posix.read(r, 1);
        Posix.rawClose(r);
        kq.assertNoEvents();
    }

    @Test
    void pipesAndSocketsAreEinval() throws Exception {
        int[] p = Posix.pipe();
        int[] sp = Posix.socketpair();
        for (int f : new int[] {p[0], p[1], sp[0], sp[1]}) fds.add(f);
        assertEquals(errno_h.EINVAL, kq.errnoOf(p[0], EVFILT_VNODE, EV_ADD, NOTE_WRITE, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(p[1], EVFILT_VNODE, EV_ADD, NOTE_WRITE, 0));
        assertEquals(errno_h.EINVAL, kq.errnoOf(sp[0], EVFILT_VNODE, EV_ADD, NOTE_WRITE, 0));
        List<Kq.Ev> r = kq.change(sp[1], EVFILT_VNODE, EV_ADD, NOTE_WRITE, 0, U);
        assertEquals(List.of(new Kq.Ev(sp[1], EVFILT_VNODE, EV_ERROR, 0, errno_h.EINVAL, U)), r);
    }

    @Test
    void clearAccumulatesEverythingUntilDeliveryThenStartsAfresh() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_ATTRIB | NOTE_WRITE, 0, U);
        chmod(file);
        append(file, "more");
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_CLEAR, NOTE_ATTRIB | NOTE_WRITE | NOTE_EXTEND, 0, U)), kq.poll());
        kq.assertNoEvents();
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR, NOTE_ATTRIB, 0, U);
    }

    @Test
    void clearAccumulatesEventsRetrievedSeparately() throws Exception {
        // The same accumulation, with the two changes read by the emulation in separate batches.
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_ATTRIB | NOTE_WRITE, 0, U);
        chmod(file);
        // A disabled knote still accumulates; the scan of a poll makes the emulation read inotify now.
        kq.add(fd, EVFILT_VNODE, EV_DISABLE, NOTE_ATTRIB | NOTE_WRITE, 0, U);
        kq.assertNoEvents();
        append(file, "more");
        kq.assertNoEvents();
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, NOTE_ATTRIB | NOTE_WRITE, 0, U);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_CLEAR, NOTE_ATTRIB | NOTE_WRITE | NOTE_EXTEND, 0, U)), kq.poll());
        kq.assertNoEvents();
    }

    @Test
    void aLevelVnodeKnoteKeepsItsFflagsAndFiresOnEveryCall() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_ATTRIB | NOTE_WRITE, 0, U);
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, 0, NOTE_ATTRIB, 0, U);
        assertEv(kq.one(), fd, EVFILT_VNODE, 0, NOTE_ATTRIB, 0, U);
        append(file, "w");
        assertEv(kq.one(), fd, EVFILT_VNODE, 0, NOTE_ATTRIB | NOTE_WRITE | NOTE_EXTEND, 0, U);
    }

    @Test
    void disabledKnoteReportsNothingAndEnableReportsAgain() throws Exception {
        // FreeBSD vnode.c "EV_DISABLE and EV_ENABLE" (the same fflags are passed with every change).
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, U);
        kq.add(fd, EVFILT_VNODE, EV_DISABLE, NOTE_ATTRIB, 0, U);
        touch(file);
        kq.assertNoEvents();
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, NOTE_ATTRIB, 0, U);
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_ATTRIB, 0, U);
    }

    @Test
    void dispatchDisablesAfterDeliveryAndWithoutClearKeepsTheFflags() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_DISPATCH, NOTE_ATTRIB, 0, U);
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_DISPATCH, NOTE_ATTRIB, 0, U);
        touch(file);
        kq.assertNoEvents();
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, NOTE_ATTRIB, 0, U);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_DISPATCH, NOTE_ATTRIB, 0, U);
        kq.assertNoEvents();
        // EV_DISPATCH without EV_CLEAR does not reset fflags: enabling re-delivers them at once.
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, NOTE_ATTRIB, 0, U);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_DISPATCH, NOTE_ATTRIB, 0, U);
        kq.add(fd, EVFILT_VNODE, EV_DELETE);
    }

    @Test
    void aBareDisableAndEnableClearTheNoteMask() throws Exception {
        // Every modify overwrites sfflags: EV_DISABLE/EV_ENABLE with fflags 0 leave a knote that asks for nothing.
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_ATTRIB, 0, U);
        kq.add(fd, EVFILT_VNODE, EV_DISABLE, 0, 0, U);
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, 0, 0, U);
        touch(file);
        kq.assertNoEvents();
    }

    @Test
    void addReplacesTheNoteMask() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_ATTRIB, 0, U);
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_DELETE, 0, U);
        touch(file);
        kq.assertNoEvents();
    }

    @Test
    void deleteStopsEventsAndMissingKnotesAreEnoent() throws Exception {
        assertEquals(errno_h.ENOENT, kq.errnoOf(fd, EVFILT_VNODE, EV_DELETE, 0, 0));
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_ATTRIB, 0, U);
        touch(file);
        kq.add(fd, EVFILT_VNODE, EV_DELETE);
        kq.assertNoEvents();
        touch(file);
        kq.assertNoEvents();
    }

    @Test
    void receiptAndKeepudata() throws Exception {
        List<Kq.Ev> r = kq.change(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR | EV_RECEIPT, NOTE_ATTRIB, 0, 1);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_ERROR, 0, 0, 1)), r);
        kq.add(fd, EVFILT_VNODE, EV_ENABLE | EV_KEEPUDATA, NOTE_ATTRIB, 0, 2);
        assertEquals(errno_h.EINVAL, kq.errnoOf(fd, EVFILT_VNODE, EV_ADD | EV_KEEPUDATA, NOTE_ATTRIB, 0));
        touch(file);
        assertEv(kq.one(), fd, EVFILT_VNODE, EV_CLEAR | EV_RECEIPT, NOTE_ATTRIB, 0, 1);
        kq.add(fd, EVFILT_VNODE, EV_ENABLE, NOTE_ATTRIB, 0, 3);
        touch(file);
        assertEquals(3, kq.one().udata());
    }

    @Test
    void twoKqueuesWatchingOneFileBothFire() throws Exception {
        try (Kq other = new Kq()) {
            kq.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, 1);
            other.add(fd, EVFILT_VNODE, EV_ADD | EV_ONESHOT, NOTE_ATTRIB, 0, 2);
            touch(file);
            assertEv(kq.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_ATTRIB, 0, 1);
            assertEv(other.one(), fd, EVFILT_VNODE, EV_ONESHOT, NOTE_ATTRIB, 0, 2);
        }
    }

    @Test
    void twoDescriptorsOfOneFileHaveIndependentKnotes() throws Exception {
        int fd2 = Posix.open(file.toString(), fcntl_h.O_RDONLY);
        fds.add(fd2);
        kq.add(fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_ATTRIB, 0, 1);
        kq.add(fd2, EVFILT_VNODE, EV_ADD | EV_CLEAR, NOTE_WRITE, 0, 2);
        touch(file);
        assertEquals(List.of(new Kq.Ev(fd, EVFILT_VNODE, EV_CLEAR, NOTE_ATTRIB, 0, 1)), kq.poll());
        kq.add(fd, EVFILT_VNODE, EV_DELETE);
        append(file, "w");
        assertEquals(List.of(new Kq.Ev(fd2, EVFILT_VNODE, EV_CLEAR, NOTE_WRITE | NOTE_EXTEND, 0, 2)), kq.poll());
    }

    @Test
    void closingTheDescriptorDropsTheKnote() throws Exception {
        kq.add(fd, EVFILT_VNODE, EV_ADD, NOTE_ATTRIB, 0, U);
        dev.knot.system.Fds.close(fd);
        fds.forget(fd);
        touch(file);
        kq.assertNoEvents();
        assertEquals(errno_h.EBADF, kq.errnoOf(fd, EVFILT_VNODE, EV_DELETE, 0, 0));
        assertTrue(kq.kq.isOpen());
    }
}
