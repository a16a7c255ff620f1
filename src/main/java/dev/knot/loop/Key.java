// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_ENABLE;
import static dev.knot.kqueue.Kevent.NOTE_LOWAT;

import dev.knot.kqueue.Kqueue;
import dev.knot.system.Fds;

/**
 * A descriptor registered with a {@link Selector}: its interest, its attachment, and what the last select found.
 *
 * <p>{@link #readyOps()} combines {@link Selector#OP_READ} and {@link Selector#OP_WRITE} with {@link #READ_EOF}
 * (the peer will send no more: drain, then close), {@link #WRITE_EOF} (the peer will take no more) and
 * {@link #ERROR} (registering failed; see {@link #errno()}). EOF is not an error: data may still be buffered, and
 * {@link #socketError()} holds the socket error that came with it, if any.
 *
 * <p><b>Lifecycle:</b> a key is one registration. Once {@link #cancel() cancelled} (or its selector closed) it is
 * invalid forever: {@link #isValid()} is false, {@link #attachment()} is null, {@link #interest(int)} and
 * {@link #attach} throw {@link IllegalStateException}, and {@link #cancel()}, {@link #cancelForClose()} and
 * {@link #clearReady()} do nothing. A later registration that takes the same slot in the selector gets a new key
 * and a new token, so a stale key can never change another registration.
 *
 * <p><b>Threading:</b> as its selector's: the methods that change a key ({@link #interest(int)}, {@link #attach},
 * {@link #cancel()}, {@link #clearReady()}) throw {@link IllegalStateException} on a thread other than the
 * selector's owner (see {@link Selector}); the getters only read fields.
 */
public final class Key {
    /** Readiness flag: EV_EOF on the read filter. */
    public static final int READ_EOF = 0x100;
    /** Readiness flag: EV_EOF on the write filter. */
    public static final int WRITE_EOF = 0x200;
    /** Readiness flag: a change for this key failed; {@link #errno()} says why. */
    public static final int ERROR = 0x400;

    static final int NONE = 0, ON = 1, OFF = 2, EOF_ONLY = 3;

    /**
     * The low-water mark of an EOF-only READ knote: more than any receive buffer holds, so only EOF (or a socket
     * error) makes filt_soread true. Kept within 31 bits, since kernels compare it with an int byte count.
     */
    static final long EOF_ONLY_LOWAT = Integer.MAX_VALUE;

    // A watched knote (Selector.watch) rather than a descriptor's readiness.
    private boolean knote;
    private long ident;
    private int filter, knoteFlags, knoteFflags;
    private long knoteData;
    private int eventFlags, eventFflags;
    private long eventData;
    boolean finished;                            // the kernel dropped the knote with its last event

    private final Selector selector;
    long token;                                  // slot and generation, as the kernel's udata; set once, by register
    boolean valid = true;
    private int fd;
    private Object attachment;
    private int interest;
    private int readState, writeState;           // what the kernel has: NONE, ON (enabled), OFF (disabled), EOF_ONLY
    private boolean readLowat;                   // the kernel's READ knote carries the EOF-only NOTE_LOWAT
    private boolean eofWatch;                    // watchReadEof: an EOF-only READ knote while OP_READ is off
    private boolean eofWatchDropped;             // the kernel capped the watch's mark (macOS): off until OP_READ
    private boolean queued;                      // in the selector's updated list
    int readyOps;
    long readyRound;
    long readData, writeData;
    int socketError;
    private int errno;
    private boolean copyOnFork = true;

    Key(Selector selector, int fd, Object attachment) {
        this.selector = selector;
        this.fd = fd;
        this.attachment = attachment;
    }

    void initKnote(long ident, int filter, int flags, int fflags, long data) {
        this.knote = true;
        this.ident = ident;
        this.filter = filter;
        this.knoteFlags = flags;
        this.knoteFflags = fflags;
        this.knoteData = data;
    }

    void event(int flags, int fflags, long data) {
        readyOps |= Selector.OP_EVENT;
        eventFlags = flags;
        eventFflags = fflags;
        eventData = data;
        if ((flags & dev.knot.kqueue.Kevent.EV_ONESHOT) != 0) finished = true;
    }

