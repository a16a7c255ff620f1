// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

/** The Linux bindings' ABI check, for the layers (sockets, fork, prefork) bound to Linux headers only. */
public final class LinuxAbi {
    private LinuxAbi() {}

    /**
     * Checks that the running architecture has captured Linux bindings (x86_64 or aarch64).
     *
     * @throws UnsupportedOperationException naming the OS and arch otherwise
     */
    public static void require() {
        dev.knot.bindings.linux.Abi.require();
    }
}
