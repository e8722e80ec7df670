/*
 * opts.c - qg-loadgen's command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static const qg_option_t loadgen_options[] = {
    QG_OPT_STR("bootstrap.servers", NULL,
               "bootstrap servers, also -b (default $QG_BOOTSTRAP or 127.0.0.1:9092)"),
    QG_OPT_STR("brokers", NULL, "same as --bootstrap-servers"),
    QG_OPT_STR("topic.prefix", "querygoal", "topic prefix"),
    QG_OPT_STR("run.id", "lg", "goal ids are ID-g<n>, markers ID-m<n>"),
    QG_OPT_INT("count", "1000", 0, 1000000000, "good goals"),
    QG_OPT_INT("malformed", "0", 0, 1000000000, "malformed messages"),
    QG_OPT_INT("size", "2048", 0, 104857600, "approximate goal size in bytes"),
    QG_OPT_STR("stages", "passA,passB,passC",
               "pipelines: \"a,b,c;a,c\": goal n uses pipeline n % count"),
    QG_OPT_INT("max.bytes", "262144", 1, 104857600,
               "the workers' value size limit; oversize messages are this + 1 KiB"),
    QG_OPT_INT("partitions", "4", 1, 10000, "partitions of created topics"),
    QG_OPT_BOOL("no.create.topics", "false",
                "do not create topics (the mock cluster auto-creates them)"),
    QG_OPT_DOUBLE("timeout", "120", 0, 604800, "verify/bench: give up after this many seconds"),
    QG_OPT_DOUBLE("settle", "2", 0, 3600,
                  "verify: keep reading this many seconds after the last expected record to "
                  "catch duplicates"),
    QG_OPT_DOUBLE("rate", "0", 0, 10000000, "bench/produce: goals per second, 0 = unlimited"),
    QG_OPT_INT("fail.every", "0", 0, 1000000000,
               "every K-th goal carries parameter fail=<class> (for workers run with "
               "-X passthrough.fail.param=fail) and must end in the DLQ with that class "
               "(transient: transient_exhausted); 0: none"),
    QG_OPT_LIST("fail.classes", "transient,stage_error,gate_failed,bad_input",
                "classes to cycle through"),
    QG_OPT_BOOL("at.least.once", "false", "verify: duplicates are reported, not failures"),
    QG_OPT_BOOL("json", "false", "print the report as one JSON line"),
    QG_OPT_STR("dump", NULL,
               "verify/bench: write one CSV line per completed goal "
               "(goal, produced_ms, e2e_ms, read_ms, stage:hop_ms;...)"),
    QG_OPT_INT("members", "1", 0, 10000, "wait-groups: members expected in each stage's group"),
    QG_OPT_TABLE_END("qg-loadgen"),
};

#define LG_ABOUT                                                                                   \
    "  produce  send --count goals (key = goalId) to each goal's first stage topic,\n"             \
    "           plus --malformed bad messages to the first stage of the first pipeline\n"          \
    "  verify   read <prefix>.completed and <prefix>.dlq (read_committed) and check\n"             \
    "           every goal arrived exactly once (--at-least-once: at least once) with\n"           \
    "           its stages in order, every bad message in the DLQ as bad_input;\n"                 \
    "           print end-to-end and per-hop latency\n"                                            \
    "  bench    produce at --rate while verifying; print throughput and latency\n"                 \
    "  topics   only create the topics\n"                                                          \
    "  wait-groups  wait until each stage's consumer group <prefix>.<stage>.workers is\n"          \
    "           Stable with --members members\n"                                                   \
    "-X key=value: a key below, or a librdkafka property for every client."

/* Split "a,b,c;a,c" into pipelines (pointing into o->spec_buf). */
static qg_error_t *parse_pipelines(lg_opts_t *o)
{
    free(o->spec_buf);
    o->spec_buf = strdup(o->stages_spec);
    if (!o->spec_buf)
        return qg_error_new_oom("out of memory");
    o->npipelines = 0;
    char *save_p = NULL;
    for (char *p = strtok_r(o->spec_buf, ";", &save_p); p; p = strtok_r(NULL, ";", &save_p)) {
        if (o->npipelines == LG_MAX_PIPELINES)
            return qg_error_new_bad_input("--stages: more than %d pipelines", LG_MAX_PIPELINES);
        lg_pipeline_t *pl = &o->pipelines[o->npipelines++];
        pl->n = 0;
        char *save_s = NULL;
        for (char *s = strtok_r(p, ",", &save_s); s; s = strtok_r(NULL, ",", &save_s)) {
            if (pl->n == LG_MAX_STAGES)
                return qg_error_new_bad_input("--stages: more than %d stages", LG_MAX_STAGES);
            pl->stage[pl->n++] = s;
        }
        if (pl->n == 0)
            return qg_error_new_bad_input("--stages: empty pipeline in \"%s\"", o->stages_spec);
    }
    if (o->npipelines == 0)
        return qg_error_new_bad_input("--stages: no pipeline in \"%s\"", o->stages_spec);
    return NULL;
}

