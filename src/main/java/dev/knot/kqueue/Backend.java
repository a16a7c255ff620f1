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

    /** Wakes every thread blocked in {@link #kevent}; later calls fail. */
    void wakeAll();

    /** Releases the descriptor and memory. Called once, with no thread inside {@link #kevent}. */
    void close();
}