    /** {@return the registered descriptor, or -1 for a watched knote} */
    public int fd() {
        return fd;
    }

    /** {@return true for a knote watched with {@link Selector#watch}, false for a descriptor's readiness} */
    public boolean isKnote() {
        return knote;
    }

    /** {@return a watched knote's ident (or the descriptor of a registered one)} */
    public long ident() {
        return knote ? ident : fd;
    }

    /** {@return a watched knote's filter} */
    public int filter() {
        return filter;
    }

    /** {@return a watched knote's flags as registered (EV_CLEAR, EV_ONESHOT...), and its fflags and data} */
    public int knoteFlags() {
        return knoteFlags;
    }

    /** {@return a watched knote's filter flags as registered} */
    public int knoteFflags() {
        return knoteFflags;
    }

    /** {@return a watched knote's data as registered (a timer period, ...)} */
    public long knoteData() {
        return knoteData;
    }

    /** {@return the last event of a watched knote: its flags (EV_EOF...), fflags (NOTE_EXIT...) and data (a count, a status)} */
    public int eventFlags() {
        return eventFlags;
    }

    /** {@return the filter flags of a watched knote's last event (NOTE_EXIT...)} */
    public int eventFflags() {
        return eventFflags;
    }

    /** {@return the data of a watched knote's last event (a count, a wait status...)} */
    public long eventData() {
        return eventData;
    }

    /** {@return the READ/WRITE knotes this key has in the kernel: bit OP_READ/OP_WRITE set when added and enabled} */
    public int kernelInterest() {
        return (readState == ON ? Selector.OP_READ : 0) | (writeState == ON ? Selector.OP_WRITE : 0);
    }

    /** {@return the attachment given at registration} */
    public Object attachment() {
        return attachment;
    }

    /**
     * Replaces the attachment.
     *
     * @param attachment the new attachment
     * @return the previous one
     * @throws IllegalStateException if the key was cancelled, or off the selector's thread
     */
    public Object attach(Object attachment) {
        ensureValid();
        Object old = this.attachment;
        this.attachment = attachment;
        return old;
    }

    /** {@return the current interest: {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}} */
    public int interest() {
        return interest;
    }

    /**
     * Sets the interest. Nothing is sent to the kernel now: the net change joins the changelist of the next select.
     *
     * @param ops {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}, or 0
     * @return this key
     * @throws IllegalStateException if the key was cancelled, or off the selector's thread
     */
    public Key interest(int ops) {
        ensureValid();
        if (knote) throw new IllegalStateException("a watched knote has no interest; cancel it or watch it again");
        Selector.checkInterest(ops);
        if (ops != interest) {
            if ((ops & Selector.OP_READ) != 0) eofWatchDropped = false;
            interest = ops;
            queue();
        }
        return this;
    }

    /**
     * Adds {@code ops} to the interest.
     *
     * @param ops {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}
     * @return this key, for chaining
     */
    public Key interestOr(int ops) {
        return interest(interest | ops);
    }

    /**
     * Removes {@code ops} from the interest.
     *
     * @param ops {@link Selector#OP_READ} and/or {@link Selector#OP_WRITE}
     * @return this key, for chaining
     */
    public Key interestAnd(int ops) {
        return interest(interest & ops);
    }

    /**
     * Keeps watching for the end of the peer's data while {@link Selector#OP_READ} is off: the READ knote then stays
     * enabled with a NOTE_LOWAT mark beyond any receive buffer, so it fires only at EOF (the peer's FIN or a reset),
     * and the key becomes ready with {@link Selector#OP_READ} and {@link #READ_EOF}. Data arriving while reading is
     * off wakes nobody. This is what epoll users get from EPOLLRDHUP. While {@code OP_READ} is on the READ knote is
     * the plain level-triggered one. Where the kernel caps the mark at the buffer's size (macOS) a full buffer would
     * trigger the watch: such an event is not reported, and the watch is dropped until {@code OP_READ} is next set.
     * Not carried into a forked child's snapshot. The change joins the next select's changelist.
     *
     * @param watch true to watch for EOF while reading is off
     * @return this key
     * @throws IllegalStateException if the key was cancelled, is a watched knote, or off the selector's thread
     */
    public Key watchReadEof(boolean watch) {
        ensureValid();
        if (knote) throw new IllegalStateException("a watched knote has no READ interest");
        if (watch != eofWatch) {
            eofWatch = watch;
            queue();
        }
        return this;
    }

