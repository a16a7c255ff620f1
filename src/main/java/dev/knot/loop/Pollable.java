// SPDX-License-Identifier: Apache-2.0
package dev.knot.loop;

/** Something with a descriptor a {@link Selector} can watch: Knot's sockets, pipes, anything. */
public interface Pollable {
    /** {@return the descriptor} */
    int fd();
}
