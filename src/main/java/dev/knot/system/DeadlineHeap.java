// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import java.util.Arrays;

/**
 * A binary min-heap by deadline in which each entry knows its own index, so that removing or re-sifting one is
 * O(log n) without a search; entries with equal deadlines leave in the order they were added. Deadlines are
 * compared as {@code a - b}, so {@link System#nanoTime()} values that wrap still order correctly. This is the
 * event loop's timer queue and the emulation's EVFILT_TIMER queues.
 *
 * <p>The entries keep their heap state in fields of their own, reached through an {@link Access}: the heap
 * allocates nothing per entry. Not thread-safe: the owner serialises access.
 *
 * @param <T> the entries
 */
public final class DeadlineHeap<T> {
    /** How the heap reads an entry's deadline and keeps its index and insertion order in the entry. */
    public interface Access<T> {
        long deadline(T e);

        /** The entry's index in its heap, or -1 when it is in none. */
        int index(T e);

        void index(T e, int i);

        long seq(T e);

        void seq(T e, long seq);
    }

    private final Access<T> acc;
    private Object[] a = new Object[16];
    private int size;
    private long seq;

    public DeadlineHeap(Access<T> access) {
        this.acc = access;
    }

    /** The earliest entry, or null. */
    @SuppressWarnings("unchecked")
    public T peek() {
        return size == 0 ? null : (T) a[0];
    }

    public int size() {
        return size;
    }

    /** Adds an entry that is in no heap. */
    public void add(T e) {
        if (size == a.length) a = Arrays.copyOf(a, size * 2);
        acc.seq(e, seq++);
        a[size] = e;
        acc.index(e, size);
        up(size++);
    }

    /** Removes and returns the earliest entry; the heap must not be empty. */
    public T poll() {
        T e = peek();
        removeAt(0);
        return e;
    }

    /** Removes {@code e} if it is in this heap. */
    public void remove(T e) {
        int i = acc.index(e);
        if (i >= 0 && i < size && a[i] == e) removeAt(i);
    }

    /** Restores the order after {@code e}'s deadline changed while it was in this heap. */
    public void updated(T e) {
        int i = acc.index(e);
        if (i < 0 || i >= size || a[i] != e) return;
        up(i);
        down(acc.index(e));
    }

    /** Removes every entry. */
    @SuppressWarnings("unchecked")
    public void clear() {
        for (int i = 0; i < size; i++) {
            acc.index((T) a[i], -1);
            a[i] = null;
        }
        size = 0;
    }

    @SuppressWarnings("unchecked")
    private void removeAt(int i) {
        T e = (T) a[i];
        acc.index(e, -1);
        T last = (T) a[--size];
        a[size] = null;
        if (i < size) {
            a[i] = last;
            acc.index(last, i);
            up(i);
            down(acc.index(last));
        }
    }

    private boolean before(T x, T y) {
        long d = acc.deadline(x) - acc.deadline(y);
        return d < 0 || (d == 0 && acc.seq(x) < acc.seq(y));
    }

    @SuppressWarnings("unchecked")
    private void up(int i) {
        T e = (T) a[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            T parent = (T) a[p];
            if (!before(e, parent)) break;
            a[i] = parent;
            acc.index(parent, i);
            i = p;
        }
        a[i] = e;
        acc.index(e, i);
    }

    @SuppressWarnings("unchecked")
    private void down(int i) {
        T e = (T) a[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && before((T) a[c + 1], (T) a[c])) c++;
            T child = (T) a[c];
            if (!before(child, e)) break;
            a[i] = child;
            acc.index(child, i);
            i = c;
        }
        a[i] = e;
        acc.index(e, i);
    }
}
