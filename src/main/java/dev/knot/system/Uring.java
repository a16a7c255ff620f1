// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import static dev.knot.bindings.linux.io_uring_h.IORING_ENTER_GETEVENTS;
import static dev.knot.bindings.linux.io_uring_h.IORING_FEAT_SINGLE_MMAP;
import static dev.knot.bindings.linux.io_uring_h.IORING_OFF_CQ_RING;
import static dev.knot.bindings.linux.io_uring_h.IORING_OFF_SQES;
import static dev.knot.bindings.linux.io_uring_h.IORING_OFF_SQ_RING;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_ASYNC_CANCEL;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_EPOLL_CTL;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_RECV;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_WRITEV;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_EPOLL_WAIT;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_URING_CMD;
import static dev.knot.bindings.linux.io_uring_h.IO_URING_SQE_CMD_OP_OFFSET;
import static dev.knot.bindings.linux.io_uring_h.SOCKET_URING_OP_SIOCINQ;
import static dev.knot.bindings.linux.io_uring_h.SOCKET_URING_OP_SIOCOUTQ;
import static dev.knot.bindings.linux.io_uring_h.IORING_OP_LINK_TIMEOUT;
import static dev.knot.bindings.linux.io_uring_h.IORING_REGISTER_PROBE;
import static dev.knot.bindings.linux.io_uring_h.IORING_SETUP_CLAMP;
import static dev.knot.bindings.linux.io_uring_h.IOSQE_IO_LINK;
import static dev.knot.bindings.linux.io_uring_h.IO_URING_OP_SUPPORTED;
import static dev.knot.bindings.linux.io_uring_h.SYS_io_uring_enter;
import static dev.knot.bindings.linux.io_uring_h.SYS_io_uring_register;
import static dev.knot.bindings.linux.io_uring_h.SYS_io_uring_setup;

