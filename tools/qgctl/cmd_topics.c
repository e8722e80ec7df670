/*
 * cmd_topics.c - `qgctl topics STAGE...`: create the topics of the named stages
 * (input and retry), <prefix>.completed and <prefix>.dlq ahead of time, for
 * clusters where workers may not create topics (ACLs without Create). With
 * --trigger also qg-trigger's own topics, with the settings qg-trigger gives them
 * when it creates them itself (tools/qg-trigger/kstate.c).
 */
#include <stdio.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "qgctl.h"

#define QGCTL_TOPIC_NAME_MAX 300
#define QGCTL_TOPICS_MAX     64

static const qg_cli_t topics_cli = {
    .program = "qgctl topics",
    .usage = "STAGE... [--trigger] [options]",
    .about = "Creates <prefix>.STAGE and <prefix>.STAGE.retry for each stage, <prefix>.completed "
             "and <prefix>.dlq (existing topics are left as they are), for clusters where workers "
             "may not create topics. Uses topic.prefix, topics.partitions and "
             "topics.replication.factor. --trigger adds qg-trigger's topics.",
    .max_positional = -1,
};

static const qg_option_t topics_options[] = {
    QG_OPT_BOOL("trigger", "false",
                "also create qg-trigger's topics: <prefix>.watches (compacted), "
                "<prefix>.trigger.dedup (compacted, dedup.retention.ms) and <prefix>.updates"),
    QG_OPT_MS("dedup.retention.ms", "604800000", 60000, 31536000000.0,
              "retention of <prefix>.trigger.dedup (qg-trigger's key of the same name)"),
    QG_OPT_TABLE_END("qgctl-topics"),
};

#define QGCTL_TRIGGER_TOPICS 3

static int topics_create(const qg_config_t *cfg, char **stages, int nstages)
{
    static char names[QGCTL_TOPICS_MAX][QGCTL_TOPIC_NAME_MAX];
    const char *topics[QGCTL_TOPICS_MAX + 1];
    const char *const *configs[QGCTL_TOPICS_MAX + 1] = {NULL};
    const char *prefix = qg_config_get(cfg, "topic.prefix");
    size_t n = 0;
    if (2 * (size_t)nstages + 2 + QGCTL_TRIGGER_TOPICS > QGCTL_TOPICS_MAX) {
        fprintf(stderr, "qgctl topics: at most %d stages at once\n",
                (QGCTL_TOPICS_MAX - 2 - QGCTL_TRIGGER_TOPICS) / 2);
        return 2;
    }
    for (int i = 0; i < nstages; i++) {
        topics[n] = qg_topic_stage(names[n], QGCTL_TOPIC_NAME_MAX, prefix, stages[i]);
        n++;
        topics[n] = qg_topic_retry(names[n], QGCTL_TOPIC_NAME_MAX, prefix, stages[i]);
        n++;
    }
    topics[n] = qg_topic_completed(names[n], QGCTL_TOPIC_NAME_MAX, prefix);
    n++;
    topics[n] = qg_topic_dlq(names[n], QGCTL_TOPIC_NAME_MAX, prefix);
    n++;
    /* qg-trigger's state: the watches and the event ids it has made goals of, read from
     * the start at every start (compacted), and the updated answers it publishes. */
    char retention[32];
    static const char *const watches_cfg[] = {"cleanup.policy", "compact", NULL};
    static const char *const updates_cfg[] = {"cleanup.policy", "delete", NULL};
    const char *const dedup_cfg[] = {"cleanup.policy", "compact,delete", "retention.ms", retention,
                                     NULL};
    snprintf(retention, sizeof(retention), "%lld",
             (long long)qg_config_ms(cfg, "dedup.retention.ms"));
    if (qg_config_bool(cfg, "trigger")) {
        const struct {
            const char *suffix;
            const char *const *config;
        } trg[QGCTL_TRIGGER_TOPICS] = {
            {"watches", watches_cfg}, {"trigger.dedup", dedup_cfg}, {"updates", updates_cfg}};
        for (size_t i = 0; i < QGCTL_TRIGGER_TOPICS; i++, n++) {
            snprintf(names[n], QGCTL_TOPIC_NAME_MAX, "%s.%s", prefix, trg[i].suffix);
            topics[n] = names[n];
            configs[n] = trg[i].config;
        }
    }
    topics[n] = NULL;
    char errstr[512];
    rd_kafka_t *rk = qg_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "qgctl topics: %s\n", errstr);
        return 1;
    }
    int rc = qg_kafka_ensure_topics_config(
        rk, topics, configs, (int)qg_config_int(cfg, "topics.partitions"),
        (int)qg_config_int(cfg, "topics.replication.factor"), errstr, sizeof(errstr));
    if (rc != 0)
        fprintf(stderr, "qgctl topics: %s\n", errstr);
    else
        for (size_t i = 0; i < n; i++)
            printf("%s\n", topics[i]);
    rd_kafka_destroy(rk);
    return rc ? 1 : 0;
}

int qgctl_cmd_topics(int argc, char **argv)
{
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&topics_cli, argc, argv, topics_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    if (nrest > 0 || qg_config_bool(cfg, "trigger")) {
        rc = topics_create(cfg, rest, nrest);
    } else {
        fprintf(stderr, "qgctl topics: name at least one STAGE or --trigger (see --help)\n");
        rc = 2;
    }
    qg_config_destroy(cfg);
    return rc;
}
