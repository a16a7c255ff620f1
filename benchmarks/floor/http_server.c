// SPDX-License-Identifier: Apache-2.0
/*
 * http_server: the C floor of the HTTP load benchmark (scripts/bench, issue 11 Deliver 4). The fewest system calls
 * an epoll server can make per request: one read and one write per batch of pipelined requests, epoll_wait
 * amortised over all ready connections, no accept4/epoll_ctl beyond one each per connection.
 *
 * One thread, level-triggered epoll. Each read takes what the socket has (up to 64 KiB); every complete request in
 * it (headers up to CRLFCRLF; GET without a body, as wrk sends) is answered with the same bytes as Knot's example
 * (Date refreshed once a second), all answers of one read in one write. A request split across reads is kept in a
 * small per-connection carry buffer; a header block over 8 KiB closes the connection. Output that does not fit in
 * the socket is kept and the connection waits for EPOLLOUT, so pipelining never drops a response.
 *
 * Build: gcc -O2 -o http_server http_server.c
 * Usage: http_server PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CARRY 8192
#define OUTMAX (1 << 20)

struct conn {
    int fd;
    int carry_len;
    char *carry;         /* the start of a request split across reads */
    char *out;           /* answers the socket did not take yet */
    int out_len, out_off;
};

static char resp[256];
static int rlen;
static time_t resp_second;

static void refresh_date(void) {
    time_t t = time(NULL);
    if (t == resp_second) return;
    resp_second = t;
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    rlen = snprintf(resp, sizeof resp,
                    "HTTP/1.1 200 OK\r\nServer: knot\r\nContent-Type: text/plain\r\nDate: %s\r\n"
                    "Content-Length: 13\r\n\r\nHello, World!", date);
}

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->carry);
    free(c->out);
    free(c);
}

/* Sends out[off..len); returns 0 when all is sent, 1 when the socket is full, -1 on error. */
static int flush(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) return errno == EAGAIN ? 1 : -1;
        c->out_off += n;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

static char inbuf[65536 + CARRY];
static char outbuf[OUTMAX];

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: http_server PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    refresh_date();
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        refresh_date();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                int f = flush(c);
                if (f < 0) { drop(ep, c); continue; }
                if (f == 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
                continue;
            }
            if (c->out_len > 0) {                /* still sending: read when the socket drains (EPOLLOUT first) */
                if (evs[i].events & (EPOLLERR | EPOLLHUP)) drop(ep, c);
                continue;
            }
            int have = c->carry_len;
            if (have) memcpy(inbuf, c->carry, have);
            ssize_t r = read(c->fd, inbuf + have, 65536);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                drop(ep, c);
                continue;
            }
            have += r;
            int olen = 0, start = 0;
            for (int p = 3; p < have; p++) {
                if (inbuf[p] == '\n' && inbuf[p - 1] == '\r' && inbuf[p - 2] == '\n' && inbuf[p - 3] == '\r') {
                    if (olen + rlen > OUTMAX) break;
                    memcpy(outbuf + olen, resp, rlen);
                    olen += rlen;
                    start = p + 1;
                    p += 3;
                }
            }
            int left = have - start;
            if (left > CARRY) { drop(ep, c); continue; }
            if (left) {
                if (!c->carry) c->carry = malloc(CARRY);
                memmove(c->carry, inbuf + start, left);
            }
            c->carry_len = left;
            if (olen == 0) continue;
            ssize_t w = write(c->fd, outbuf, olen);
            if (w == olen) continue;
            if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
            if (w < 0) w = 0;
            c->out = realloc(c->out, olen - w);
            memcpy(c->out, outbuf + w, olen - w);
            c->out_len = olen - w;
            c->out_off = 0;
            struct epoll_event cev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
    }
}
