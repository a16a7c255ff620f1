// SPDX-License-Identifier: Apache-2.0
/*
 * echo_server: the C floor of the echo load benchmark (scripts/bench, issue 11 Deliver 4). One read and one write
 * per message, epoll_wait amortised over all ready connections.
 *
 * One thread, level-triggered epoll. What a read returns is written back; what the socket does not take is kept
 * and the connection waits for EPOLLOUT before it reads again (so a peer that does not read is held back, not
 * buffered without bound).
 *
 * Build: gcc -O2 -o echo_server echo_server.c
 * Usage: echo_server PORT
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
#include <unistd.h>

#define BUF 65536

struct conn {
    int fd;
    char *out;
    int out_len, out_off;
};

static char buf[BUF];

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo_server PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
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
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
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
                while (c->out_off < c->out_len) {
                    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
                    if (w < 0) break;
                    c->out_off += w;
                }
                if (c->out_off < c->out_len) {
                    if (errno != EAGAIN) drop(ep, c);
                    continue;
                }
                c->out_len = c->out_off = 0;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                continue;
            }
            ssize_t r = read(c->fd, buf, BUF);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                drop(ep, c);
                continue;
            }
            ssize_t w = write(c->fd, buf, r);
            if (w == r) continue;
            if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
            if (w < 0) w = 0;
            c->out = realloc(c->out, r - w);
            memcpy(c->out, buf + w, r - w);
            c->out_len = r - w;
            c->out_off = 0;
            struct epoll_event cev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
    }
}