import dev.knot.bindings.linux.__kernel_timespec;
import dev.knot.bindings.linux.epoll_event;
import dev.knot.bindings.linux.errno_h;
import dev.knot.bindings.linux.io_cqring_offsets;
import dev.knot.bindings.linux.io_sqring_offsets;
import dev.knot.bindings.linux.io_uring_cqe;
import dev.knot.bindings.linux.io_uring_h;
import dev.knot.bindings.linux.io_uring_params;
import dev.knot.bindings.linux.io_uring_probe;
import dev.knot.bindings.linux.io_uring_probe_op;
import dev.knot.bindings.linux.io_uring_sqe;
import dev.knot.bindings.linux.mman_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.unistd_h;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A small io_uring that carries epoll_ctl calls ({@code IORING_OP_EPOLL_CTL}): a batch of them is queued with
 * {@link #epollCtl}, then {@link #submit} hands the whole batch to the kernel in one {@code io_uring_enter} and
 * waits for every completion, whose result ({@code 0} or an errno) {@link #result} returns by position.
 *
 * <p>Where the kernel has {@code IORING_OP_EPOLL_WAIT} (Linux 6.15; {@link #epollWaitAvailable()}),
 * {@link #submitWithWait} sends the batch and an epoll_wait after it in the same {@code io_uring_enter}: the
 * epoll_ctl calls are linked in a chain that ends in the wait (and, for a timed wait, in an
 * {@code IORING_OP_LINK_TIMEOUT}), so the wait starts only once every call of the batch succeeded; the first one that
 * fails cancels the rest of the chain, the wait included, and the caller learns which calls it must make itself.
 *
 * <p>The same batches carry socket I/O ({@link #writev}, {@link #recv}) and socket queries ({@link #siocinq},
 * {@link #siocoutq}), whose outcomes {@link #bytes} returns.
 *
 * <p>Ownership and threading: one owner opens, uses and closes a ring; it is not thread-safe (the kqueue emulation
 * uses it under its lock). Errors: {@link #open} throws; {@link #submit} never does: an operation the kernel did
 * not take reports {@link #NOT_DONE}, and the caller then makes that call itself.
 */
public final class Uring implements AutoCloseable {
    /** The result of an operation the kernel never took (the ring failed): do it with a plain system call. */
    public static final int NOT_DONE = -1;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT;
    private static final VarHandle U32_VH = U32.varHandle();
    private static final String PROPERTY = "knot.uring";
    private static final String WAIT_PROPERTY = "knot.uring.epollWait";
    private static volatile String unavailable;           // null until probed; "" once io_uring is known to work
    private static volatile String waitUnavailable;       // set with unavailable: "" if the combined wait is used
    // user_data of the operations after a batch's epoll_ctl calls (which carry their position)
    private static final long WAIT_ID = 1L << 32, TIMEOUT_ID = (1L << 32) + 1;
    /** How many epoll events one {@link #submitWithWait} can return. */
    public static final int WAIT_EVENTS = 4096;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment callState = CallState.allocate(arena);
    private final int fd;
    private final int entries;
    private final MemorySegment sqRing, cqRing, sqes, events;
    private final long sqRingSize, cqRingSize, sqesSize;
    private final long sqHead, sqTail, sqMask, sqArray, cqHead, cqTail, cqMask, cqCqes;
    private final int[] results;
    private final int[] raw;                              // each completion's res as the kernel gave it
    private final boolean socketIo;                       // the kernel runs IORING_OP_WRITEV and IORING_OP_RECV
    private final boolean commands;                       // the kernel runs IORING_OP_URING_CMD
    private int pending;
    private int tail;                                     // the SQ tail when the batch began
    private final int mask;
    private final long eventsAddress;
    private long submissions;
    private boolean broken;
    private boolean leaked;
    private int waitResult;
    private boolean waitDone;
    private MemorySegment waitEvents;                      // the wait's buffer: the ring's, so that it outlives any call
    private final MemorySegment waitTimeout;

    private Uring(int fd, MemorySegment p, boolean socketIo, boolean commands) throws ErrnoException {
        this.fd = fd;
        this.socketIo = socketIo;
        this.commands = commands;
        this.entries = io_uring_params.sq_entries(p);
        int cqEntries = io_uring_params.cq_entries(p);
        long so = io_uring_params.sq_off$OFFSET, co = io_uring_params.cq_off$OFFSET;
        sqHead = u32(p, so + io_sqring_offsets.head$OFFSET);
        sqTail = u32(p, so + io_sqring_offsets.tail$OFFSET);
        sqMask = u32(p, so + io_sqring_offsets.ring_mask$OFFSET);
        sqArray = u32(p, so + io_sqring_offsets.array$OFFSET);
        cqHead = u32(p, co + io_cqring_offsets.head$OFFSET);
        cqTail = u32(p, co + io_cqring_offsets.tail$OFFSET);
        cqMask = u32(p, co + io_cqring_offsets.ring_mask$OFFSET);
        cqCqes = u32(p, co + io_cqring_offsets.cqes$OFFSET);
        long sqSize = sqArray + entries * 4L;
        long cqSize = cqCqes + cqEntries * io_uring_cqe.SIZEOF;
        boolean single = (io_uring_params.features(p) & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) sqSize = cqSize = Math.max(sqSize, cqSize);
        sqRingSize = sqSize;
        sqRing = map(sqSize, IORING_OFF_SQ_RING);
        MemorySegment cq = null, s = null;
        try {
            cq = single ? sqRing : map(cqSize, IORING_OFF_CQ_RING);
            s = map(entries * io_uring_sqe.SIZEOF, IORING_OFF_SQES);
        } catch (ErrnoException e) {
            if (cq != null && cq != sqRing) mman_h.munmap(callState, cq, cqSize);
            mman_h.munmap(callState, sqRing, sqSize);
            throw e;
        }
        cqRing = cq;
        cqRingSize = single ? 0 : cqSize;
        sqes = s;
        sqesSize = entries * io_uring_sqe.SIZEOF;
        events = epoll_event.allocateArray(entries, arena);
        eventsAddress = events.address();
        mask = sqRing.get(U32, sqMask);
        results = new int[entries];
        raw = new int[entries];
        waitTimeout = __kernel_timespec.allocate(arena);
    }

    private static long u32(MemorySegment p, long off) {
        return Integer.toUnsignedLong(p.get(U32, off));
    }

    private MemorySegment map(long size, long offset) throws ErrnoException {
        MemorySegment m = mman_h.mmap(callState, MemorySegment.NULL, size, mman_h.PROT_READ | mman_h.PROT_WRITE,
                mman_h.MAP_SHARED | mman_h.MAP_POPULATE, fd, offset);
        if (m.address() == -1L) throw new ErrnoException("mmap(io_uring)", CallState.errno(callState));
        return m.reinterpret(size);
    }

    /**
     * Opens a ring of (at least) {@code entries} submission slots, after checking that this kernel runs epoll_ctl
     * through io_uring.
     *
     * @throws ErrnoException if io_uring is unavailable (ENOSYS, EPERM from {@code kernel.io_uring_disabled} or a
     *     seccomp filter, EINVAL on old kernels), or EOPNOTSUPP if {@code IORING_OP_EPOLL_CTL} is not supported
     */
    public static Uring open(int entries) throws ErrnoException {
        if (entries < 1 || entries > 4096) throw new IllegalArgumentException("io_uring entries out of range: " + entries);
        MemorySegment st = CallState.forThread();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = io_uring_params.allocate(a);
            io_uring_params.flags(p, IORING_SETUP_CLAMP);
            int fd = (int) io_uring_h.syscall(st, SYS_io_uring_setup, entries, p.address(), 0, 0, 0, 0);
            if (fd < 0) throw new ErrnoException("io_uring_setup", CallState.errno(st));
            try {
                MemorySegment probe = probe(fd, a, st);
                if (!supported(probe, IORING_OP_EPOLL_CTL)) throw new ErrnoException("io_uring IORING_OP_EPOLL_CTL", errno_h.EOPNOTSUPP);
                boolean waits = supported(probe, IORING_OP_EPOLL_WAIT) && supported(probe, IORING_OP_LINK_TIMEOUT)
                        && supported(probe, IORING_OP_ASYNC_CANCEL);
                if (waitUnavailable == null) waitUnavailable = waits ? "" : "IORING_OP_EPOLL_WAIT not supported by this kernel";
                return new Uring(fd, p, supported(probe, IORING_OP_WRITEV) && supported(probe, IORING_OP_RECV),
                        supported(probe, IORING_OP_URING_CMD));
            } catch (ErrnoException | RuntimeException e) {
                unistd_h.close(st, fd);
                throw e;
            }
        }
    }

    private static MemorySegment probe(int fd, Arena a, MemorySegment st) throws ErrnoException {
        int ops = 256;
        MemorySegment probe = a.allocate(io_uring_probe.SIZEOF + ops * io_uring_probe_op.SIZEOF, 8);
        long r = io_uring_h.syscall(st, SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe.address(), ops, 0, 0);
        if (r < 0) throw new ErrnoException("io_uring_register(PROBE)", CallState.errno(st));
        return probe;
    }

    private static boolean supported(MemorySegment probe, int opcode) {
        int last = Byte.toUnsignedInt(io_uring_probe.last_op(probe));
        MemorySegment op = probe.asSlice(io_uring_probe.SIZEOF + opcode * io_uring_probe_op.SIZEOF, io_uring_probe_op.SIZEOF);
        return last >= opcode && (io_uring_probe_op.flags(op) & IO_URING_OP_SUPPORTED) != 0;
    }

    /**
     * Whether {@link #submitWithWait} may be used: io_uring is {@link #available()}, the kernel has
     * {@code IORING_OP_EPOLL_WAIT} (probed on the pool's first ring), and neither {@code -Dknot.uring.epollWait=false}
     * nor the environment's {@code KNOT_URING_EPOLL_WAIT=false} (which child processes inherit) turns it off.
     */
    public static boolean epollWaitAvailable() {
        return available() && epollWaitUnavailableReason().isEmpty();
    }

    /** Why the combined wait is not used ("" if it is): the property, the kernel, or io_uring itself. */
    public static String epollWaitUnavailableReason() {
        String u = unavailableReason();
        if (!u.isEmpty()) return u;
        String off = turnedOff(WAIT_PROPERTY, "KNOT_URING_EPOLL_WAIT");
        if (off != null) return off;
        String w = waitUnavailable;
        return w == null ? "not probed" : w;
    }

    /**
     * Whether an io_uring feature is switched off: {@code -Dproperty=false}, or else the environment's
     * {@code variable=false} (which child processes inherit); any other value, or none, leaves it on.
     *
     * @return null if it is on, else the reason, naming the property or the variable that turned it off
     */
    public static String turnedOff(String property, String variable) {
        String p = System.getProperty(property);
        if (p != null) return "false".equalsIgnoreCase(p) ? "disabled by -D" + property + "=false" : null;
        return "false".equalsIgnoreCase(System.getenv(variable)) ? "disabled by " + variable + "=false" : null;
    }

    /**
     * Whether rings can be used here: {@code -Dknot.uring=false} (or the environment's {@code KNOT_URING=false}, which
     * child processes inherit) says no; otherwise the first ring of the pool is
     * opened and probed, once per process. See {@link #unavailableReason()}.
     */
    public static boolean available() {
        return unavailableReason().isEmpty();
    }

    /** Why io_uring is not used ("" if it is): the property, or the call that failed and its errno name. */
    public static String unavailableReason() {
        String u = unavailable;
        if (u != null) return u;
        synchronized (POOL_LOCK) {
            if (unavailable != null) return unavailable;
            u = turnedOff(PROPERTY, "KNOT_URING");
            if (u == null) {
                try {
                    pool[poolSize++] = open(POOL_ENTRIES);
                    opened++;
                    u = "";
                } catch (ErrnoException e) {
                    u = e.getMessage();
                }
            }
            unavailable = u;
            return u;
        }
    }

    // Rings are pooled for the life of the process, never closed: closing one makes the kernel queue task work on
    // every thread that submitted to it, flagged like a signal, and that thread's next blocking epoll_wait would fail
    // with a spurious EINTR. The pool grows to the number of batches submitted at the same time.
    private static final Object POOL_LOCK = new Object();
    private static final int POOL_ENTRIES = 512;
    private static Uring[] pool = new Uring[4];
    private static int poolSize, opened;

    /**
     * Takes a ring of {@value #POOL_ENTRIES} slots from the process's pool (opening one if all are in use), or null if
     * io_uring is not {@link #available()} or no further ring can be opened. Give it back with {@link #release}.
     */
    public static Uring acquire() {
        if (!available()) return null;
        synchronized (POOL_LOCK) {
            if (poolSize > 0) {
                Uring r = pool[--poolSize];
                pool[poolSize] = null;
                return r;
            }
        }
        try {
            Uring r = open(POOL_ENTRIES);
            synchronized (POOL_LOCK) {
                opened++;
            }
            return r;
        } catch (ErrnoException e) {
            return null;                                   // e.g. EMFILE: this batch goes through epoll_ctl
        }
    }

    /** Returns a ring taken with {@link #acquire} (empty: every batch it carried was submitted). */
    public static void release(Uring r) {
        r.pending = 0;                                     // queued but never submitted (an exception): drop them
        if (r.leaked) return;                              // a wait may still write its memory: keep it mapped
        if (r.broken) {
            r.close();
            return;
        }
        synchronized (POOL_LOCK) {
            if (poolSize == pool.length) pool = java.util.Arrays.copyOf(pool, pool.length * 2);
            pool[poolSize++] = r;
        }
    }

    /** How many rings the pool has opened in this process. */
    public static int pooledRings() {
        synchronized (POOL_LOCK) {
            return opened;
        }
    }

    /** How many operations fit in one batch. */
    public int capacity() {
        return entries;
    }

    /** How many operations are queued and not yet submitted. */
    public int pending() {
        return pending;
    }

    /** How many io_uring_enter calls this ring made (for diagnostics and the syscall-count benchmark). */
    public long enterCalls() {
        return submissions;
    }

    /**
     * Queues {@code epoll_ctl(epfd, op, fd, {events, data})} at position {@link #pending()}; the caller keeps the
     * batch within {@link #capacity()}.
     */
    public int epollCtl(int epfd, int op, int fd, int events, long data) {
        int i = pending;
        if (i >= entries) throw new IllegalStateException("io_uring batch full (" + entries + ")");
        long ev = i * epoll_event.SIZEOF;
        this.events.set(epoll_event.events$LAYOUT, ev + epoll_event.events$OFFSET, events);
        this.events.set(epoll_event.data$LAYOUT, ev + epoll_event.data$OFFSET, data);
        return queue(IORING_OP_EPOLL_CTL, epfd, fd, eventsAddress + ev, op, 0);
    }

    /** Whether this kernel runs {@link #writev} and {@link #recv} through the ring. */
    public boolean socketIo() {
        return socketIo;
    }

    /**
     * Queues {@code pwritev2(fd, iov, count, -1, RWF_NOWAIT)} at position {@link #pending()} ({@link #socketIo()} must
     * be true): the kernel does it at submission and never waits, a full buffer comes back as -EAGAIN. (O_NONBLOCK
     * alone does not say that to io_uring, which would otherwise wait for room, holding up the whole submission.)
     * The iovecs and the memory they name must stay valid until {@link #submit} returns.
     */
    public int writev(int fd, long iov, int count) {
        if (pending >= entries) throw new IllegalStateException("io_uring batch full (" + entries + ")");
        // rw_flags shares the sqe's union slot with msg_flags.
        return queue(IORING_OP_WRITEV, fd, -1, iov, count, io_uring_h.RWF_NOWAIT);
    }

    /**
     * Queues {@code recv(fd, address, length, MSG_DONTWAIT)} at position {@link #pending()} ({@link #socketIo()}
     * must be true): no data is -EAGAIN, never a wait. The memory must stay valid until {@link #submit} returns.
     */
    public int recv(int fd, long address, int length) {
        if (pending >= entries) throw new IllegalStateException("io_uring batch full (" + entries + ")");
        return queue(IORING_OP_RECV, fd, 0, address, length, socket_h.MSG_DONTWAIT);
    }

    /**
     * Whether this kernel runs {@code IORING_OP_URING_CMD}, which {@link #siocinq} and {@link #siocoutq} need. The
     * socket commands themselves came in Linux 6.7; an older kernel with URING_CMD answers them -EOPNOTSUPP, as every
     * kernel does for a descriptor whose protocol has no such ioctl (AF_UNIX, pipes, files).
     */
    public boolean socketQueries() {
        return commands;
    }

    /**
     * Queues {@code ioctl(fd, SIOCINQ)} as a socket command at position {@link #pending()} ({@link #socketQueries()}
     * must be true): the bytes waiting to be read on a TCP or UDP socket, answered at submission. {@link #bytes} gives
     * the count, or minus an errno: EOPNOTSUPP where the protocol or the kernel has no such command, EINVAL on a
     * listening socket, EBADF for a closed number.
     */
    public int siocinq(int fd) {
        return command(fd, SOCKET_URING_OP_SIOCINQ);
    }

    /** As {@link #siocinq} for {@code ioctl(fd, SIOCOUTQ)}: the bytes in the socket's send queue. */
    public int siocoutq(int fd) {
        return command(fd, SOCKET_URING_OP_SIOCOUTQ);
    }

    private int command(int fd, int op) {
        if (pending >= entries) throw new IllegalStateException("io_uring batch full (" + entries + ")");
        int i = queue(IORING_OP_URING_CMD, fd, 0, 0, 0, 0);
        // cmd_op is the low half of off's union slot; written as itself so that byte order never matters.
        sqes.set(U32, ((tail + i) & mask) * io_uring_sqe.SIZEOF + IO_URING_SQE_CMD_OP_OFFSET, op);
        return i;
    }

    private int queue(int opcode, int fd, long off, long addr, int len, int msgFlags) {
        int i = pending;
        if (i == 0) tail = (int) U32_VH.getAcquire(sqRing, sqTail);
        int idx = (tail + i) & mask;
        long q = idx * io_uring_sqe.SIZEOF;
        for (long o = 0; o < io_uring_sqe.SIZEOF; o += 8) sqes.set(ValueLayout.JAVA_LONG, q + o, 0L);
        sqes.set(io_uring_sqe.opcode$LAYOUT, q + io_uring_sqe.opcode$OFFSET, (byte) opcode);
        sqes.set(io_uring_sqe.fd$LAYOUT, q + io_uring_sqe.fd$OFFSET, fd);
        sqes.set(io_uring_sqe.off$LAYOUT, q + io_uring_sqe.off$OFFSET, off);
        sqes.set(io_uring_sqe.addr$LAYOUT, q + io_uring_sqe.addr$OFFSET, addr);
        sqes.set(io_uring_sqe.len$LAYOUT, q + io_uring_sqe.len$OFFSET, len);
        sqes.set(io_uring_sqe.msg_flags$LAYOUT, q + io_uring_sqe.msg_flags$OFFSET, msgFlags);
        sqes.set(io_uring_sqe.user_data$LAYOUT, q + io_uring_sqe.user_data$OFFSET, i);
        sqRing.set(U32, sqArray + idx * 4L, idx);
        pending = i + 1;
        return i;
    }


    /**
     * Submits the queued batch in one {@code io_uring_enter} (more only if a signal or a short submission interrupts
     * it) and waits for all of it; afterwards {@link #result} gives each operation's outcome and the ring is empty
     * again. Returns the number of operations in the batch.
     */
    public int submit() {
        int n = pending;
        if (n == 0) return 0;
        pending = 0;
        java.util.Arrays.fill(results, 0, n, NOT_DONE);
        int tail0 = (int) U32_VH.getAcquire(sqRing, sqTail);
        U32_VH.setRelease(sqRing, sqTail, tail0 + n);
        int done = 0;
        // The kernel waits only when it took the whole submission, so asking for all n completions cannot hang.
        for (int tries = 0; done < n && tries < 8; tries++) {
            int toSubmit = n - ((int) U32_VH.getAcquire(sqRing, sqHead) - tail0);
            submissions++;
            long r = io_uring_h.syscall(callState, SYS_io_uring_enter, fd, toSubmit, n - done, IORING_ENTER_GETEVENTS, 0, 0);
            int e = r < 0 ? CallState.errno(callState) : 0;
            done += reap();
            if (r < 0 && e != errno_h.EINTR && e != errno_h.EAGAIN && e != errno_h.EBUSY) break;
        }
        // What the kernel never took stays NOT_DONE; take it back so that the ring is empty for the next batch.
        int consumed = (int) U32_VH.getAcquire(sqRing, sqHead) - tail0;
        if (consumed < n) U32_VH.setRelease(sqRing, sqTail, tail0 + consumed);
        // Completions still owed would land in a later batch under the wrong positions: never reuse this ring.
        if (done < consumed) broken = true;
        return n;
    }

    /**
     * Submits the queued batch followed by {@code epoll_wait(epfd, ..., maxEvents, timeout)} into {@link #waitEvents()}
     * in one {@code io_uring_enter}, and waits until every operation has completed: the wait returned events, its
     * timeout ({@code timeoutNanos >= 0}; negative waits until an event) expired, or an epoll_ctl call failed and
     * cancelled the wait. A signal does not end it: the enter is repeated, and the timeout still counts from the
     * submission. Afterwards {@link #result} gives each epoll_ctl call's outcome ({@link #NOT_DONE} for one cancelled
     * by an earlier failure) and the return value is the number of events, 0 if the wait was cancelled or timed out,
     * or {@code -errno}. The batch plus two must fit in {@link #capacity()} + 2 slots; {@code maxEvents} at most
     * {@link #WAIT_EVENTS}.
     */
    public int submitWithWait(int epfd, int maxEvents, long timeoutNanos) {
        int n = pending;
        java.util.Arrays.fill(results, 0, n, NOT_DONE);
        if (maxEvents < 1 || maxEvents > WAIT_EVENTS) throw new IllegalArgumentException("maxEvents " + maxEvents);
        if (n + 2 > entries) throw new IllegalStateException("io_uring batch too large for a wait (" + n + ")");
        if (waitEvents == null) waitEvents = epoll_event.allocateArray(WAIT_EVENTS, arena);
        if (n == 0) tail = (int) U32_VH.getAcquire(sqRing, sqTail);
        for (int i = 0; i < n; i++) {
            long q = ((tail + i) & mask) * io_uring_sqe.SIZEOF;
            sqes.set(io_uring_sqe.flags$LAYOUT, q + io_uring_sqe.flags$OFFSET, (byte) IOSQE_IO_LINK);
        }
        long q = sqe(n, IORING_OP_EPOLL_WAIT, epfd, WAIT_ID);
        sqes.set(io_uring_sqe.addr$LAYOUT, q + io_uring_sqe.addr$OFFSET, waitEvents.address());
        sqes.set(io_uring_sqe.len$LAYOUT, q + io_uring_sqe.len$OFFSET, maxEvents);
        int total = n + 1;
        if (timeoutNanos >= 0) {
            sqes.set(io_uring_sqe.flags$LAYOUT, q + io_uring_sqe.flags$OFFSET, (byte) IOSQE_IO_LINK);
            __kernel_timespec.tv_sec(waitTimeout, timeoutNanos / 1_000_000_000L);
            __kernel_timespec.tv_nsec(waitTimeout, timeoutNanos % 1_000_000_000L);
            long t = sqe(total++, IORING_OP_LINK_TIMEOUT, -1, TIMEOUT_ID);
            sqes.set(io_uring_sqe.addr$LAYOUT, t + io_uring_sqe.addr$OFFSET, waitTimeout.address());
            sqes.set(io_uring_sqe.len$LAYOUT, t + io_uring_sqe.len$OFFSET, 1);
        }
        pending = 0;
        waitDone = false;
        waitResult = -errno_h.ECANCELED;
        int tail0 = tail;
        U32_VH.setRelease(sqRing, sqTail, tail0 + total);
        int done = 0;
        for (int tries = 0; done < total && tries < 8; ) {
            int toSubmit = total - ((int) U32_VH.getAcquire(sqRing, sqHead) - tail0);
            submissions++;
            long r = io_uring_h.syscall(callState, SYS_io_uring_enter, fd, toSubmit, total - done, IORING_ENTER_GETEVENTS, 0, 0);
            int e = r < 0 ? CallState.errno(callState) : 0;
            done += reap();
            // EINTR: a signal, not a failure; the wait is still owed and the chain may still run, so wait on.
            if (r < 0 && e != errno_h.EINTR) {
                tries++;
                if (e != errno_h.EAGAIN && e != errno_h.EBUSY) break;
            }
        }
        int consumed = (int) U32_VH.getAcquire(sqRing, sqHead) - tail0;
        if (consumed < total) U32_VH.setRelease(sqRing, sqTail, tail0 + consumed);
        if (done < consumed && !waitDone && consumed > n) {
            // io_uring_enter failed for good with the wait pending: cancel it, so that it takes no events that
            // nobody would read. The cancel of a pending wait completes within the submission.
            int t1 = (int) U32_VH.getAcquire(sqRing, sqTail);
            tail = t1;
            long c = sqe(0, IORING_OP_ASYNC_CANCEL, -1, TIMEOUT_ID + 1);
            sqes.set(io_uring_sqe.addr$LAYOUT, c + io_uring_sqe.addr$OFFSET, WAIT_ID);
            U32_VH.setRelease(sqRing, sqTail, t1 + 1);
            consumed++;
            for (int tries = 0; tries < 8 && done < consumed; tries++) {
                submissions++;
                long r = io_uring_h.syscall(callState, SYS_io_uring_enter, fd, tries == 0 ? 1 : 0, consumed - done, IORING_ENTER_GETEVENTS, 0, 0);
                done += reap();
                if (r < 0 && CallState.errno(callState) != errno_h.EINTR) break;
            }
        }
        if (done < consumed) {
            // The kernel still owes completions, the wait perhaps among them, and may still write waitEvents:
            // never reuse this ring, and never unmap it or free its memory (see release).
            broken = true;
            leaked = true;
            return -errno_h.EIO;
        }
        if (!waitDone) return consumed > n ? -errno_h.EIO : 0;
        int w = waitResult;
        return w >= 0 ? w : w == -errno_h.ECANCELED ? 0 : w;
    }

    /** The events of the last {@link #submitWithWait}: {@code epoll_event[WAIT_EVENTS]}, owned by this ring. */
    public MemorySegment waitEvents() {
        return waitEvents;
    }

    /** Zeroes submission slot {@code i} of the batch and sets its opcode, fd and user_data; returns its offset. */
    private long sqe(int i, int opcode, int fd, long userData) {
        int idx = (tail + i) & mask;
        long q = idx * io_uring_sqe.SIZEOF;
        for (long o = 0; o < io_uring_sqe.SIZEOF; o += 8) sqes.set(ValueLayout.JAVA_LONG, q + o, 0L);
        sqes.set(io_uring_sqe.opcode$LAYOUT, q + io_uring_sqe.opcode$OFFSET, (byte) opcode);
        sqes.set(io_uring_sqe.fd$LAYOUT, q + io_uring_sqe.fd$OFFSET, fd);
        sqes.set(io_uring_sqe.user_data$LAYOUT, q + io_uring_sqe.user_data$OFFSET, userData);
        sqRing.set(U32, sqArray + idx * 4L, idx);
        return q;
    }

    private int reap() {
        int head = (int) U32_VH.getAcquire(cqRing, cqHead);
        int tail = (int) U32_VH.getAcquire(cqRing, cqTail);
        int mask = cqRing.get(U32, cqMask);
        int count = 0;
        for (; head != tail; head++, count++) {
            long c = cqCqes + (long) (head & mask) * io_uring_cqe.SIZEOF;
            long id = cqRing.get(ValueLayout.JAVA_LONG, c + io_uring_cqe.user_data$OFFSET);
            int res = cqRing.get(U32, c + io_uring_cqe.res$OFFSET);
            if (id == WAIT_ID) {
                waitResult = res;
                waitDone = true;
            } else if (id >= 0 && id < results.length) {
                int i = (int) id;
                // ECANCELED: an earlier call of the linked chain failed and the kernel never made this one.
                results[i] = res >= 0 ? 0 : res == -errno_h.ECANCELED ? NOT_DONE : -res;
                raw[i] = res;
            }
        }
        U32_VH.setRelease(cqRing, cqHead, head);
        return count;
    }

    /** The outcome of operation {@code i} of the last {@link #submit}: 0, an errno, or {@link #NOT_DONE}. */
    public int result(int i) {
        return results[i];
    }

    /**
     * What operation {@code i} of the last {@link #submit} returned: bytes transferred (0 at a recv's end of stream),
     * or minus an errno; {@link Integer#MIN_VALUE} if the kernel never took it (then make the call directly).
     */
    public int bytes(int i) {
        return results[i] == NOT_DONE ? Integer.MIN_VALUE : raw[i];
    }

    /**
     * Unmaps the rings and closes the ring's descriptor. Never for a pooled ring; note that threads that submitted to
     * this ring may see one spurious EINTR from their next blocking system call (see the pool).
     */
    @Override
    public void close() {
        mman_h.munmap(callState, sqes, sqesSize);
        if (cqRingSize != 0) mman_h.munmap(callState, cqRing, cqRingSize);
        mman_h.munmap(callState, sqRing, sqRingSize);
        unistd_h.close(callState, fd);
        arena.close();
    }
}
