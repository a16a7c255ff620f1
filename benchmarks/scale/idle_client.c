// SPDX-License-Identifier: Apache-2.0
/*
 * idle_client: the client of the idle-connections scale benchmark (scripts/bench --scale, benchmarks/scale/scale.py).
 *
 * Phases, driven by lines on stdin so that the driver can measure the server between them:
 *   1. warm-up and baseline: one active keep-alive connection makes REQS sequential GET / requests (each waits for
 *      its whole response) and prints {"phase":"baseline",...} with latency percentiles; no idle connection exists.
 *   2. on the line "open": opens N keep-alive connections, spread over NADDRS source addresses 127.0.0.2 ... so that
 *      the 28k ephemeral ports of one address do not run out, at most 512 connects in flight; each sends one
 *      request and reads its answer, then sits idle. Prints {"phase":"open","conns":N,"seconds":T} when all have been
 *      answered (T: from the first connect to the last answer) or an error line if some failed.
 *   2b. on the line "close" (a warm-up round): closes them all and prints {"phase":"closed"}; the next "open" uses
 *      the next NADDRS source addresses (the closed ones' ports sit in TIME_WAIT).
 *   3. on the line "active": the active connection makes REQS more requests among the idle ones and prints
 *      {"phase":"active",...}; then the idle connections are checked (each must still be open: no EOF) and it
 *      prints {"phase":"done","still_open":K} and exits on "quit" or end of input.
 * Responses are read by Content-Length. One thread, epoll, TCP_NODELAY. The client keeps about 100 B per connection.
 *
 * Build: gcc -O2 -o idle_client idle_client.c
 * Usage: idle_client HOST PORT N NADDRS REQS [ADDR_BASE]
 * ADDR_BASE (default 0) shifts the source addresses to 127.0.0.(2 + ADDR_BASE) ...: a driver running one test after
 * another gives each fresh addresses, since the ports of the previous one sit in TIME_WAIT for a minute.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

static const char REQ[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
static struct sockaddr_in server;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads one whole response (head plus Content-Length bytes) from a blocking socket; 0 on success. */
static int read_response(int fd) {
    char buf[4096];
    int have = 0;
    for (;;) {
        int n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0) return -1;
        have += n;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "Content-Length:");
        long len = cl && cl < end ? strtol(cl + 15, NULL, 10) : 0;
        if (have >= (end + 4 - buf) + len) return 0;
    }
}

static int addr_base;

static int connect_from(int addr_index, int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (addr_index >= 0) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
        src.sin_addr.s_addr = htonl(0x7f000002 + addr_base + addr_index);   /* 127.0.0.2 + i */
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void active(const char *phase, int reqs, int idle) {
    int fd = connect_from(-1, 0);
    if (fd < 0) {
        printf("{\"phase\":\"%s\",\"error\":\"connect: %s\"}\n", phase, strerror(errno));
        fflush(stdout);
        return;
    }
    double *lat = malloc(sizeof(double) * reqs);
    int ok = 0;
    double t0 = now_s();
    for (int i = 0; i < reqs; i++) {
        double s = now_s();
        if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1) || read_response(fd) != 0) break;
        lat[ok++] = now_s() - s;
    }
    double took = now_s() - t0;
    close(fd);
    qsort(lat, ok, sizeof(double), cmp_double);
    printf("{\"phase\":\"%s\",\"idle_conns\":%d,\"requests\":%d,\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"max_us\":%.1f}\n", phase, idle, ok, took, ok ? lat[ok / 2] * 1e6 : -1, ok ? lat[(int)(ok * 0.99)] * 1e6 : -1,
           ok ? lat[ok - 1] * 1e6 : -1);
    fflush(stdout);
    free(lat);
}

enum { CONNECTING, SENT, IDLE, FAILED };
struct conn {
    int fd;
    uint8_t state;
    uint16_t got;   /* bytes of the answer so far (it is small and fixed: a head plus "Hello, World!") */
};

static struct conn *c;

/* Opens n idle connections (see phase 2); returns how many are idle. */
static int open_all(int n, int naddrs) {
    memset(c, 0, sizeof *c * (n ? n : 1));
    int ep = epoll_create1(0);
    struct epoll_event evs[256];
    int next = 0, inflight = 0, idle = 0, failed = 0;
    int first_errno = 0;
    double t0 = now_s();
    while (idle + failed < n) {
        while (next < n && inflight < 512) {
            int fd = connect_from(next % naddrs, 1);
            if (fd < 0) {
                if (!first_errno) first_errno = errno;
                c[next].state = FAILED;
                failed++;
                next++;
                continue;
            }
            c[next].fd = fd;
            c[next].state = CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = next};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            next++;
            inflight++;
        }
        int k = epoll_wait(ep, evs, 256, 10000);
        if (k == 0) {
            fprintf(stderr, "idle_client: no progress for 10 s (%d idle, %d in flight)\n", idle, inflight);
            break;
        }
        for (int i = 0; i < k; i++) {
            struct conn *x = &c[evs[i].data.u32];
            if (x->state == CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || write(x->fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1)) goto fail;
                x->state = SENT;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
            } else if (x->state == SENT) {
                char buf[1024];
                int r = read(x->fd, buf, sizeof buf);
                if (r <= 0) goto fail;
                x->got += r;
                if (r >= 13 && memcmp(buf + r - 13, "Hello, World!", 13) == 0) {
                    x->state = IDLE;
                    epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                    inflight--;
                    idle++;
                }
            }
            continue;
        fail:
            if (!first_errno) first_errno = errno ? errno : ECONNRESET;
            x->state = FAILED;
            epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
            close(x->fd);
            inflight--;
            failed++;
        }
    }
    double took = now_s() - t0;
    printf("{\"phase\":\"open\",\"conns\":%d,\"failed\":%d,\"seconds\":%.3f%s%s%s}\n", idle, failed, took,
           first_errno ? ",\"error\":\"" : "", first_errno ? strerror(first_errno) : "", first_errno ? "\"" : "");
    fflush(stdout);
    close(ep);
    return idle;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: idle_client HOST PORT N NADDRS REQS [ADDR_BASE]\n");
        return 2;
    }
    server.sin_family = AF_INET;
    server.sin_port = htons(atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &server.sin_addr);
    int n = atoi(argv[3]), naddrs = atoi(argv[4]), reqs = atoi(argv[5]);
    if (naddrs < 1) naddrs = 1;
    if (argc == 7) addr_base = atoi(argv[6]);
    char line[64];

    active("baseline", reqs, 0);
    if (!fgets(line, sizeof line, stdin)) return 0;

    c = calloc(n ? n : 1, sizeof *c);
    int idle = open_all(n, naddrs);
    if (!fgets(line, sizeof line, stdin)) return 0;
    if (strncmp(line, "close", 5) == 0) {
        for (int i = 0; i < n; i++) if (c[i].state == IDLE) close(c[i].fd);
        addr_base += naddrs;
        printf("{\"phase\":\"closed\"}\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) return 0;
        idle = open_all(n, naddrs);
        if (!fgets(line, sizeof line, stdin)) return 0;
    }
    active("active", reqs, idle);

    /* Still open? A closed connection is readable (EOF or RST); an open idle one is not. */
    int still = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].state != IDLE) continue;
        char b;
        int r = recv(c[i].fd, &b, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) still++;
    }
    printf("{\"phase\":\"done\",\"still_open\":%d}\n", still);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4) != 0) {}
    return 0;
}
