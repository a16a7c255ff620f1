// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * A generation-counted slot table: each entry gets a token (generation in the high 32 bits, slot in the low 32)
 * that goes to the kernel as udata or {@code epoll_event.data}, and comes back to find the entry again. Freeing an
 * entry makes its token stale: the slot may be taken again, but by a later generation, so an event that was in
 * flight for the old entry finds nothing. This is the selector's key table and the emulation's knote table.
 *
 * <p>Allocation-free once grown. Not thread-safe: the owner (a selector's loop thread, a kqueue under its lock)
 * serialises access.
 *
 * @param <T> the entries
 */
public final class SlotTable<T> {
    private Object[] items = new Object[64];
    private int[] gens = new int[64];
    private int[] free = new int[64];
    private int freeTop;
    private int next;
    private final int first;
    private int size;

    /**
     * @param firstSlot the lowest slot handed out; lower ones are never used, so tokens with those slots (the
     *                  owner's own, such as 0 or a wakeup) never name an entry
     */
    public SlotTable(int firstSlot) {
        if (firstSlot < 0) throw new IllegalArgumentException("firstSlot " + firstSlot);
        this.first = firstSlot;
        this.next = firstSlot;
    }

    /** The slot of a token. */
    public static int slot(long token) {
        return (int) token;
    }

    /** Puts {@code item} in a free slot under a new generation and returns its token. */
    public long add(T item) {
        int slot;
        if (freeTop > 0) {
            slot = free[--freeTop];
        } else {
            slot = next++;
            if (slot >= items.length) {
                items = Arrays.copyOf(items, Math.max(items.length * 2, slot + 1));
                gens = Arrays.copyOf(gens, items.length);
            }
        }
        items[slot] = item;
        size++;
        return ((long) ++gens[slot] << 32) | (slot & 0xFFFFFFFFL);
    }

    /** The entry {@code token} names, or null if it was freed (or never was). */
    @SuppressWarnings("unchecked")
    public T get(long token) {
        int slot = (int) token;
        if (slot < first || slot >= next) return null;
        return gens[slot] == (int) (token >>> 32) ? (T) items[slot] : null;
    }

    /** Frees the entry {@code token} names; a stale token is ignored. */
    public void remove(long token) {
        int slot = (int) token;
        if (slot < first || slot >= next || gens[slot] != (int) (token >>> 32) || items[slot] == null) return;
        items[slot] = null;
        size--;
        if (freeTop == free.length) free = Arrays.copyOf(free, freeTop * 2);
        free[freeTop++] = slot;
    }

    /** The number of entries. */
    public int size() {
        return size;
    }

    /** Calls {@code action} for every entry, in slot order; the action may remove entries as it goes. */
    @SuppressWarnings("unchecked")
    public void forEach(Consumer<? super T> action) {
        for (int i = first; i < next; i++) {
            Object o = items[i];
            if (o != null) action.accept((T) o);
        }
    }
}
