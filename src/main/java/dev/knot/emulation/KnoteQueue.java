// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

/** The kqueue's active queue (kq_head): an intrusive FIFO of knotes, guarded by the kqueue's lock. */
final class KnoteQueue {
    private Knote head, tail;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    Knote peek() {
        return head;
    }

    void add(Knote kn) {
        kn.status |= Knote.QUEUED;
        kn.qnext = null;
        kn.qprev = tail;
        if (tail == null) head = kn; else tail.qnext = kn;
        tail = kn;
        size++;
    }

    void remove(Knote kn) {
        if ((kn.status & Knote.QUEUED) == 0) return;
        kn.status &= ~Knote.QUEUED;
        if (kn.qprev == null) head = kn.qnext; else kn.qprev.qnext = kn.qnext;
        if (kn.qnext == null) tail = kn.qprev; else kn.qnext.qprev = kn.qprev;
        kn.qprev = kn.qnext = null;
        size--;
    }
}
