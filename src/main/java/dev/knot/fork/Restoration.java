// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import dev.knot.loop.Key;

import java.util.List;
import java.util.Map;

/**
 * What a child's {@link Inheritance#restore} did.
 *
 * @param method how the registrations arrived
 * @param reason why that method (e.g. why INHERIT was not possible)
 * @param registered registrations now in the child's kqueue
 * @param skipped registrations of the parent not carried over (their descriptors were not handed to the child)
 * @param keventNanos time of the one kevent call that replayed them
 * @param keysByParentToken the child's key for each parent udata token, so the child can tell what is what
 * @param keys every restored key, in snapshot order
 */
public record Restoration(CopyMethod method, String reason, int registered, int skipped, long keventNanos,
                          Map<Long, Key> keysByParentToken, List<Key> keys) {}
