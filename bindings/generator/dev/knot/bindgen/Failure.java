// SPDX-License-Identifier: Apache-2.0
package dev.knot.bindgen;

/** A bad spec, ABI file or argument: reported as one line, exit status 2. */
final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Failure(String m) {
        super(m);
    }
}
