// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import java.lang.foreign.MemorySegment;

/**
 * What a {@link Kqueue} delegates to: the native kqueue(2) of FreeBSD and macOS, or the Linux emulation. Both
 * speak the platform's {@code struct kevent} layout and report errors as {@code -errno}.
 */
sealed interface Backend permits NativeBackend, EmulatedBackend {
    /** kevent(2): the number of events written, or {@code -errno}. */
    int kevent(MemorySegment changes, int nchanges, MemorySegment events, int nevents, long timeoutNanos);

    int fd();

    /** See {@link Kqueue#setReadDataExact}: only the emulation pays for exactness, so only it listens. */
    default void setReadDataExact(boolean exact) {
    }

    /** See {@link Kqueue#isReadDataExact}. */
    default boolean isReadDataExact() {
        return true;
    }

    /** See {@link Kqueue#setWriteDataExact}: as for READ, only the emulation listens. */
    default void setWriteDataExact(boolean exact) {
    }

    /** See {@link Kqueue#isWriteDataExact}. */
    default boolean isWriteDataExact() {
        return true;
    }

    /** See {@link Kqueue#knoteState}: {state, fflags, data, expiry}, or null; only the emulation can. */
    default long[] knoteState(long ident, int filter) {
        throw new UnsupportedOperationException("a native kqueue's knote state is the kernel's: it cannot be exported");
    }

    /** See {@link Kqueue#restoreKnoteState}: 0 or an errno. */
    default int restoreKnoteState(long ident, int filter, int state, int fflags, long data, long expiry) {
        throw new UnsupportedOperationException("a native kqueue's knote state is the kernel's: it cannot be restored");
    }

    /** See {@link Kqueue#kernelChanges}. */
    default long kernelChanges() {
        return -1;
    }

    /** See {@link Kqueue#changelistPath}. */
    default String changelistPath() {
        return "kevent";
    }

    /** See {@link Kqueue#dataQueryPath}. */
    default String dataQueryPath() {
        return "kevent";
    }

    /** Wakes every thread blocked in {@link #kevent}; later calls fail. */
    void wakeAll();

    /** Releases the descriptor and memory. Called once, with no thread inside {@link #kevent}. */
    void close();
}
