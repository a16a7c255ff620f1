// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_SIGNAL;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.EVFILT_USER;
import static dev.knot.kqueue.Kevent.EVFILT_VNODE;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_EOF;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A loop's knotes, serialised for a spawned child to replay: the RE-REGISTER form of the fork path's copying
 * policies. Each entry is a registration and, from version 2 on, the knote's state (see
 * {@link dev.knot.kqueue.KnoteState}): pending, disabled, what it accumulated, a timer's next expiry.
 *
 * <p>Format (little-endian): the magic {@code KNOTSNAP}; u16 version; u16 reserved (0); u32 entry count; u32 the
 * parent's pid; 16 bytes of spawn token; u32 the number of descriptors handed to the child; the entries; and at the
 * end a CRC-32C of everything before it. A version 2 entry is 64 bytes: u64 ident, i16 filter, u16 flags, u32
 * fflags, i64 data, u64 the parent's udata token, i32 the index of the handed descriptor the ident names (-1 if
 * the ident is not a descriptor), u32 state bits ({@link #STATE_CAPTURED} when the state fields mean something,
 * plus {@link #STATE_ACTIVE}, {@link #STATE_DISABLED}, {@link #STATE_EXPIRY}), u32 the state's fflags, u32
 * reserved (0), i64 the state's data, i64 the next expiry (CLOCK_MONOTONIC ns). A version 1 entry is the first 40
 * bytes of that with the state bits 0 (no state): {@link #decode} still reads it. {@link #decode} checks all of it,
 * so a truncated, corrupt or foreign snapshot is refused as a whole before anything is registered.
 */
public final class Snapshot {
    static final byte[] MAGIC = {'K', 'N', 'O', 'T', 'S', 'N', 'A', 'P'};
    /** The format version this class writes; it reads this one and version 1 (registrations without state). */
    public static final int VERSION = 2;
    static final int HEADER = 8 + 2 + 2 + 4 + 4 + 16 + 4;
    static final int ENTRY_V1 = 40;
    static final int ENTRY = 64;
    /** State bit: the entry carries the knote's state (its other state bits and fields are meaningful). */
    public static final int STATE_CAPTURED = 0x100;
    /** State bit: the event was pending in the parent (as {@link dev.knot.kqueue.KnoteState#ACTIVE}). */
    public static final int STATE_ACTIVE = 1;
    /** State bit: the knote was disabled in the parent (as {@link dev.knot.kqueue.KnoteState#DISABLED}). */
    public static final int STATE_DISABLED = 2;
    /** State bit: the entry holds a relative timer's next expiry (as {@link dev.knot.kqueue.KnoteState#EXPIRY}). */
    public static final int STATE_EXPIRY = 4;
    private static final int STATE_BITS = STATE_CAPTURED | STATE_ACTIVE | STATE_DISABLED | STATE_EXPIRY;
    static final int TRAILER = 4;
    /** The most entries a snapshot may hold (a bound for the decoder, far above any real loop). */
    public static final int MAX_ENTRIES = 1 << 20;

    /**
     * One registration.
     *
     * @param ident the knote's ident in the parent (for descriptor knotes, the parent's descriptor number)
     * @param filter the knote's filter
     * @param flags the registration's flags ({@code EV_ADD} plus the stored modes)
     * @param fflags the filter flags
     * @param data the filter data (a timer period, a NOTE_LOWAT mark, ...)
     * @param fdIndex for descriptor knotes, which handed descriptor it is (the child's number is 3 + index); else -1
     * @param token the parent's udata for it, so the child can tell its registrations apart
     * @param state {@link #STATE_CAPTURED} and the other state bits, or 0 for a registration without state
     * @param stateFflags the state's fflags (see {@link dev.knot.kqueue.KnoteState})
     * @param stateData the state's data
     * @param expiry with {@link #STATE_EXPIRY}, a timer's next expiry on CLOCK_MONOTONIC in ns
     */
    public record Entry(long ident, int filter, int flags, int fflags, long data, long token, int fdIndex,
                        int state, int stateFflags, long stateData, long expiry) {
        /**
         * A registration without state (what version 1 carried).
         *
         * @param ident the knote's ident in the parent
         * @param filter the knote's filter
         * @param flags the registration's flags
         * @param fflags the filter flags
         * @param data the filter data
         * @param token the parent's udata for it
         * @param fdIndex which handed descriptor the ident names, or -1
         */
        public Entry(long ident, int filter, int flags, int fflags, long data, long token, int fdIndex) {
            this(ident, filter, flags, fflags, data, token, fdIndex, 0, 0, 0, 0);
        }

        /** {@return true if the entry carries the knote's state} */
        public boolean hasState() {
            return (state & STATE_CAPTURED) != 0;
        }

        /** {@return true for READ, WRITE and VNODE, whose ident is a descriptor} */
        public boolean isFdKnote() {
            return filter == EVFILT_READ || filter == EVFILT_WRITE || filter == EVFILT_VNODE;
        }
    }

    private final int parentPid;
    private final byte[] token;
    private final int handedFds;
    private final List<Entry> entries;

    /**
     * Describes one snapshot.
     *
     * @param parentPid the pid of the process that wrote it
     * @param token the 16-byte spawn token that ties it to one spawn
     * @param handedFds how many descriptors the child is handed
     * @param entries the registrations, copied
     * @throws IllegalArgumentException if the token is not 16 bytes
     */
    public Snapshot(int parentPid, byte[] token, int handedFds, List<Entry> entries) {
        if (token.length != 16) throw new IllegalArgumentException("the spawn token is 16 bytes, not " + token.length);
        this.parentPid = parentPid;
        this.token = token.clone();
        this.handedFds = handedFds;
        this.entries = List.copyOf(entries);
    }

    /** {@return the pid of the process that wrote it} */
    public int parentPid() {
        return parentPid;
    }

    /** {@return a copy of the 16-byte spawn token} */
    public byte[] token() {
        return token.clone();
    }

    /** {@return how many descriptors the child is handed} */
    public int handedFds() {
        return handedFds;
    }

    /** {@return the registrations, unmodifiable} */
    public List<Entry> entries() {
        return entries;
    }

    /** {@return the binary form described in the class comment, in the current {@link #VERSION}} */
    public byte[] encode() {
        return encode(VERSION);
    }

    /** The binary form in {@code version} 1 (state left out) or 2; for compatibility tests. */
    byte[] encode(int version) {
        int size = version == 1 ? ENTRY_V1 : ENTRY;
        ByteBuffer b = ByteBuffer.allocate(HEADER + entries.size() * size + TRAILER).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) version).putShort((short) 0).putInt(entries.size()).putInt(parentPid).put(token).putInt(handedFds);
        for (Entry e : entries) {
            b.putLong(e.ident).putShort((short) e.filter).putShort((short) e.flags).putInt(e.fflags).putLong(e.data)
             .putLong(e.token).putInt(e.fdIndex);
            if (version == 1) {
                b.putInt(0);
            } else {
                b.putInt(e.state).putInt(e.stateFflags).putInt(0).putLong(e.stateData).putLong(e.expiry);
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * Parses and checks a snapshot.
     *
     * @param bytes the binary form, as {@link #encode()} writes it
     * @return the snapshot
     * @throws SnapshotException naming what is wrong: too short, not a snapshot, another version, a length that
     *         does not match the count, a checksum mismatch, an entry with an unknown filter, a flag that has no
     *         place in a registration, or a descriptor index out of range
     */
    public static Snapshot decode(byte[] bytes) throws SnapshotException {
        if (bytes == null || bytes.length < HEADER + TRAILER) {
            throw new SnapshotException("snapshot is truncated: " + (bytes == null ? 0 : bytes.length) + " bytes, a header alone is " + (HEADER + TRAILER));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        if (!Arrays.equals(magic, MAGIC)) throw new SnapshotException("not a Knot snapshot (bad magic)");
        int version = Short.toUnsignedInt(b.getShort());
        if (version != 1 && version != VERSION) {
            throw new SnapshotException("snapshot version " + version + " is not supported (this Knot reads versions 1 and " + VERSION + ")");
        }
        int size = version == 1 ? ENTRY_V1 : ENTRY;
        if (b.getShort() != 0) throw new SnapshotException("snapshot header has non-zero reserved bits");
        long count = Integer.toUnsignedLong(b.getInt());
        if (count > MAX_ENTRIES) throw new SnapshotException("snapshot claims " + count + " entries, more than " + MAX_ENTRIES);
        long expected = HEADER + count * size + TRAILER;
        if (bytes.length != expected) {
            throw new SnapshotException("snapshot is " + (bytes.length < expected ? "truncated" : "too long") + ": " + bytes.length
                    + " bytes for " + count + " entries, expected " + expected);
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - TRAILER);
        int stored = ByteBuffer.wrap(bytes, bytes.length - TRAILER, TRAILER).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if ((int) crc.getValue() != stored) throw new SnapshotException("snapshot is corrupt (checksum mismatch)");
        int pid = b.getInt();
        byte[] token = new byte[16];
        b.get(token);
        int handed = b.getInt();
        if (handed < 0 || handed > 65536) throw new SnapshotException("snapshot hands " + handed + " descriptors");
        List<Entry> entries = new ArrayList<>((int) count);
        for (int i = 0; i < count; i++) {
            long ident = b.getLong();
            int filter = b.getShort();
            int flags = Short.toUnsignedInt(b.getShort());
            int fflags = b.getInt();
            long data = b.getLong();
            long tok = b.getLong();
            int fdIndex = b.getInt();
            int state = b.getInt();
            int stateFflags = 0;
            long stateData = 0, expiry = 0;
            if (version == 1) {
                if (state != 0) throw new SnapshotException("entry " + i + " has non-zero reserved bits");
            } else {
                stateFflags = b.getInt();
                if (b.getInt() != 0) throw new SnapshotException("entry " + i + " has non-zero reserved bits");
                stateData = b.getLong();
                expiry = b.getLong();
                if ((state & ~STATE_BITS) != 0 || (state != 0 && (state & STATE_CAPTURED) == 0)) {
                    throw new SnapshotException("entry " + i + " has unknown state bits 0x" + Integer.toHexString(state));
                }
            }
            Entry e = new Entry(ident, filter, flags, fflags, data, tok, fdIndex, state, stateFflags, stateData, expiry);
            check(e, i, handed);
            entries.add(e);
        }
        return new Snapshot(pid, token, handed, entries);
    }

    private static void check(Entry e, int i, int handed) throws SnapshotException {
        int f = e.filter;
        if (f != EVFILT_READ && f != EVFILT_WRITE && f != EVFILT_TIMER && f != EVFILT_USER && f != EVFILT_PROC
                && f != EVFILT_SIGNAL && f != EVFILT_VNODE) {
            throw new SnapshotException("entry " + i + " has unknown filter " + f);
        }
        if ((e.flags & (EV_DELETE | EV_ERROR | EV_EOF)) != 0) {
            throw new SnapshotException("entry " + i + " has flags 0x" + Integer.toHexString(e.flags) + " that are not a registration");
        }
        if (e.isFdKnote() ? e.fdIndex < 0 || e.fdIndex >= handed : e.fdIndex != -1) {
            throw new SnapshotException("entry " + i + " refers to handed descriptor " + e.fdIndex + " of " + handed);
        }
    }

    @Override
    public String toString() {
        return "Snapshot[parent " + parentPid + ", " + entries.size() + " entries, " + handedFds + " descriptors]";
    }
}