    /** {@return true if {@link #watchReadEof} is on} */
    public boolean watchesReadEof() {
        return eofWatch;
    }

    private void queue() {
        if (!queued) {
            queued = true;
            selector.updated(this);
        }
    }

    /** {@return the readiness found by the last select that returned this key: OP_* bits and READ_EOF, WRITE_EOF, ERROR} */
    public int readyOps() {
        return readyOps;
    }

    /** {@return true if the last select found it readable} */
    public boolean isReadable() {
        return (readyOps & Selector.OP_READ) != 0;
    }

    /** {@return true if the last select found it writable} */
    public boolean isWritable() {
        return (readyOps & Selector.OP_WRITE) != 0;
    }

    /** {@return true if the peer has shut down its sending side (or the connection is gone)} */
    public boolean isReadEof() {
        return (readyOps & READ_EOF) != 0;
    }

    /**
     * EVFILT_READ's data: bytes readable (or, on a listening socket, connections waiting). The selector's kqueue
     * reports only a lower bound on the Linux emulation (see {@link Kqueue#setReadDataExact}), so there the count
     * of a stream or pipe is asked of the kernel at this call: one system call that a caller who does not ask for
     * it never pays.
     *
     * @return bytes readable, or connections waiting on a listener
     */
    public long readData() {
        if (!knote && valid && !selector.kqueue().isReadDataExact()) {
            long n = Fds.bytesReadable(fd);                  // -1 where FIONREAD does not apply: data is exact there
            if (n >= 0) return n;
        }
        return readData;
    }

    /**
     * EVFILT_WRITE's data: free space in the send buffer. The selector's kqueue reports only a lower bound on the
     * Linux emulation (see {@link Kqueue#setWriteDataExact}), so there a socket's free space is asked of the kernel
     * at this call (two system calls that a caller who does not ask never pays).
     *
     * @return free bytes in the send buffer
     */
    public long writeData() {
        if (!knote && valid && !selector.kqueue().isWriteDataExact()) {
            long n = Fds.sendSpace(fd);                      // -1 where it does not apply: data is exact there
            if (n >= 0) return n;
        }
        return writeData;
    }

    /** {@return the socket error reported with EOF, 0 if none} */
    public int socketError() {
        return socketError;
    }

    /**
     * Knot's per-registration opt-out of copy-on-fork (the EV_NOCPONFORK idea of FreeBSD's design discussion, as
     * API rather than a kevent flag): a key marked {@code false} is left out of the snapshot that
     * {@code dev.knot.fork.Handoff} takes for a child, whatever the fork policy. Default true. Only the fork path
     * reads it; nothing is sent to the kernel.
     *
     * @param copy false to keep this registration out of children spawned with a copying policy
     * @return this key, for chaining
     * @throws IllegalStateException if the key was cancelled, or off the selector's thread
     */
    public Key copyOnFork(boolean copy) {
        ensureValid();
        copyOnFork = copy;
        return this;
    }

    /** {@return false if {@link #copyOnFork(boolean)} opted this registration out of copy-on-fork} */
    public boolean copiesOnFork() {
        return copyOnFork;
    }

    /** {@return the errno of a failed change ({@link #ERROR}), 0 if none} */
    public int errno() {
        return errno;
    }

    /**
     * Clears the readiness the last select found; the dispatcher calls this after handling the key. A no-op on a
     * cancelled key.
     *
     * @throws IllegalStateException off the selector's thread
     */
    public void clearReady() {
        if (!valid) return;
        selector.checkOwner();
        readyOps = 0;
        if (finished) cancel(true);              // the kernel already dropped the knote
    }

    /** {@return true until {@link #cancel()} or the selector's close} */
    public boolean isValid() {
        return valid;
    }

