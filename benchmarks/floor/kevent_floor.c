// SPDX-License-Identifier: Apache-2.0
/*
 * kevent_floor: the C floor for Knot's kevent batch path on Linux.
 *
 * It makes the same system calls, on the same descriptor setup, that one operation of the JMH benchmarks
 * KeventFdBatchBench and KeventUserBatchBench makes through Knot's epoll emulation (scripts/bench checks the Java
 * side with strace and prints the counts next to the results):
 *
 *   setup (both workloads): an epoll instance holding an eventfd (EPOLLIN|EPOLLET, the emulation's wakeup) and a
 *   nested epoll instance (EPOLLIN, the emulation's WRITE set), as Knot's kqueue has.
 *   workload "fd": plus 256 AF_UNIX stream socketpairs registered EPOLLIN|EPOLLRDHUP (level), every 4th with one
 *   byte pending, never drained. One op = encode N kevent changes {fd, EVFILT_READ, EV_ENABLE} (memory only: an
 *   enable of an armed level knote needs no system call), one epoll_pwait2(timeout 0, 64 events) that returns 64,
 *   then per event one ioctl(FIONREAD) for the kevent data field, written into a struct kevent eventlist, decoded.
 *   workload "fd-tcp" (--tcp): as "fd" on 256 loopback TCP connections (the accepted ends registered), and
 *   "fd-tcp-uring": the same with the 64 FIONREADs asked in one io_uring_enter of IORING_OP_URING_CMD
 *   SOCKET_URING_OP_SIOCINQ entries (Linux 6.7+), the fewest system calls the data can cost on Linux.
 *   workload "user": one op = encode N NOTE_TRIGGER changes, one epoll_pwait2(timeout 0) that returns 0 (user
 *   events live in user space), N events written into the eventlist, decoded.
 *
 * The process runs an extra idle pthread, as every JVM is multi-threaded: the kernel's fdget() takes real file
 * references once a process has more than one thread, which costs about 70 ns per fd-based syscall here
 * (shared/research/perf-anchors.md).
 *
 * Build: gcc -O2 -pthread -o kevent_floor kevent_floor.c
 * Usage: kevent_floor [--st] [--tcp] REPS MS_PER_REP [N ...]     (default N: 1 16 64 256)
 * Output: one JSON object per line: {"workload":"fd","changes":16,"threads":2,"ns_per_op":[..one per rep..]}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DESCRIPTORS 256
#define READY_EVERY 4
#define EVENTS 64
#define FIRST_SLOT 8

/* FreeBSD's struct kevent, the layout Knot's emulation reads and writes (64 bytes). */
struct kev {
    uint64_t ident;
    int16_t filter;
    uint16_t flags;
    uint32_t fflags;
    int64_t data;
    uint64_t udata;
    uint64_t ext[4];
};

#define EVFILT_READ (-1)
#define EVFILT_USER (-11)
#define EV_ENABLE 0x0004
#define EV_CLEAR 0x0020
#define NOTE_TRIGGER 0x01000000

static int ep;
static int fds[DESCRIPTORS], peers[DESCRIPTORS];
static uint64_t udata[DESCRIPTORS];
static struct kev changes[DESCRIPTORS], out[DESCRIPTORS];
static struct epoll_event evs[DESCRIPTORS];
static volatile uint64_t sink;

static void die(const char *what) {
    perror(what);
    exit(2);
}

#include "sockq.h"

static struct ring ring;
static int ready_fds[EVENTS];
static long inq[EVENTS];

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void ctl_add(int epfd, int fd, uint32_t events, uint64_t token) {
    struct epoll_event e = {.events = events, .data.u64 = token};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) die("epoll_ctl");
}

static void setup_kqueue(void) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    int wep = epoll_create1(EPOLL_CLOEXEC);
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ep < 0 || wep < 0 || wake < 0) die("epoll_create1/eventfd");
    ctl_add(ep, wake, EPOLLIN | EPOLLET, 0);
    ctl_add(ep, wep, EPOLLIN, 1);
}

static void setup_fd(int tcp) {
    setup_kqueue();
    if (tcp) pairs("tcp", DESCRIPTORS, READY_EVERY, fds, peers);
    for (int i = 0; i < DESCRIPTORS; i++) {
        if (!tcp) {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
            fds[i] = sv[0];
            peers[i] = sv[1];
            if (i % READY_EVERY == 0 && write(peers[i], "x", 1) != 1) die("write");
        }
        udata[i] = i;
        ctl_add(ep, fds[i], EPOLLIN | EPOLLRDHUP, (uint64_t)(FIRST_SLOT + i));
    }
}

