/*
 * metrics_http.c - the smallest HTTP/1.0 listener that serves a metrics
 * registry: one thread, one connection at a time, 2 s per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define REQUEST_MAX 4096

struct qg_metrics_server_s {
    qg_metrics_t *m;
    int fd;
    int port;
    int stop_pipe[2];
    pthread_t thread;
};

static int split_listen(const char *listen, char *host, size_t hsz, char *port, size_t psz)
{
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        snprintf(host, hsz, "0.0.0.0");
        snprintf(port, psz, "%s", listen);
        return 0;
    }
    size_t n = (size_t)(colon - listen);
    if (listen[0] == '[' && n >= 2 && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= hsz)
        return -1;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (!host[0])
        snprintf(host, hsz, "0.0.0.0");
    snprintf(port, psz, "%s", colon + 1);
    return 0;
}

static int listen_socket(const char *where, char *errstr, size_t sz)
{
    char host[256], port[32];
    if (split_listen(where, host, sizeof(host), port, sizeof(port)) != 0 || !port[0]) {
        snprintf(errstr, sz, "metrics.listen: %s: expected host:port", where);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) {
        snprintf(errstr, sz, "metrics.listen: %s: %s", where, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        snprintf(errstr, sz, "metrics.listen: %s: %s", where, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    if (write_all(fd, head, (size_t)n) == 0)
        write_all(fd, body, len);
}

static void serve_one(qg_metrics_server_t *s, int fd)
{
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[REQUEST_MAX + 1];
    size_t len = 0;
    while (len < REQUEST_MAX) {
        ssize_t r = recv(fd, req + len, REQUEST_MAX - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[len] = '\0';
    if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13)) {
        size_t n = 0;
        char *text = qg_metrics_render(s->m, &n);
        if (text)
            reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, n);
        else
            reply(fd, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
        free(text);
    } else if (!strncmp(req, "GET /healthz ", 13)) {
        reply(fd, "200 OK", "text/plain", "ok\n", 3);
    } else {
        reply(fd, "404 Not Found", "text/plain", "not found\n", 10);
    }
}

static void *server_thread(void *arg)
{
    qg_metrics_server_t *s = arg;
    struct pollfd fds[2] = {{.fd = s->fd, .events = POLLIN},
                            {.fd = s->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char port[32];
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port, sizeof(port), NI_NUMERICSERV))
        return -1;
    return atoi(port);
}

qg_metrics_server_t *qg_metrics_server_start(qg_metrics_t *m, const char *listen, char *errstr,
                                             size_t sz)
{
    qg_metrics_server_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    s->m = m;
    s->fd = listen_socket(listen, errstr, sz);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    s->port = bound_port(s->fd);
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0 || pthread_create(&s->thread, NULL, server_thread, s)) {
        snprintf(errstr, sz, "metrics listener: %s", strerror(errno));
        close(s->fd);
        free(s);
        return NULL;
    }
    qg_info("metrics", "serving /metrics on port %d", s->port);
    return s;
}

int qg_metrics_server_port(const qg_metrics_server_t *s)
{
    return s ? s->port : -1;
}

void qg_metrics_server_stop(qg_metrics_server_t *s)
{
    if (!s)
        return;
    if (write(s->stop_pipe[1], "x", 1) == 1)
        pthread_join(s->thread, NULL);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    close(s->fd);
    free(s);
}
