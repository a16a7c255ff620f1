package dev.knot.loop;

/** Something with a descriptor a {@link Selector} can watch: Knot's sockets, pipes, anything. */
public interface Pollable {
    /** The descriptor. */
    int fd();
}
