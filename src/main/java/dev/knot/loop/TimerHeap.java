package dev.knot.loop;

import java.util.Arrays;

/** The event loop's timers: a binary min-heap by deadline, ties broken by scheduling order. Loop thread only. */
final class TimerHeap {
    private Timer[] a = new Timer[16];
    private int size;
    private long seq;

    Timer peek() {
        return size == 0 ? null : a[0];
    }

    int size() {
        return size;
    }

    void add(Timer t) {
        if (t.cancelled) return;
        if (size == a.length) a = Arrays.copyOf(a, size * 2);
        t.seq = seq++;
        a[size] = t;
        t.index = size;
        up(size++);
    }

    Timer poll() {
        Timer t = a[0];
        removeAt(0);
        return t;
    }

    void remove(Timer t) {
        if (t.index >= 0 && t.index < size && a[t.index] == t) removeAt(t.index);
    }

    void clear() {
        for (int i = 0; i < size; i++) {
            a[i].index = -1;
            a[i] = null;
        }
        size = 0;
    }

    private void removeAt(int i) {
        Timer t = a[i];
        t.index = -1;
        Timer last = a[--size];
        a[size] = null;
        if (i < size) {
            a[i] = last;
            last.index = i;
            up(i);
            down(last.index);
        }
    }

    private static boolean before(Timer x, Timer y) {
        long d = x.deadline - y.deadline;
        return d < 0 || (d == 0 && x.seq < y.seq);
    }

    private void up(int i) {
        Timer t = a[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (!before(t, a[p])) break;
            a[i] = a[p];
            a[i].index = i;
            i = p;
        }
        a[i] = t;
        t.index = i;
    }

    private void down(int i) {
        Timer t = a[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && before(a[c + 1], a[c])) c++;
            if (!before(a[c], t)) break;
            a[i] = a[c];
            a[i].index = i;
            i = c;
        }
        a[i] = t;
        t.index = i;
    }
}
