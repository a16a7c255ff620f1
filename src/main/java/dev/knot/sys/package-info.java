// SPDX-License-Identifier: Apache-2.0
/**
 * What every layer's users need from the system underneath: {@link dev.knot.sys.Errno} (the errno values Knot can
 * report, named, as the running platform numbers them), {@link dev.knot.sys.ErrnoException} (a failed system call
 * with its errno and operation) and {@link dev.knot.sys.Platform} (which OS this JVM runs on).
 *
 * <p>The typed system calls themselves live in an internal, non-exported package; nothing here touches native
 * memory. All of it is stateless and thread-safe.
 */
package dev.knot.sys;
