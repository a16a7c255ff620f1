// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;

/**
 * Turns Knot's errno exceptions into the java.net types Netty code tests for (as Netty's own transports do):
 * connect failures become {@link ConnectException} (or {@link NoRouteToHostException}), bind failures
 * {@link BindException}; the original stays as the cause. Other exceptions pass through.
 */
final class Exceptions {
    private Exceptions() {}

    static Throwable connect(Throwable t) {
        if (!(t instanceof ErrnoException e)) return t;
        String name = e.errnoName();
        IOException mapped = "EHOSTUNREACH".equals(name) || "ENETUNREACH".equals(name)
                ? new NoRouteToHostException(e.getMessage()) : new ConnectException(e.getMessage());
        mapped.initCause(e);
        return mapped;
    }

    static IOException bind(IOException t) {
        if (!(t instanceof ErrnoException e)) return t;
        String name = e.errnoName();
        if (!"EADDRINUSE".equals(name) && !"EADDRNOTAVAIL".equals(name) && !"EACCES".equals(name)) return t;
        BindException mapped = new BindException(e.getMessage());
        mapped.initCause(e);
        return mapped;
    }
}
