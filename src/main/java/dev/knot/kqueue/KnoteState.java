// SPDX-License-Identifier: Apache-2.0
package dev.knot.kqueue;

/**
 * Knot extension: the state of one knote beyond its registration, as FreeBSD's KQUEUE_CPONFORK copies it into a
 * child ({@code f_copy}): whether its event is pending, whether it is disabled, and what it has accumulated. The
 * fork path reads it from the parent's kqueue ({@link Kqueue#knoteState}) and applies it to the child's
 * ({@link Kqueue#restoreKnoteState}) after replaying the registration; only the Linux emulation can do either
 * ({@link Kqueue#exportsKnoteState()}): a native kqueue's state is the kernel's to copy.
 *
 * <p>Meaning of {@code fflags} and {@code data} by filter: EVFILT_USER, the stored fflags (low 24 bits) and data,
 * pending when triggered; EVFILT_TIMER, data is the undelivered expiration count and {@code expiryMonotonicNanos}
 * the next expiry of a relative timer on CLOCK_MONOTONIC, which all processes of the machine share (so a periodic
 * timer keeps its phase in another process; NOTE_ABSTIME timers carry their absolute time in their registration);
 * EVFILT_SIGNAL, data is the undelivered count; EVFILT_PROC and EVFILT_VNODE, the fflags and data accumulated and
 * not yet delivered; EVFILT_READ and EVFILT_WRITE, nothing (the receiving kqueue re-evaluates them).
 *
 * @param ident the knote's ident
 * @param filter its filter
 * @param state {@link #ACTIVE}, {@link #DISABLED} and {@link #EXPIRY} bits
 * @param fflags per filter, as above
 * @param data per filter, as above
 * @param expiryMonotonicNanos with {@link #EXPIRY}: the next expiry on CLOCK_MONOTONIC, in ns; else 0
 */
public record KnoteState(long ident, int filter, int state, int fflags, long data, long expiryMonotonicNanos) {
    /** State bit: the knote's event is pending (triggered, expired, counted, accumulated). */
    public static final int ACTIVE = 1;
    /** State bit: the knote is disabled (EV_DISABLE, or an EV_DISPATCH knote that fired and was not re-enabled). */
    public static final int DISABLED = 2;
    /** State bit: {@link #expiryMonotonicNanos()} holds a relative timer's next expiry. */
    public static final int EXPIRY = 4;

    /** {@return true if the event is pending} */
    public boolean isActive() {
        return (state & ACTIVE) != 0;
    }

    /** {@return true if the knote is disabled} */
    public boolean isDisabled() {
        return (state & DISABLED) != 0;
    }
}
