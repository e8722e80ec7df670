/*
 * test_metrics.c - the metrics registry, its Prometheus text and the listener.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

static char *render(qg_metrics_t *m)
{
    char *text = qg_metrics_render(m, NULL);
    cr_assert_not_null(text);
    return text;
}

Test(metrics, counters_add_up_per_series)
{
    qg_metrics_t *m = qg_metrics_new();
    qg_metrics_counter_add(m, "jobs_total", "Jobs.", "stage=\"a\"", 1);
    qg_metrics_counter_add(m, "jobs_total", "Jobs.", "stage=\"a\"", 2);
    qg_metrics_counter_add(m, "jobs_total", "Jobs.", "stage=\"b\"", 5);
    qg_metrics_counter_add(m, "jobs_total", "Jobs.", "stage=\"b\"", -1); /* refused */
    cr_assert_eq(qg_metrics_value(m, "jobs_total", "stage=\"a\""), 3);
    cr_assert_eq(qg_metrics_value(m, "jobs_total", "stage=\"b\""), 5);
    char *text = render(m);
    cr_assert(strstr(text, "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\n"), "%s", text);
    cr_assert(strstr(text, "jobs_total{stage=\"a\"} 3\n"), "%s", text);
    cr_assert(strstr(text, "jobs_total{stage=\"b\"} 5\n"), "%s", text);
    /* One HELP line per metric, however many series. */
    cr_assert_null(strstr(strstr(text, "# HELP jobs_total") + 1, "# HELP jobs_total"));
    free(text);
    qg_metrics_destroy(m);
}

Test(metrics, label_values_are_escaped)
{
    char buf[128];
    qg_metrics_labels(buf, sizeof(buf), "a", "x\"y\\z\nw", "b", NULL, NULL);
    cr_assert_str_eq(buf, "a=\"x\\\"y\\\\z\\nw\",b=\"\"");
}

Test(metrics, histogram_buckets_are_cumulative)
{
    qg_metrics_t *m = qg_metrics_new();
    double values[] = {0.0005, 0.003, 0.003, 0.2, 700};
    for (size_t i = 0; i < 5; i++)
        qg_metrics_observe(m, "lat_seconds", "Latency.", "", values[i]);
    char *text = render(m);
    cr_assert(strstr(text, "# TYPE lat_seconds histogram\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"0.001\"} 1\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"0.005\"} 3\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"0.25\"} 4\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"600\"} 4\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_bucket{le=\"+Inf\"} 5\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_count 5\n"), "%s", text);
    cr_assert(strstr(text, "lat_seconds_sum 700.2065"), "%s", text);
    free(text);
    qg_metrics_destroy(m);
}

Test(metrics, the_registry_is_bounded)
{
    qg_metrics_t *m = qg_metrics_new();
    char labels[64];
    for (int i = 0; i < QG_METRICS_MAX_SERIES + 10; i++) {
        snprintf(labels, sizeof(labels), "i=\"%d\"", i);
        qg_metrics_counter_add(m, "many_total", "Many.", labels, 1);
    }
    char *text = render(m);
    cr_assert(strstr(text, "qg_metrics_dropped_series_total 10\n"), "%s",
              strstr(text, "qg_metrics_dropped"));
    free(text);
    qg_metrics_destroy(m);
}

static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(1, cap);
    for (ssize_t r; (r = read(fd, buf + len, cap - 1 - len)) > 0;)
        len += (size_t)r;
    close(fd);
    return buf;
}

Test(metrics, the_listener_serves_the_registry)
{
    qg_metrics_t *m = qg_metrics_new();
    qg_metrics_counter_add(m, "served_total", "Served.", NULL, 7);
    char errstr[256];
    qg_metrics_server_t *s = qg_metrics_server_start(m, "127.0.0.1:0", errstr, sizeof(errstr));
    cr_assert_not_null(s, "%s", errstr);
    int port = qg_metrics_server_port(s);
    cr_assert_gt(port, 0);
    char *resp = http_get(port, "/metrics");
    cr_assert(strstr(resp, "HTTP/1.0 200 OK"), "%s", resp);
    cr_assert(strstr(resp, "Content-Type: text/plain; version=0.0.4"), "%s", resp);
    cr_assert(strstr(resp, "\r\n\r\n# HELP served_total Served.\n"), "%s", resp);
    cr_assert(strstr(resp, "served_total 7\n"), "%s", resp);
    free(resp);
    resp = http_get(port, "/other");
    cr_assert(strstr(resp, "404"), "%s", resp);
    free(resp);
    qg_metrics_server_stop(s);
    qg_metrics_destroy(m);
}

Test(metrics, a_bad_listen_address_is_refused)
{
    char errstr[256];
    qg_metrics_server_t *s = qg_metrics_server_start(qg_metrics_global(), "no-such-host.invalid:1",
                                                     errstr, sizeof(errstr));
    cr_assert_null(s);
    cr_assert(strstr(errstr, "metrics.listen"), "%s", errstr);
}