static inline int op_fd(int n, int batched) {
    for (int j = 0; j < n; j++) {
        struct kev *c = &changes[j];
        c->ident = (uint64_t)fds[j];
        c->filter = EVFILT_READ;
        c->flags = EV_ENABLE;
        c->fflags = 0;
        c->data = 0;
        c->udata = (uint64_t)j;
        memset(c->ext, 0, sizeof c->ext);
    }
    __asm__ volatile("" ::: "memory");
    struct timespec zero = {0, 0};
    int r = epoll_pwait2(ep, evs, EVENTS, &zero, NULL);
    if (r < 0) die("epoll_pwait2");
    if (batched) {
        for (int i = 0; i < r; i++) ready_fds[i] = fds[(int)(uint32_t)evs[i].data.u64 - FIRST_SLOT];
        int err = 0;
        if (ring_query(&ring, ready_fds, r, inq, &err)) {
            errno = err;
            die("URING_CMD SIOCINQ");
        }
    }
    for (int i = 0; i < r; i++) {
        int idx = (int)(uint32_t)evs[i].data.u64 - FIRST_SLOT;
        int avail;
        if (batched) avail = (int)inq[i];
        else if (ioctl(fds[idx], FIONREAD, &avail) != 0) die("ioctl");
        struct kev *o = &out[i];
        o->ident = (uint64_t)fds[idx];
        o->filter = EVFILT_READ;
        o->flags = 0;
        o->fflags = 0;
        o->data = avail;
        o->udata = udata[idx];
        memset(o->ext, 0, sizeof o->ext);
    }
    __asm__ volatile("" ::: "memory");
    uint64_t s = 0;
    for (int i = 0; i < r; i++) s += out[i].ident + (uint16_t)out[i].filter + out[i].flags + out[i].fflags + out[i].data + out[i].udata;
    sink = s;
    return r;
}

static inline int op_user(int n) {
    for (int j = 0; j < n; j++) {
        struct kev *c = &changes[j];
        c->ident = (uint64_t)(j + 1);
        c->filter = EVFILT_USER;
        c->flags = 0;
        c->fflags = NOTE_TRIGGER;
        c->data = 0;
        c->udata = 0;
        memset(c->ext, 0, sizeof c->ext);
    }
    __asm__ volatile("" ::: "memory");
    struct timespec zero = {0, 0};
    int r = epoll_pwait2(ep, evs, DESCRIPTORS, &zero, NULL);
    if (r != 0) die("epoll_pwait2 (user)");
    for (int i = 0; i < n; i++) {
        struct kev *o = &out[i];
        o->ident = changes[i].ident;
        o->filter = EVFILT_USER;
        o->flags = EV_CLEAR;
        o->fflags = 0;
        o->data = 0;
        o->udata = (uint64_t)i;
        memset(o->ext, 0, sizeof o->ext);
    }
    __asm__ volatile("" ::: "memory");
    uint64_t s = 0;
    for (int i = 0; i < n; i++) s += out[i].ident + (uint16_t)out[i].filter + out[i].flags + out[i].fflags + out[i].data + out[i].udata;
    sink = s;
    return n;
}

static void *idle_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static void measure(const char *workload, int user, int batched, int n, int reps, double ms, int threads) {
    /* Calibrate the op count of a rep from a short warm-up, then run reps + 1 (the first untimed). */
    long ops = 1000;
    double t0 = now_ns();
    for (long i = 0; i < ops; i++) user ? op_user(n) : op_fd(n, batched);
    double per = (now_ns() - t0) / ops;
    ops = (long)(ms * 1e6 / per);
    if (ops < 100) ops = 100;
    printf("{\"workload\":\"%s\",\"changes\":%d,\"threads\":%d,\"ops_per_rep\":%ld,\"ns_per_op\":[", workload, n, threads, ops);
    for (int rep = 0; rep <= reps; rep++) {
        double start = now_ns();
        for (long i = 0; i < ops; i++) user ? op_user(n) : op_fd(n, batched);
        double ns = (now_ns() - start) / ops;
        if (rep > 0) printf("%s%.1f", rep > 1 ? "," : "", ns);
    }
    printf("]}\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    int a = 1, single = 0, tcp = 0;
    for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
        if (strcmp(argv[a], "--st") == 0) single = 1;
        else if (strcmp(argv[a], "--tcp") == 0) tcp = 1;
        else break;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: %s [--st] [--tcp] REPS MS_PER_REP [N ...]\n", argv[0]);
        return 2;
    }
    int reps = atoi(argv[a++]);
    double ms = atof(argv[a++]);
    int ns[16], count = 0;
    for (; a < argc && count < 16; a++) ns[count++] = atoi(argv[a]);
    if (count == 0) {
        int d[] = {1, 16, 64, 256};
        for (int i = 0; i < 4; i++) ns[count++] = d[i];
    }
    int threads = 1;
    if (!single) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle_thread, NULL) != 0) die("pthread_create");
        threads = 2;
    }

    setup_fd(tcp);
    if (op_fd(1, 0) != DESCRIPTORS / READY_EVERY) {
        fprintf(stderr, "fd workload: expected %d events\n", DESCRIPTORS / READY_EVERY);
        return 1;
    }
    if (tcp) {
        ring_open(&ring, EVENTS);
        if (op_fd(1, 1) != DESCRIPTORS / READY_EVERY || out[0].data != 1) {
            fprintf(stderr, "fd-tcp-uring workload: expected %d events of 1 byte\n", DESCRIPTORS / READY_EVERY);
            return 1;
        }
        // Interleaved, so that a disturbance of the machine falls on both alike.
        for (int i = 0; i < count; i++) {
            measure("fd-tcp", 0, 0, ns[i], reps, ms, threads);
            measure("fd-tcp-uring", 0, 1, ns[i], reps, ms, threads);
        }
        return 0;
    }
    for (int i = 0; i < count; i++) measure("fd", 0, 0, ns[i], reps, ms, threads);

    /* A fresh kqueue without the socketpairs, as KeventUserBatchBench has. */
    close(ep);
    setup_kqueue();
    for (int i = 0; i < count; i++) measure("user", 1, 0, ns[i], reps, ms, threads);
    return 0;
}
