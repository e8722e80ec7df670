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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: qg-broker [--brokers N] [--partitions P] [--topics T1,T2,...]\n"
               "                 [--topic-prefix PREFIX]\n"
               "Runs an in-process mock Kafka cluster (librdkafka) until SIGTERM.\n"
               "Prints the bootstrap server list on the first line of stdout.\n"
               "  --brokers N          number of mock brokers (default 1)\n"
               "  --partitions P       partitions of the topics created at start (default 4;\n"
               "                       topics created on first use get 4)\n"
               "  --topics LIST        topics to create at start\n"
               "  --topic-prefix P     create the pipeline's topics at start: P.<stage> and\n"
               "                       P.<stage>.retry of the three built-in stages,\n"
               "                       P.completed and P.dlq (clients then find them in\n"
               "                       their first metadata answer)\n"
               "Clients: -F config/embedded-broker.properties (see docs/kafka.md).\n");
}

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

/* The topics a pipeline of the built-in stages uses, under prefix. */
static int create_pipeline_topics(rd_kafka_mock_cluster_t *mc, const char *prefix, int partitions)
{
    static const char *const suffixes[] = {
        "swrlSelection", "swrlSelection.retry", "yamlBinding", "yamlBinding.retry",
        "simulation",    "simulation.retry",    "completed",   "dlq",
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
    int brokers = 1, partitions = 4;
    const char *topics = NULL, *prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("qg-broker %s (librdkafka %s)\n", QG_VERSION, rd_kafka_version_str());
            return 0;
        } else if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
            brokers = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) {
            partitions = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--topics") && i + 1 < argc) {
            topics = argv[++i];
        } else if (!strcmp(argv[i], "--topic-prefix") && i + 1 < argc) {
            prefix = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (brokers < 1 || partitions < 1) {
        fprintf(stderr, "qg-broker: --brokers and --partitions must be at least 1\n");
        return 2;
    }
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
    int rc = 0;
    if (topics && create_topics(mc, topics, partitions) != 0)
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
    return rc;
}
