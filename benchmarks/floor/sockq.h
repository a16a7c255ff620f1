// SPDX-License-Identifier: Apache-2.0
// The pieces the C floors share for READ's data queries: N connected pairs of one family (loopback TCP or AF_UNIX),
// and a minimal io_uring that asks SIOCINQ of N sockets in one io_uring_enter (IORING_OP_URING_CMD with
// SOCKET_URING_OP_SIOCINQ, Linux 6.7+). The including file defines die(const char *what) first.
#ifndef KNOT_FLOOR_SOCKQ_H
#define KNOT_FLOOR_SOCKQ_H
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// Not in the 6.1 headers this machine builds with; values from include/uapi/linux/io_uring.h (6.7+).
#ifndef SOCKET_URING_OP_SIOCINQ
#define SOCKET_URING_OP_SIOCINQ 0
#define SOCKET_URING_OP_SIOCOUTQ 1
#endif

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

static void pairs(const char *family, int n, int ready_every, int *readers, int *writers) {
    int lfd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (strcmp(family, "tcp") == 0) {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &a, sizeof a) || listen(lfd, n) ||
            getsockname(lfd, (struct sockaddr *) &a, &al))
            die("listen");
    } else if (strcmp(family, "unix") != 0) {
        fprintf(stderr, "floor: family must be tcp or unix, not %s\n", family);
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
        if (i % ready_every == 0 && write(sv[1], "x", 1) != 1) die("write");
    }
    if (lfd >= 0) close(lfd);
    // TCP over loopback delivers asynchronously: wait until every reader sees its byte.
    for (int i = 0; i < n; i += ready_every) {
        int v = 0;
        for (int t = 0; t < 100000 && v == 0; t++)
            if (ioctl(readers[i], FIONREAD, &v)) die("ioctl FIONREAD");
        if (v != 1) {
            fprintf(stderr, "floor: reader %d has %d bytes, not 1\n", i, v);
            exit(1);
        }
    }
}

#endif