    /**
     * Cancels the key: its knotes are deleted with the next select and any event still in flight for it is ignored.
     * The descriptor stays open; the caller closes it. A no-op on a key already cancelled.
     *
     * @throws IllegalStateException off the selector's thread
     */
    public void cancel() {
        cancel(false);
    }

    /**
     * Cancels the key because its descriptor is about to be closed: closing drops the knotes (close(2) does on BSD;
     * Knot's {@code Fds.close} does in the Linux emulation), so no delete is sent. A no-op on a key already
     * cancelled.
     *
     * @throws IllegalStateException off the selector's thread
     */
    public void cancelForClose() {
        cancel(true);
    }

    private void cancel(boolean closing) {
        if (!valid) return;
        selector.checkOwner();
        if (knote) {
            if (!closing && !finished) selector.change(ident, filter, Selector.deleteFlags(), 0, 0, udata());
        } else if (!closing) {
            long udata = udata();
            if (readState != NONE) selector.change(fd, EVFILT_READ, Selector.deleteFlags(), udata);
            if (writeState != NONE) selector.change(fd, EVFILT_WRITE, Selector.deleteFlags(), udata);
        }
        valid = false;
        attachment = null;
        readyOps = 0;
        selector.release(this);
    }

    long udata() {
        return token;
    }

    /** {@return the udata this key's knotes carry in the kernel: its slot and generation} */
    public long token() {
        return udata();
    }

    void adoptInterest(int ops) {
        interest = ops;
        readState = (ops & Selector.OP_READ) != 0 ? ON : NONE;
        writeState = (ops & Selector.OP_WRITE) != 0 ? ON : NONE;
    }

    /** Turns the interest into the net changes the kernel needs (at most one per filter). */
    void flush() {
        queued = false;
        if (!valid || knote) return;
        long udata = udata();
        flushRead(udata);
        int wf = Selector.flagsFor(writeState, (interest & Selector.OP_WRITE) != 0);
        if (wf != 0) {
            selector.change(fd, EVFILT_WRITE, wf, udata);
            writeState = (interest & Selector.OP_WRITE) != 0 ? ON : OFF;
        }
    }

    private void flushRead(long udata) {
        boolean read = (interest & Selector.OP_READ) != 0;
        if (!read && eofWatch && !eofWatchDropped) {
            if (readState == EOF_ONLY) return;
            // EV_ADD on the existing knote replaces its fflags and data, and FreeBSD then re-runs the filter.
            selector.change(fd, EVFILT_READ, EV_ADD | EV_ENABLE, NOTE_LOWAT, EOF_ONLY_LOWAT, udata);
            readState = EOF_ONLY;
            readLowat = true;
            return;
        }
        if (read && readLowat) {
            selector.change(fd, EVFILT_READ, EV_ADD | EV_ENABLE, 0, 0, udata);      // back to the plain mark
            readState = ON;
            readLowat = false;
            return;
        }
        int rf = Selector.flagsFor(readState == EOF_ONLY ? ON : readState, read);
        if (rf != 0) {
            selector.change(fd, EVFILT_READ, rf, udata);
            readState = read ? ON : OFF;
        }
    }

    /**
     * A READ event came for this key: false if it is the EOF-only watch reporting something other than EOF (a
     * kernel that capped the mark), which is then dropped rather than reported, as a level knote would repeat it.
     */
    boolean readEvent(boolean eof) {
        if (readState != EOF_ONLY || eof) return true;
        eofWatchDropped = true;
        queue();
        return false;
    }

    void changeFailed(int filter, int err) {
        errno = err;
        readyOps |= ERROR;
        if (filter == EVFILT_READ) {
            readState = NONE;
            readLowat = false;
        }
        else if (filter == EVFILT_WRITE) writeState = NONE;
    }

    private void ensureValid() {
        if (!valid) throw new IllegalStateException("the key of fd " + fd + " was cancelled");
        selector.checkOwner();
    }

    /** Invalidates the key without sending anything: its selector is closing. */
    void invalidate() {
        valid = false;
        attachment = null;
        readyOps = 0;
    }

    @Override
    public String toString() {
        return "Key[fd=" + fd + ", interest=" + interest + ", ready=0x" + Integer.toHexString(readyOps) + (valid ? "" : ", cancelled") + "]";
    }
}