/* Split --fail-classes into o->fail_class[]. */
static qg_error_t *parse_fail_classes(lg_opts_t *o)
{
    free(o->fail_buf);
    o->fail_buf = strdup(o->fail_classes_spec);
    if (!o->fail_buf)
        return qg_error_new_oom("out of memory");
    o->nfail_classes = 0;
    char *save = NULL;
    for (char *c = strtok_r(o->fail_buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        if (qg_error_class_from_name(c) < 0 || o->nfail_classes == 8)
            return qg_error_new_bad_input("--fail-classes: bad class \"%s\"", c);
        o->fail_class[o->nfail_classes++] = c;
    }
    if (o->fail_every > 0 && o->nfail_classes == 0)
        return qg_error_new_bad_input("--fail-classes: empty");
    return NULL;
}

/* Options from the configuration; strings point into o->cfg. */
static qg_error_t *opts_from_config(lg_opts_t *o)
{
    const qg_config_t *cfg = o->cfg;
    const char *b = qg_config_get(cfg, "bootstrap.servers");
    if (!b || !*b)
        b = qg_config_get(cfg, "brokers");
    if (!b || !*b)
        b = getenv("QG_BOOTSTRAP");
    o->brokers = b && *b ? b : "127.0.0.1:9092";
    o->prefix = qg_config_get(cfg, "topic.prefix");
    o->run_id = qg_config_get(cfg, "run.id");
    o->stages_spec = qg_config_get(cfg, "stages");
    o->fail_classes_spec = qg_config_get(cfg, "fail.classes");
    o->dump_path = qg_config_get(cfg, "dump");
    o->count = (long)qg_config_int(cfg, "count");
    o->malformed = (long)qg_config_int(cfg, "malformed");
    o->size = (size_t)qg_config_int(cfg, "size");
    o->max_bytes = (size_t)qg_config_int(cfg, "max.bytes");
    o->partitions = (int)qg_config_int(cfg, "partitions");
    o->timeout_s = qg_config_double(cfg, "timeout");
    o->settle_s = qg_config_double(cfg, "settle");
    o->rate = qg_config_double(cfg, "rate");
    o->at_least_once = qg_config_bool(cfg, "at.least.once");
    o->json = qg_config_bool(cfg, "json");
    o->members = (int)qg_config_int(cfg, "members");
    o->fail_every = (long)qg_config_int(cfg, "fail.every");
    o->create_topics = !qg_config_bool(cfg, "no.create.topics");
    for (size_t i = 0; i < qg_config_kafka_count(cfg); i++) {
        if (o->nprops == LG_MAX_PROPS)
            return qg_error_new_bad_input("-X: more than %d librdkafka properties", LG_MAX_PROPS);
        const char *key, *value;
        qg_config_kafka_at(cfg, i, &key, &value);
        o->props[o->nprops][0] = key;
        o->props[o->nprops++][1] = value;
    }
    if (strlen(o->run_id) > 64 || strlen(o->prefix) > 128)
        return qg_error_new_bad_input("--run-id or --topic-prefix too long");
    qg_error_t *err = parse_fail_classes(o);
    return err ? err : parse_pipelines(o);
}

int lg_opts_parse(lg_opts_t *o, int argc, char **argv, const char **cmd)
{
    char version[96];
    snprintf(version, sizeof(version), "%s (librdkafka %s)", QG_VERSION, rd_kafka_version_str());
    const qg_cli_t cli = {
        .program = "qg-loadgen",
        .usage = "produce|verify|bench|topics|wait-groups [options] (the command may stand "
                 "anywhere)",
        .about = LG_ABOUT,
        .version = version,
        .max_positional = 1,
    };
    const qg_option_t *const tables[] = {loadgen_options};
    char **rest;
    int nrest, rc;
    memset(o, 0, sizeof(*o));
    *cmd = NULL;
    o->cfg = qg_cli_config(&cli, tables, 1, argc, argv, &rest, &nrest, &rc);
    if (!o->cfg)
        return rc;
    qg_error_t *err = nrest < 1
                          ? qg_error_new_bad_input("no command (produce, verify, bench, topics, "
                                                   "wait-groups)")
                          : opts_from_config(o);
    if (err) {
        fprintf(stderr, "qg-loadgen: %s\n", qg_error_message(err));
        qg_error_destroy(err);
        return 2;
    }
    *cmd = rest[0];
    return 0;
}

void lg_opts_free(lg_opts_t *o)
{
    free(o->spec_buf);
    o->spec_buf = NULL;
    free(o->fail_buf);
    o->fail_buf = NULL;
    qg_config_destroy(o->cfg);
    o->cfg = NULL;
}
