// SPDX-License-Identifier: Apache-2.0
/*
 * echo_client: the load client of the echo ping-pong benchmark (scripts/bench, benchmarks/load/loadtest.py).
 *
 * CONNS TCP connections to HOST:PORT over loopback, each doing round trips of MSG bytes: send MSG bytes, wait
 * until all MSG bytes came back, send again. One thread, level-triggered epoll, TCP_NODELAY. The same client
 * drives every server, so the servers differ only in what they do with each message. It runs WARMUP seconds,
 * prints "MEASURE_START", measures for MEASURE seconds, prints "MEASURE_END" and then one JSON line with the round
 * trips and the round-trip latency percentiles of the measured window (100 ns resolution), and how evenly the
 * connections progressed (stalled_connections: how many completed no round trip at all in the window).
 *
 * Build: gcc -O2 -o echo_client echo_client.c
 * Usage: echo_client HOST PORT CONNS MSG WARMUP_S MEASURE_S
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_NS 100
#define BUCKETS (100 * 1000 * 1000 / BUCKET_NS) /* 100 ms; slower round trips land in the last bucket */

struct conn {
    int fd;
    int got;
    uint64_t sent_at;
    uint64_t done;        /* round trips completed in the measured window */
};

static uint32_t *hist;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void send_msg(struct conn *c, const char *msg, int len) {
    int off = 0;
    c->got = 0;
    c->sent_at = now_ns();
    while (off < len) {
        ssize_t w = write(c->fd, msg + off, len - off);
        if (w > 0) off += (int)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) die("write");
    }
}

static double percentile(uint64_t total, double p) {
    if (total == 0) return 0;
    uint64_t want = (uint64_t)(total * p);
    if (want >= total) want = total - 1;
    uint64_t seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
        seen += hist[i];
        if (seen > want) return (i + 0.5) * BUCKET_NS / 1000.0;
    }
    return BUCKETS * (double)BUCKET_NS / 1000.0;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNS MSG WARMUP_S MEASURE_S\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), nconns = atoi(argv[3]), len = atoi(argv[4]);
    double warmup = atof(argv[5]), measure = atof(argv[6]);
    if (nconns < 1 || nconns > 4096 || len < 1 || len > 65536 || measure <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    hist = calloc(BUCKETS, sizeof *hist);
    char *msg = malloc(len), *buf = malloc(len);
    for (int i = 0; i < len; i++) msg[i] = (char)('a' + i % 26);
    struct conn *conns = calloc(nconns, sizeof *conns);
    struct epoll_event *evs = calloc(nconns, sizeof *evs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("inet_pton");
    for (int i = 0; i < nconns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("O_NONBLOCK");
        conns[i].fd = fd;
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) die("epoll_ctl");
    }
    for (int i = 0; i < nconns; i++) send_msg(&conns[i], msg, len);

    uint64_t start = now_ns();
    uint64_t measure_from = start + (uint64_t)(warmup * 1e9);
    uint64_t measure_to = measure_from + (uint64_t)(measure * 1e9);
    int measuring = 0;
    uint64_t roundtrips = 0;
    for (;;) {
        int n = epoll_wait(ep, evs, nconns, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        uint64_t now = now_ns();
        if (!measuring && now >= measure_from) {
            measuring = 1;
            measure_from = now;
            measure_to = now + (uint64_t)(measure * 1e9);
            printf("MEASURE_START\n");
            fflush(stdout);
        }
        if (measuring && now >= measure_to) break;
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[evs[k].data.u32];
            ssize_t r = read(c->fd, buf, len - c->got);
            if (r == 0) {
                fprintf(stderr, "server closed a connection\n");
                return 1;
            }
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                die("read");
            }
            c->got += (int)r;
            if (c->got < len) continue;
            uint64_t t = now_ns();
            if (measuring) {
                uint64_t b = (t - c->sent_at) / BUCKET_NS;
                hist[b < BUCKETS ? b : BUCKETS - 1]++;
                roundtrips++;
                c->done++;
            }
            send_msg(c, msg, len);
        }
    }
    double secs = (now_ns() - measure_from) / 1e9;
    int stalled = 0;          /* connections that completed no round trip in the whole measured window */
    uint64_t least = UINT64_MAX, most = 0;
    for (int i = 0; i < nconns; i++) {
        if (conns[i].done == 0) stalled++;
        if (conns[i].done < least) least = conns[i].done;
        if (conns[i].done > most) most = conns[i].done;
    }
    printf("MEASURE_END\n");
    printf("{\"connections\":%d,\"msg_bytes\":%d,\"seconds\":%.3f,\"requests\":%llu,\"rps\":%.1f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"stalled_connections\":%d,\"min_per_conn\":%llu,\"max_per_conn\":%llu}\n",
           nconns, len, secs, (unsigned long long)roundtrips, roundtrips / secs, percentile(roundtrips, 0.5),
           percentile(roundtrips, 0.9), percentile(roundtrips, 0.99), percentile(roundtrips, 0.999),
           stalled, (unsigned long long)least, (unsigned long long)most);
    fflush(stdout);
    return 0;
}
