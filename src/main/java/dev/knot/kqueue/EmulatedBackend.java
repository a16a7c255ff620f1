// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

import dev.knot.emulation.EpollKqueue;
import dev.knot.sys.ErrnoException;

import java.lang.foreign.MemorySegment;

/** The Linux backend: FreeBSD's kevent(2) emulated over epoll by {@link EpollKqueue}. */
final class EmulatedBackend implements Backend {
    final EpollKqueue kq;

    private EmulatedBackend(EpollKqueue kq) {
        this.kq = kq;
    }

    static EmulatedBackend open(int flags) throws KqueueException {
        try {
            return new EmulatedBackend(EpollKqueue.open((flags & Kqueue.CLOEXEC) != 0));
        } catch (ErrnoException e) {
            throw new KqueueException(e.errno(), "kqueue: " + e.operation());
        }
    }

    @Override
    public int kevent(MemorySegment changes, int nchanges, MemorySegment events, int nevents, long timeoutNanos) {
        return kq.kevent(changes, nchanges, events, nevents, timeoutNanos);
    }

    @Override
    public int fd() {
        return kq.fd();
    }

    @Override
    public void setReadDataExact(boolean exact) {
        kq.setReadDataExact(exact);
    }

    @Override
    public boolean isReadDataExact() {
        return kq.isReadDataExact();
    }

    @Override
    public void setWriteDataExact(boolean exact) {
        kq.setWriteDataExact(exact);
    }

    @Override
    public boolean isWriteDataExact() {
        return kq.isWriteDataExact();
    }

    @Override
    public long[] knoteState(long ident, int filter) {
        return kq.knoteState(ident, filter);
    }

    @Override
    public int restoreKnoteState(long ident, int filter, int state, int fflags, long data, long expiry) {
        return kq.restoreKnoteState(ident, filter, state, fflags, data, expiry);
    }

    @Override
    public long kernelChanges() {
        return kq.kernelChanges();
    }

    @Override
    public String changelistPath() {
        return kq.changelistPath();
    }

    @Override
    public String dataQueryPath() {
        return kq.dataQueryPath();
    }

    @Override
    public void wakeAll() {
        kq.wakeAll();
    }

    @Override
    public void close() {
        kq.close();
    }
}
