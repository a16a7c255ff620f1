// SPDX-License-Identifier: Apache-2.0
package dev.knot.system;

import dev.knot.bindings.linux.Abi;
import dev.knot.bindings.linux.epoll_h;
import dev.knot.bindings.linux.eventfd_h;
import dev.knot.bindings.linux.fcntl_h;
import dev.knot.bindings.linux.io_uring_h;
import dev.knot.bindings.linux.mman_h;
import dev.knot.bindings.linux.prctl_h;
import dev.knot.bindings.linux.resource_h;
import dev.knot.bindings.linux.socket_h;
import dev.knot.bindings.linux.time_h;
import dev.knot.bindings.linux.timerfd_h;
import dev.knot.bindings.linux.unistd_h;

import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.function.Supplier;

/**
 * Links, on a thread of its own, the downcalls a prefork worker makes before it is ready, while the worker's main
 * thread starts up and links them too, from the other end of the list.
 *
 * <p>Why: linking a downcall is most of a worker JVM's start-up, even with an AOT cache (JDK 25 cannot archive the
 * binding stubs and lambda forms the FFM linker generates for each function shape), and it runs interpreted on one
 * thread. Each generated function links once, in its holder class's initialiser, so two threads never link the same
 * function twice: one that needs a function the other is linking waits for it (class initialisation). On a machine
 * with a second free core the two halves overlap; on a busy one nothing is lost but the thread.
 *
 * <p>The list is the worker's start-up path on Linux (die-with-parent, file limit, fd checks, the io_uring probe,
 * the kqueue emulation's epoll, eventfd and timerfd, the control channel); a function it misses is linked on first
 * use as before, one it names needlessly costs one link. Threading: {@link #start} may be called from any thread, once.
 */
public final class Prelink {
    private Prelink() {}

    /** In the order the worker first calls them; the prelink thread goes from the end, the worker from the start. */
    private static final List<Supplier<MethodHandle>> WORKER = List.of(
            prctl_h::prctl$handle, unistd_h::getppid$handle, resource_h::getrlimit$handle, fcntl_h::fcntl$handle,
            socket_h::getsockopt$handle, io_uring_h::syscall$handle, mman_h::mmap$handle, epoll_h::epoll_create1$handle,
            eventfd_h::eventfd$handle, epoll_h::epoll_ctl$handle, timerfd_h::timerfd_create$handle,
            timerfd_h::timerfd_settime$handle, time_h::clock_gettime$handle, unistd_h::write$handle,
            epoll_h::epoll_pwait2$handle, socket_h::send$handle, unistd_h::syscall$handle, unistd_h::close$handle);

    /**
     * Starts a daemon thread that links the worker's start-up downcalls, last first; nothing on a platform without
     * Linux bindings. A link that fails is left for the caller's own first call, which then reports it.
     *
     * @return the thread, or null if there is nothing to link here
     */
    public static Thread start() {
        if (!Abi.SUPPORTED) return null;
        return Thread.ofPlatform().daemon().name("knot-prelink").start(() -> {
            for (int i = WORKER.size() - 1; i >= 0; i--) {
                try {
                    WORKER.get(i).get();
                } catch (Throwable t) {
                    return;           // the caller's first call of that function fails the same way, where it can say so
                }
            }
        });
    }
}
