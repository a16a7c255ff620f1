// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Raw descriptors a test opens, closed after each test: {@code @RegisterExtension final TrackedFds fds = new
 * TrackedFds();}. After-each callbacks of a field-registered extension run after the test's own {@code @AfterEach}
 * methods and before those of the class's {@code @ExtendWith} ones (so before {@link KqueueTest} closes the kqueue).
 */
public final class TrackedFds implements AfterEachCallback {
    private final List<Integer> fds = new ArrayList<>();

    /** Tracks {@code fd}; returns it. */
    public int add(int fd) {
        fds.add(fd);
        return fd;
    }

    /** Tracks both ends of a pair; returns it. */
    public int[] add(int[] pair) {
        for (int fd : pair) fds.add(fd);
        return pair;
    }

    /** Stops tracking {@code fd} (the test closed it, or handed it on), so a reused number is not closed later. */
    public void forget(int fd) {
        fds.remove(Integer.valueOf(fd));
    }

    /** Closes a tracked descriptor now. */
    public void closeNow(int fd) {
        forget(fd);
        Posix.rawClose(fd);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (int fd : fds) Posix.rawClose(fd);
        fds.clear();
    }
}
