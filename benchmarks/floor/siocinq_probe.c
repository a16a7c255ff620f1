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

static void die(const char *what) {
    fprintf(stderr, "siocinq_probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#include "sockq.h"

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
    pairs(family, n, 1, readers, writers);
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
