// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import java.io.IOException;

/** A snapshot is truncated, corrupt, foreign or cannot be replayed; nothing of it was registered. */
public class SnapshotException extends IOException {
    /** Bumped when the serialised form changes. */
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong with the snapshot
     */
    public SnapshotException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what is wrong with the snapshot
     * @param cause the failure underneath
     */
    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
