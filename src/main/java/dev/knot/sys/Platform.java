// SPDX-License-Identifier: Apache-2.0
package dev.knot.sys;

import java.util.Locale;

/**
 * The operating system Knot runs on, decided once from {@code os.name}.
 *
 * <p>Knot's kqueue layer runs natively on FreeBSD and macOS and as an emulation over epoll on Linux; the
 * socket, fork and prefork layers are bound to Linux headers only.
 */
public enum Platform {
    /** Linux: the kqueue layer is Knot's emulation over epoll; sockets, fork and prefork work. */
    LINUX,
    /** FreeBSD: the kernel's kqueue (the socket, fork and prefork layers are Linux-only for now). */
    FREEBSD,
    /** macOS: the kernel's kqueue (the socket, fork and prefork layers are Linux-only for now). */
    MACOS,
    /** Anything else: Knot has no bindings for it, and opening a kqueue throws. */
    OTHER;

    /** The platform of this JVM. */
    public static final Platform CURRENT = detect(System.getProperty("os.name", ""));

    static Platform detect(String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) return LINUX;
        if (os.startsWith("freebsd")) return FREEBSD;
        if (os.startsWith("mac")) return MACOS;
        return OTHER;
    }

    /**
     * Throws {@link UnsupportedOperationException} naming the feature when this JVM is not on Linux.
     *
     * @param feature what the caller wanted, for the message
     */
    public static void requireLinux(String feature) {
        if (CURRENT != LINUX) {
            throw new UnsupportedOperationException(feature + " is bound to Linux headers only; this JVM runs on "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
        }
        dev.knot.system.LinuxAbi.require();
    }
}
