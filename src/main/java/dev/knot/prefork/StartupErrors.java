// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.sys.ErrnoException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;

/**
 * Start-up failure messages that name the operation, the path and the errno: java.nio.file's exceptions carry
 * only the path (a bare {@code NoSuchFileException: /run/x/knot}), which tells an operator neither what failed nor
 * why.
 */
final class StartupErrors {
    private StartupErrors() {}

    /** An IOException saying "{@code op} {@code path}: ERRNO (text)", plus a hint where one helps. */
    static IOException of(String op, Path path, IOException e) {
        if (e instanceof ErrnoException) return new IOException(op + " " + path + ": " + e.getMessage(), e);
        String errno = errno(e);
        String text = switch (errno) {
            case "ENOENT" -> "no such file or directory" + (path.getParent() != null ? ": " + path.getParent() + " does not exist" : "");
            case "EACCES" -> "permission denied";
            case "EEXIST" -> "file exists";
            case "ENOTDIR" -> "not a directory";
            case "ENOTEMPTY" -> "directory not empty";
            case "ELOOP" -> "too many symbolic links";
            case "EINVAL" -> "not a symbolic link";
            default -> e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : String.valueOf(e.getMessage());
        };
        return new IOException(op + " " + path + ": " + errno + " (" + text + ")", e);
    }

    private static String errno(IOException e) {
        if (e instanceof NoSuchFileException) return "ENOENT";
        if (e instanceof AccessDeniedException) return "EACCES";
        if (e instanceof FileAlreadyExistsException) return "EEXIST";
        if (e instanceof NotDirectoryException) return "ENOTDIR";
        if (e instanceof DirectoryNotEmptyException) return "ENOTEMPTY";
        if (e instanceof FileSystemLoopException) return "ELOOP";
        if (e instanceof NotLinkException) return "EINVAL";
        if (e instanceof FileSystemException f && f.getReason() != null) {
            // The JDK puts strerror's text in the reason; map the common ones back to their names.
            String r = f.getReason();
            if (r.contains("Read-only file system")) return "EROFS";
            if (r.contains("No space left")) return "ENOSPC";
            if (r.contains("Is a directory")) return "EISDIR";
            if (r.contains("File name too long")) return "ENAMETOOLONG";
            if (r.contains("Too many open files")) return "EMFILE";
        }
        return e.getClass().getSimpleName();
    }
}
