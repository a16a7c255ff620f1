// SPDX-License-Identifier: Apache-2.0
/*
 * http_floor: the C floor of the idle-connections scale benchmark (scripts/bench --scale). The least a server can
 * hold per keep-alive connection: one epoll registration and the kernel's socket, no user-space state at all.
 *
 * One thread, level-triggered epoll. Reads go to one static buffer shared by all connections; every CRLFCRLF in
 * what was read is answered with the same bytes as Knot's example (Date fixed at start). A request split across
 * reads is not handled: this is a memory floor for clients that send whole requests, not an HTTP server.
 *
 * Build: gcc -O2 -o http_floor http_floor.c
 * Usage: http_floor PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: http_floor PORT\n");
        return 2;
    }
    char date[64], resp[256];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    int rlen = snprintf(resp, sizeof resp,
                        "HTTP/1.1 200 OK\r\nServer: knot\r\nContent-Type: text/plain\r\nDate: %s\r\n"
                        "Content-Length: 13\r\n\r\nHello, World!", date);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
        perror("http_floor: bind/listen");
        return 1;
    }
    printf("http floor on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static char buf[65536], out[65536];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            int n = read(fd, buf, sizeof buf);
            if (n <= 0) {
                close(fd);
                continue;
            }
            int o = 0;
            for (int j = 3; j < n; j++) {
                if (buf[j] == '\n' && buf[j - 1] == '\r' && buf[j - 2] == '\n' && buf[j - 3] == '\r'
                    && o + rlen <= (int)sizeof out) {
                    memcpy(out + o, resp, rlen);
                    o += rlen;
                }
            }
            if (o > 0 && write(fd, out, o) < 0) close(fd);
        }
    }
}
