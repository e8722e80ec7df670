/*
 * qg-broker - an embedded Kafka for the demo and fast tests: librdkafka's
 * mock cluster with N brokers. Prints the bootstrap list on the first line
 * of stdout and serves until SIGTERM/SIGINT.
 *
 * Not a real broker: no CreateTopics (topics are auto-created with
 * the mock's own partition count), no TLS/SASL, no transactional offset storage.
 * Clients need a few settings of their own on it (config/embedded-broker.properties):
 * the mock holds an empty fetch for the whole fetch.wait.max.ms, and lets a
 * rebalance wait session.timeout.ms - 1 s for members to rejoin.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static const qg_option_t broker_options[] = {
    QG_OPT_INT("brokers", "1", 1, 64, "number of mock brokers"),
    QG_OPT_INT("partitions", "4", 1, 10000,
               "partitions of the topics given with --topics (topics created on first use get 4)"),
    QG_OPT_LIST("topics", "", "topics to create at start"),
    QG_OPT_STR("topic.prefix", NULL,
               "create the pipeline's topics at start: P.<stage> and P.<stage>.retry of the "
               "built-in stages, P.completed and P.dlq (clients then find them in their first "
               "metadata answer; clients use -F config/embedded-broker.properties)"),
    QG_OPT_TABLE_END("qg-broker"),
};

static int create_topics(rd_kafka_mock_cluster_t *mc, const char *list, int partitions)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, t, partitions, 1);
        if (err) {
            fprintf(stderr, "qg-broker: create topic %s: %s\n", t, rd_kafka_err2str(err));
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

/*
 * librdkafka's mock brokers leave Nagle's algorithm on for the connections they
 * accept: a response written while the previous one on the connection is not yet
 * acknowledged waits for the client's delayed ACK, 40 ms on Linux (qgctl's
 * ListOffsets answered in 42 ms instead of 0.1 ms, on about half the goals). Kafka
 * sets TCP_NODELAY on its connections. Linux passes a listening socket's
 * TCP_NODELAY on to the sockets it accepts, so it is set on the mock's listening
 * sockets (the only listening TCP sockets here) before any client knows the port.
 * Returns how many were set.
 */
static int listeners_nodelay(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name), v = 0, on = 1;
        socklen_t len = sizeof(v);
        if (fd == dirfd(d) || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || !v)
            continue;
        len = sizeof(v);
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == IPPROTO_TCP &&
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The topics a pipeline of the built-in stages uses, under prefix. */
static int create_pipeline_topics(rd_kafka_mock_cluster_t *mc, const char *prefix, int partitions)
{
    static const char *const suffixes[] = {
        "swrlSelection", "swrlSelection.retry", "yamlBinding", "yamlBinding.retry",
        "simulation",    "simulation.retry",    "aasQuery",    "aasQuery.retry",
        "dataFiltering", "dataFiltering.retry", "completed",   "dlq",
    };
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char topic[512];
        if (snprintf(topic, sizeof(topic), "%s.%s", prefix, suffixes[i]) >= (int)sizeof(topic)) {
            fprintf(stderr, "qg-broker: topic prefix too long\n");
            return -1;
        }
        if (create_topics(mc, topic, partitions) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char version[96];
    snprintf(version, sizeof(version), "%s (librdkafka %s)", QG_VERSION, rd_kafka_version_str());
    const qg_cli_t cli = {
        .program = "qg-broker",
        .usage = "[--brokers N] [--partitions P] [--topics T1,T2,...] [--topic-prefix P]",
        .about = "Runs an in-process mock Kafka cluster (librdkafka) until SIGTERM.\n"
                 "Prints the bootstrap server list on the first line of stdout.",
        .version = version,
        .max_positional = 0,
    };
    const qg_option_t *const tables[] = {broker_options};
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qg_cli_config(&cli, tables, 1, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    int brokers = (int)qg_config_int(cfg, "brokers");
    int partitions = (int)qg_config_int(cfg, "partitions");
    const char *topics = qg_config_get(cfg, "topics");
    const char *prefix = qg_config_get(cfg, "topic.prefix");
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The mock cluster needs a client instance to live in. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "qg-broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "qg-broker: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    if (listeners_nodelay() < brokers)
        fprintf(stderr, "qg-broker: TCP_NODELAY not set on every mock broker's listening socket; "
                        "some answers may wait 40 ms for a delayed ACK\n");
    if (*topics && create_topics(mc, topics, partitions) != 0)
        rc = 1;
    if (!rc && prefix && create_pipeline_topics(mc, prefix, partitions) != 0)
        rc = 1;
    if (!rc) {
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        while (!stop)
            pause();
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    qg_config_destroy(cfg);
    return rc;
}
