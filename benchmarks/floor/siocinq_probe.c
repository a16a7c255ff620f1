// SPDX-License-Identifier: Apache-2.0
// Issue 11, item 1: can the per-event READ/WRITE data queries (FIONREAD = SIOCINQ, SIOCOUTQ), one ioctl per ready
// socket today, ride in one io_uring submission (IORING_OP_URING_CMD with SOCKET_URING_OP_SIOCINQ/SIOCOUTQ, Linux
// 6.7+) for less than the calls cost? This is the floor of that question, in C, with nothing of Knot in it.
//
// N connected pairs of one family (tcp: loopback TCP; unix: AF_UNIX stream socketpairs), 1 byte pending on each
// reading end. One op queries all N reading ends once, either as N ioctl(FIONREAD) or as one io_uring_enter that
// submits N URING_CMD entries and waits for their N completions. Prints one JSON line per mode and rep.
//
//   siocinq_probe FAMILY N REPS MS_PER_REP
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Not in the 6.1 headers this machine builds with; values from include/uapi/linux/io_uring.h (6.7+).
#ifndef SOCKET_URING_OP_SIOCINQ
#define SOCKET_URING_OP_SIOCINQ 0
#define SOCKET_URING_OP_SIOCOUTQ 1
#endif

static int die(const char *what) {
    fprintf(stderr, "siocinq_probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static void ring_open(struct ring *r, unsigned entries) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = (int) syscall(__NR_io_uring_setup, entries, &p);
    if (r->fd < 0) die("io_uring_setup");
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) die("mmap ring");
    r->sq_tail = (unsigned *) (sq + p.sq_off.tail);
    r->sq_mask = (unsigned *) (sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *) (sq + p.sq_off.array);
    r->cq_head = (unsigned *) (cq + p.cq_off.head);
    r->cq_tail = (unsigned *) (cq + p.cq_off.tail);
    r->cq_mask = (unsigned *) (cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *) (cq + p.cq_off.cqes);
}

// One submission of n SIOCINQ commands; the byte counts land in out[]. Returns how many completions failed, and
// the first failure's errno in *err.
static int ring_query(struct ring *r, const int *fds, int n, long *out, int *err) {
    unsigned tail = *r->sq_tail;
    for (int i = 0; i < n; i++) {
        unsigned idx = (tail + i) & *r->sq_mask;
        struct io_uring_sqe *e = &r->sqes[idx];
        memset(e, 0, sizeof *e);
        e->opcode = IORING_OP_URING_CMD;
        e->fd = fds[i];
        e->cmd_op = SOCKET_URING_OP_SIOCINQ;
        e->user_data = (uint64_t) i;
        r->sq_array[idx] = idx;
    }
    __atomic_store_n(r->sq_tail, tail + n, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, r->fd, n, n, IORING_ENTER_GETEVENTS, NULL, 0) < 0) die("io_uring_enter");
    unsigned head = *r->cq_head, ctail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    int failed = 0;
    for (; head != ctail; head++) {
        struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
        if (c->res < 0) {
            if (!failed) *err = -c->res;
            failed++;
        } else {
            out[c->user_data] = c->res;
        }
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    return failed;
}

static void pairs(const char *family, int n, int *readers, int *writers) {
    int lfd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (strcmp(family, "tcp") == 0) {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &a, sizeof a) || listen(lfd, n) ||
            getsockname(lfd, (struct sockaddr *) &a, &al))
            die("listen");
    } else if (strcmp(family, "unix") != 0) {
        fprintf(stderr, "siocinq_probe: family must be tcp or unix, not %s\n", family);
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (lfd < 0) {
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair");
        } else {
            sv[1] = socket(AF_INET, SOCK_STREAM, 0);
            if (sv[1] < 0 || connect(sv[1], (struct sockaddr *) &a, sizeof a)) die("connect");
            sv[0] = accept(lfd, NULL, NULL);
            if (sv[0] < 0) die("accept");
        }
        readers[i] = sv[0];
        writers[i] = sv[1];
        if (write(sv[1], "x", 1) != 1) die("write");
    }
    if (lfd >= 0) close(lfd);
    // TCP over loopback delivers asynchronously: wait until every reader sees its byte.
    for (int i = 0; i < n; i++) {
        int v = 0;
        for (int t = 0; t < 100000 && v == 0; t++)
            if (ioctl(readers[i], FIONREAD, &v)) die("ioctl FIONREAD");
        if (v != 1) {
            fprintf(stderr, "siocinq_probe: reader %d has %d bytes, not 1\n", i, v);
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: siocinq_probe tcp|unix N REPS MS_PER_REP\n");
        return 2;
    }
    const char *family = argv[1];
    int n = atoi(argv[2]), reps = atoi(argv[3]), ms = atoi(argv[4]);
    if (n < 1 || n > 4096 || reps < 1 || ms < 1) {
        fprintf(stderr, "siocinq_probe: N must be 1-4096, REPS and MS_PER_REP at least 1\n");
        return 2;
    }
    int *readers = calloc(n, sizeof(int)), *writers = calloc(n, sizeof(int));
    long *out = calloc(n, sizeof(long));
    pairs(family, n, readers, writers);
    struct ring r;
    unsigned entries = 1;
    while (entries < (unsigned) n) entries <<= 1;
    ring_open(&r, entries);

    int err = 0;
    int failed = ring_query(&r, readers, n, out, &err);
    if (failed) {
        printf("{\"family\":\"%s\",\"n\":%d,\"mode\":\"uring_cmd\",\"supported\":false,\"errno\":%d,\"error\":\"%s\"}\n",
               family, n, err, strerror(err));
    } else {
        for (int i = 0; i < n; i++)
            if (out[i] != 1) {
                fprintf(stderr, "siocinq_probe: URING_CMD SIOCINQ said %ld bytes, not 1\n", out[i]);
                return 1;
            }
    }
    // Calibrate ops per rep on the ioctl path, then alternate the two modes rep by rep (one untimed rep each).
    long ops = 1;
    for (;;) {
        double t0 = now_ns();
        for (long k = 0; k < ops; k++)
            for (int i = 0; i < n; i++) {
                int v;
                ioctl(readers[i], FIONREAD, &v);
            }
        if (now_ns() - t0 > ms * 1e6 / 4) break;
        ops *= 2;
    }
    ops *= 4;
    for (int rep = -1; rep < reps; rep++) {
        for (int mode = 0; mode < (failed ? 1 : 2); mode++) {
            double t0 = now_ns();
            for (long k = 0; k < ops; k++) {
                if (mode == 0) {
                    for (int i = 0; i < n; i++) {
                        int v;
                        if (ioctl(readers[i], FIONREAD, &v)) die("ioctl FIONREAD");
                        out[i] = v;
                    }
                } else if (ring_query(&r, readers, n, out, &err)) {
                    fprintf(stderr, "siocinq_probe: URING_CMD failed: %s\n", strerror(err));
                    return 1;
                }
            }
            double per_op = (now_ns() - t0) / ops;
            if (rep >= 0)
                printf("{\"family\":\"%s\",\"n\":%d,\"mode\":\"%s\",\"rep\":%d,\"ns_per_op\":%.1f,\"ns_per_query\":%.1f}\n",
                       family, n, mode ? "uring_cmd" : "ioctl", rep, per_op, per_op / n);
        }
    }
    return 0;
}
