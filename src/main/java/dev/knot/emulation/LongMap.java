// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * An open-addressing map from long keys to values that does not box, so that looking up a timer, user event,
 * pid or signal knote allocates nothing. Not thread-safe.
 */
final class LongMap<V> {
    private long[] keys = new long[16];
    private Object[] values = new Object[16];
    private int size;

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    @SuppressWarnings("unchecked")
    V get(long key) {
        int mask = keys.length - 1;
        for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) return null;
            if (keys[i] == key) return (V) v;
        }
    }

    void put(long key, V value) {
        if ((size + 1) * 2 > keys.length) grow();
        int mask = keys.length - 1;
        for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
            if (values[i] == null) {
                keys[i] = key;
                values[i] = value;
                size++;
                return;
            }
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
        }
    }

    void remove(long key) {
        int mask = keys.length - 1;
        int i = hash(key) & mask;
        while (true) {
            if (values[i] == null) return;
            if (keys[i] == key) break;
            i = (i + 1) & mask;
        }
        values[i] = null;
        size--;
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        for (int j = (i + 1) & mask; values[j] != null; j = (j + 1) & mask) {
            int home = hash(keys[j]) & mask;
            boolean between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!between) {
                keys[i] = keys[j];
                values[i] = values[j];
                values[j] = null;
                i = j;
            }
        }
    }

    int size() {
        return size;
    }

    @SuppressWarnings("unchecked")
    void forEach(Consumer<V> action) {
        Object[] snapshot = Arrays.copyOf(values, values.length);
        for (Object v : snapshot) if (v != null) action.accept((V) v);
    }

    private void grow() {
        long[] ok = keys;
        Object[] ov = values;
        keys = new long[ok.length * 2];
        values = new Object[ov.length * 2];
        size = 0;
        for (int i = 0; i < ok.length; i++) if (ov[i] != null) put(ok[i], ov[i] == null ? null : castV(ov[i]));
    }

    @SuppressWarnings("unchecked")
    private V castV(Object o) {
        return (V) o;
    }
}
