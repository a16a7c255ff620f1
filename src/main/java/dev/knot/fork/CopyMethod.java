// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

/** How a child came by its registrations; {@link Restoration#reason()} says why. */
public enum CopyMethod {
    /** Policy DROP: no registrations. */
    NONE,
    /**
     * The kernel copied the kqueue into the child (FreeBSD KQUEUE_CPONFORK) and the copy survived into it. Not
     * reported yet: no platform Knot runs on takes this path (see {@link Restoration#reason()}).
     */
    INHERIT,
    /** The child replayed the parent's snapshot into its own kqueue in one kevent batch. */
    REREGISTER
}
