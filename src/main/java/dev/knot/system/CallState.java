// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * Segments that receive errno from downcalls linked with {@code Linker.Option.captureCallState("errno")}.
 *
 * <p>A capture segment is written by the downcall and read right after it, so it must never be shared between
 * threads that call at the same time. Hot paths (an event loop, a kqueue) allocate one per owner with
 * {@link #allocate(Arena)} and reuse it forever; everything else uses {@link #forThread()}, which hands each
 * thread its own segment, allocated on first use and freed by the GC with the thread.
 */
public final class CallState {
    private CallState() {}

    /** The layout the linker writes: on Linux and the BSDs it holds {@code errno}. */
    public static final StructLayout LAYOUT = Linker.Option.captureStateLayout();

    private static final long ERRNO = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    private static final ThreadLocal<MemorySegment> PER_THREAD =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(LAYOUT));

    /** Allocates a capture segment owned by {@code arena}. */
    public static MemorySegment allocate(Arena arena) {
        return arena.allocate(LAYOUT);
    }

    /** This thread's capture segment; never share it with another thread. */
    public static MemorySegment forThread() {
        return PER_THREAD.get();
    }

    /** The errno the last downcall given {@code state} left there. */
    public static int errno(MemorySegment state) {
        return state.get(ValueLayout.JAVA_INT, ERRNO);
    }
}
