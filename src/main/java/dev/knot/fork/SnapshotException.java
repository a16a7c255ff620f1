package dev.knot.fork;

import java.io.IOException;

/** A snapshot is truncated, corrupt, foreign or cannot be replayed; nothing of it was registered. */
public class SnapshotException extends IOException {
    private static final long serialVersionUID = 1L;

    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
