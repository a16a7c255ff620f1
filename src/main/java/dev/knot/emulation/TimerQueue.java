// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.linux.epoll_h.EPOLLET;
import static dev.knot.bindings.linux.epoll_h.EPOLLIN;
import static dev.knot.bindings.linux.epoll_h.EPOLL_CTL_ADD;

import dev.knot.bindings.linux.itimerspec;
import dev.knot.bindings.linux.time_h;
import dev.knot.bindings.linux.timerfd_h;
import dev.knot.bindings.linux.timespec;
import dev.knot.bindings.linux.unistd_h;

import dev.knot.system.DeadlineHeap;

import java.lang.foreign.MemorySegment;

/**
 * The kqueue's EVFILT_TIMER knotes: two deadline heaps (relative timers on the monotonic clock, NOTE_ABSTIME ones
 * on the wall clock) and one timerfd per clock armed at the earliest deadline, so thousands of timers cost two
 * descriptors and a timerfd_settime only when the earliest deadline changes. Guarded by the kqueue's lock.
 */
final class TimerQueue {
    private static final long DISARMED = Long.MIN_VALUE;

    private final EpollKqueue kq;
    private final Heap mono = new Heap(false);
    private final Heap real = new Heap(true);

    TimerQueue(EpollKqueue kq) {
        this.kq = kq;
    }

    void add(Knote kn, Scratch s) {
        (kn.realtime ? real : mono).add(kn);
    }

    void remove(Knote kn) {
        if (kn.heapIndex >= 0) (kn.realtime ? real : mono).remove(kn);
    }

    /** Counts the expirations that are due and activates their knotes. */
    void runExpired(Scratch s) {
        if (mono.q.size() > 0) mono.expire(System.nanoTime());
        if (real.q.size() > 0) {
            time_h.clock_gettime(s.callState, time_h.CLOCK_REALTIME, s.clock);
            real.expire(timespec.tv_sec(s.clock) * 1_000_000_000L + timespec.tv_nsec(s.clock));
        }
    }

    /** Points each timerfd at its heap's earliest deadline, if that changed. */
    void rearm(Scratch s) {
        mono.rearm(s);
        real.rearm(s);
    }

    void registerIn(int ep, Scratch s) {
        if (mono.fd >= 0) kq.ctl(ep, EPOLL_CTL_ADD, mono.fd, EPOLLIN | EPOLLET, EpollKqueue.T_TIMER_MONO, s);
        if (real.fd >= 0) kq.ctl(ep, EPOLL_CTL_ADD, real.fd, EPOLLIN | EPOLLET, EpollKqueue.T_TIMER_REAL, s);
    }

    void close(Scratch s) {
        if (mono.fd >= 0) unistd_h.close(s.callState, mono.fd);
        if (real.fd >= 0) unistd_h.close(s.callState, real.fd);
        mono.fd = real.fd = -1;
    }

    /** One clock's timers: their deadline heap and the timerfd armed at its earliest deadline. */
    private final class Heap {
        final boolean realtime;
        final DeadlineHeap<Knote> q = new DeadlineHeap<>(Knote.TIMER_HEAP);
        int fd = -1;
        long armed = DISARMED;

        Heap(boolean realtime) {
            this.realtime = realtime;
        }

        void add(Knote kn) {
            q.add(kn);
        }

        void remove(Knote kn) {
            q.remove(kn);
        }

        void expire(long now) {
            Knote kn;
            while ((kn = q.peek()) != null && kn.deadline - now <= 0) {
                if (kn.period > 0) {
                    // filt_timerexpire: count every period that elapsed since the planned expiry (overruns add up).
                    long n = 1 + (now - kn.deadline) / kn.period;
                    kn.data += n;
                    long next = kn.deadline + n * kn.period;
                    kn.deadline = next < kn.deadline ? Long.MAX_VALUE : next;
                    q.updated(kn);
                } else {
                    kn.data += 1;
                    remove(kn);
                }
                kq.activate(kn, true);
            }
        }

        void rearm(Scratch s) {
            Knote first = q.peek();
            long target = first != null ? first.deadline : DISARMED;
            if (target == armed) return;
            if (fd < 0) {
                if (target == DISARMED) return;
                fd = timerfd_h.timerfd_create(s.callState, realtime ? time_h.CLOCK_REALTIME : time_h.CLOCK_MONOTONIC,
                        timerfd_h.TFD_CLOEXEC | timerfd_h.TFD_NONBLOCK);
                if (fd < 0) return;
                kq.ctl(kq.epfd, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLET, realtime ? EpollKqueue.T_TIMER_REAL : EpollKqueue.T_TIMER_MONO, s);
            }
            MemorySegment its = s.timerSpec;
            MemorySegment value = itimerspec.it_value(its);
            timespec.tv_sec(itimerspec.it_interval(its), 0);
            timespec.tv_nsec(itimerspec.it_interval(its), 0);
            long ns;
            int flags = 0;
            if (target == DISARMED) {
                ns = 0;
            } else if (realtime) {
                ns = Math.max(1, target);                 // absolute; a time in the past fires at once
                flags = timerfd_h.TFD_TIMER_ABSTIME;
            } else {
                ns = Math.max(1, target - System.nanoTime());
            }
            timespec.tv_sec(value, ns / 1_000_000_000L);
            timespec.tv_nsec(value, ns % 1_000_000_000L);
            if (timerfd_h.timerfd_settime(s.callState, fd, flags, its, MemorySegment.NULL) == 0) armed = target;
        }
    }
}
