// SPDX-License-Identifier: Apache-2.0
/**
 * Knot: BSD kqueue on the JVM through the FFM API.
 *
 * <p>Grant this module native access ({@code --enable-native-access=dev.knot}, or {@code ALL-UNNAMED} on the class
 * path) so that no restricted-method warning is printed.
 */
module dev.knot {
    requires java.management;   // prefork workers report GC counts and times in their heartbeats
    requires jdk.unsupported;      // sun.misc.Signal, the only way to see signals in a JVM
    // The Netty transport (dev.knot.netty) only: optional, so the core never needs or loads Netty.
    requires static io.netty.common;
    requires static io.netty.buffer;
    requires static io.netty.transport;
    requires static io.netty.transport.unix.common;

    exports dev.knot.kqueue;
    exports dev.knot.sys;
    exports dev.knot.loop;
    exports dev.knot.net;
    exports dev.knot.fork;
    exports dev.knot.prefork;
    exports dev.knot.netty;
    // Not exported: the generated bindings, the Linux emulation (reached through dev.knot.kqueue), and the
    // examples (programs built on the API, not part of it).
}
