// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.itimerspec;
import dev.knot.bindings.linux.siginfo_t;
import dev.knot.bindings.linux.tcp_info;
import dev.knot.bindings.linux.timespec;
import dev.knot.system.CallState;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The native buffers one kevent call needs: the epoll event array it waits into, argument structs and the errno
 * capture. A kqueue keeps a few of these and lends one to each call in progress, so a call never allocates and
 * concurrent calls never share a buffer.
 */
final class Scratch {
    static final int MAX_EPOLL_EVENTS = 4096;

    private final Arena arena = Arena.ofShared();
    final MemorySegment callState = CallState.allocate(arena);
    final MemorySegment ctlEvent = epoll_event.allocate(arena);
    final MemorySegment timeout = timespec.allocate(arena);
    /** A zero timespec, never written after it is made: the timeout of the polls that must not wait (see Scan). */
    final MemorySegment zeroTimeout = timespec.allocate(arena);
    final long zeroTimeoutAddress = zeroTimeout.address();
    final MemorySegment timerSpec = itimerspec.allocate(arena);
    final MemorySegment clock = timespec.allocate(arena);
    final MemorySegment intArg = arena.allocate(ValueLayout.JAVA_INT);
    final MemorySegment lenArg = arena.allocate(ValueLayout.JAVA_INT);
    /** The addresses of {@link #intArg} and {@link #lenArg}, for the critical downcalls (see Sys). */
    final long intArgAddress = intArg.address(), lenArgAddress = lenArg.address();
    final MemorySegment longArg = arena.allocate(ValueLayout.JAVA_LONG);
    final MemorySegment tcpInfo = tcp_info.allocate(arena);
    final MemorySegment stat = dev.knot.bindings.linux.stat.allocate(arena);
    final MemorySegment siginfo = siginfo_t.allocate(arena);
    final MemorySegment inotifyBuf = arena.allocate(16 * 1024, 8);
    final MemorySegment pollfd = dev.knot.bindings.linux.pollfd.allocate(arena);
    final MemorySegment path = arena.allocate(64);
    MemorySegment events = epoll_event.allocateArray(64, arena);
    int eventCapacity = 64;
    /** Tokens of disabled knotes the kernel reported in this scan, not yet disarmed (see Scan.deliverFd). */
    long[] deferred = new long[64];
    int deferredDisarms;
    /** READ data asked ahead by {@link DataQueries}, by epoll report position; {@link DataQueries#NONE} elsewhere. */
    private long[] inq = new long[0];
    /** The asked-ahead data of the report being evaluated, or {@link DataQueries#NONE}; Scan.processEpoll sets it
     *  before a READ knote's delivery and clears it after, FdFilter reads it. */
    long inqNext = DataQueries.NONE;
    /** Set by the change list while the change it applies may queue its epoll_ctl in this batch. */
    ChangeBatch batch;
    /** The ring holding this call's last batch, between the change pass and the combined wait (Scan.scanCombined). */
    dev.knot.system.Uring ring;
    Scratch next;                       // free-list link, guarded by the kqueue's lock

    /** An epoll event array of at least {@code n} entries (capped at {@link #MAX_EPOLL_EVENTS}). */
    MemorySegment events(int n) {
        if (n > eventCapacity) {
            int cap = Math.min(MAX_EPOLL_EVENTS, Math.max(n, eventCapacity * 2));
            if (cap > eventCapacity) {
                events = epoll_event.allocateArray(cap, arena);
                eventCapacity = cap;
            }
        }
        return events;
    }

    /** {@link #inq} with room for {@code n} reports, every slot {@link DataQueries#NONE}. */
    long[] inq(int n) {
        if (n > inq.length) {
            inq = new long[Math.max(n, Math.min(MAX_EPOLL_EVENTS, inq.length * 2))];
            java.util.Arrays.fill(inq, DataQueries.NONE);
        }
        return inq;
    }

    void deferDisarm(long token) {
        if (deferredDisarms == deferred.length) deferred = java.util.Arrays.copyOf(deferred, deferred.length * 2);
        deferred[deferredDisarms++] = token;
    }

    int errno() {
        return CallState.errno(callState);
    }

    void close() {
        arena.close();
    }
}
