/*
 * opts.c - qg-loadgen's command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

void lg_usage(void *file)
{
    fprintf((FILE *)file,
            "usage: qg-loadgen produce|verify|bench|topics|wait-groups [options] (the command may "
            "stand anywhere)\n"
            "  produce  send --count goals (key = goalId) to each goal's first stage topic,\n"
            "           plus --malformed bad messages to the first stage of the first pipeline\n"
            "  verify   read <prefix>.completed and <prefix>.dlq (read_committed) and check\n"
            "           every goal arrived exactly once (--at-least-once: at least once) with\n"
            "           its stages in order, every bad message in the DLQ as bad_input;\n"
            "           print end-to-end and per-hop latency\n"
            "  bench    produce at --rate while verifying; print throughput and latency\n"
            "  topics   only create the topics\n"
            "  wait-groups  wait until each stage's consumer group <prefix>.<stage>.workers is\n"
            "           Stable with --members members (default 1)\n"
            "options:\n"
            "  -b, --brokers LIST     bootstrap servers (default $QG_BOOTSTRAP or "
            "127.0.0.1:9092)\n"
            "  --topic-prefix P       topic prefix (default querygoal)\n"
            "  --run-id ID            goal ids are ID-g<n>, markers ID-m<n> (default lg)\n"
            "  --count N              good goals (default 1000)\n"
            "  --malformed M          malformed messages (default 0)\n"
            "  --size BYTES           approximate goal size (default 2048)\n"
            "  --stages SPEC          pipelines: \"a,b,c;a,c\" goal n uses pipeline n %% count\n"
            "                         (default passA,passB,passC)\n"
            "  --max-bytes BYTES      the workers' value size limit; oversize messages are\n"
            "                         this + 1 KiB (default 262144)\n"
            "  --partitions N         partitions of created topics (default 4)\n"
            "  --no-create-topics     do not create topics (mock cluster auto-creates them)\n"
            "  --timeout S            verify/bench: give up after S seconds (default 120)\n"
            "  --settle S             verify: keep reading S seconds after the last expected\n"
            "                         record to catch duplicates (default 2)\n"
            "  --rate R               bench/produce: goals per second, 0 = unlimited "
            "(default 0)\n"
            "  --fail-every K         every K-th goal carries parameter fail=<class> (for\n"
            "                         workers run with -X passthrough.fail.param=fail) and\n"
            "                         must end in the DLQ with that class (transient:\n"
            "                         transient_exhausted) (default 0: none)\n"
            "  --fail-classes LIST    classes to cycle through (default\n"
            "                         transient,stage_error,gate_failed,bad_input)\n"
            "  --at-least-once        verify: duplicates are reported, not failures\n"
            "  --json                 print the report as one JSON line\n"
            "  --dump FILE            verify/bench: write one CSV line per completed goal\n"
            "                         (goal, produced_ms, e2e_ms, read_ms, stage:hop_ms;...)\n"
            "  -X key=value           librdkafka property for every client\n"
            "  -h, --help\n");
}

static qg_error_t *parse_long(const char *name, const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return qg_error_new(QG_ERR_BAD_INPUT, "--%s: expected an integer >= %ld, got \"%s\"", name,
                            min, s);
    *out = v;
    return NULL;
}

static qg_error_t *parse_double(const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0)
        return qg_error_new(QG_ERR_BAD_INPUT, "--%s: expected a number >= 0, got \"%s\"", name, s);
    *out = v;
    return NULL;
}

/* Split "a,b,c;a,c" into pipelines (pointing into o->spec_buf). */
static qg_error_t *parse_pipelines(lg_opts_t *o)
{
    free(o->spec_buf);
    o->spec_buf = strdup(o->stages_spec);
    if (!o->spec_buf)
        return qg_error_new(QG_ERR_FATAL, "out of memory");
    o->npipelines = 0;
    char *save_p = NULL;
    for (char *p = strtok_r(o->spec_buf, ";", &save_p); p; p = strtok_r(NULL, ";", &save_p)) {
        if (o->npipelines == LG_MAX_PIPELINES)
            return qg_error_new(QG_ERR_BAD_INPUT, "--stages: more than %d pipelines",
                                LG_MAX_PIPELINES);
        lg_pipeline_t *pl = &o->pipelines[o->npipelines++];
        pl->n = 0;
        char *save_s = NULL;
        for (char *s = strtok_r(p, ",", &save_s); s; s = strtok_r(NULL, ",", &save_s)) {
            if (pl->n == LG_MAX_STAGES)
                return qg_error_new(QG_ERR_BAD_INPUT, "--stages: more than %d stages",
                                    LG_MAX_STAGES);
            pl->stage[pl->n++] = s;
        }
        if (pl->n == 0)
            return qg_error_new(QG_ERR_BAD_INPUT, "--stages: empty pipeline in \"%s\"",
                                o->stages_spec);
    }
    if (o->npipelines == 0)
        return qg_error_new(QG_ERR_BAD_INPUT, "--stages: no pipeline in \"%s\"", o->stages_spec);
    return NULL;
}

enum {
    OPT_PREFIX = 256,
    OPT_RUN_ID,
    OPT_COUNT,
    OPT_MALFORMED,
    OPT_SIZE,
    OPT_STAGES,
    OPT_MAX_BYTES,
    OPT_PARTITIONS,
    OPT_NO_CREATE,
    OPT_TIMEOUT,
    OPT_SETTLE,
    OPT_RATE,
    OPT_ALO,
    OPT_JSON,
    OPT_MEMBERS,
    OPT_FAIL_EVERY,
    OPT_FAIL_CLASSES,
    OPT_DUMP,
};

static const struct option long_opts[] = {
    {"brokers", required_argument, NULL, 'b'},
    {"bootstrap-servers", required_argument, NULL, 'b'},
    {"topic-prefix", required_argument, NULL, OPT_PREFIX},
    {"run-id", required_argument, NULL, OPT_RUN_ID},
    {"count", required_argument, NULL, OPT_COUNT},
    {"malformed", required_argument, NULL, OPT_MALFORMED},
    {"size", required_argument, NULL, OPT_SIZE},
    {"stages", required_argument, NULL, OPT_STAGES},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
    {"partitions", required_argument, NULL, OPT_PARTITIONS},
    {"no-create-topics", no_argument, NULL, OPT_NO_CREATE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"at-least-once", no_argument, NULL, OPT_ALO},
    {"json", no_argument, NULL, OPT_JSON},
    {"members", required_argument, NULL, OPT_MEMBERS},
    {"fail-every", required_argument, NULL, OPT_FAIL_EVERY},
    {"fail-classes", required_argument, NULL, OPT_FAIL_CLASSES},
    {"dump", required_argument, NULL, OPT_DUMP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void opts_defaults(lg_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->brokers = getenv("QG_BOOTSTRAP");
    if (!o->brokers || !*o->brokers)
        o->brokers = "127.0.0.1:9092";
    o->prefix = "querygoal";
    o->run_id = "lg";
    o->stages_spec = "passA,passB,passC";
    o->count = 1000;
    o->size = 2048;
    o->max_bytes = 262144;
    o->partitions = 4;
    o->timeout_s = 120;
    o->settle_s = 2;
    o->create_topics = 1;
    o->members = 1;
    o->fail_classes_spec = "transient,stage_error,gate_failed,bad_input";
}

/* Split --fail-classes into o->fail_class[]. */
static qg_error_t *parse_fail_classes(lg_opts_t *o)
{
    free(o->fail_buf);
    o->fail_buf = strdup(o->fail_classes_spec);
    if (!o->fail_buf)
        return qg_error_new(QG_ERR_FATAL, "out of memory");
    o->nfail_classes = 0;
    char *save = NULL;
    for (char *c = strtok_r(o->fail_buf, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        if (qg_error_class_from_name(c) < 0 || o->nfail_classes == 8)
            return qg_error_new(QG_ERR_BAD_INPUT, "--fail-classes: bad class \"%s\"", c);
        o->fail_class[o->nfail_classes++] = c;
    }
    if (o->fail_every > 0 && o->nfail_classes == 0)
        return qg_error_new(QG_ERR_BAD_INPUT, "--fail-classes: empty");
    return NULL;
}

/* One option; returns NULL or an error. */
static qg_error_t *opts_apply(lg_opts_t *o, int c, const char *arg)
{
    long l;
    qg_error_t *err = NULL;
    switch (c) {
    case 'b':
        o->brokers = arg;
        break;
    case 'X':
        if (!strchr(arg, '=') || o->nprops == LG_MAX_PROPS)
            return qg_error_new(QG_ERR_BAD_INPUT, "-X: expected key=value, got \"%s\"", arg);
        o->props[o->nprops++] = arg;
        break;
    case OPT_PREFIX:
        o->prefix = arg;
        break;
    case OPT_RUN_ID:
        o->run_id = arg;
        break;
    case OPT_COUNT:
        err = parse_long("count", arg, 0, &o->count);
        break;
    case OPT_MALFORMED:
        err = parse_long("malformed", arg, 0, &o->malformed);
        break;
    case OPT_SIZE:
        if (!(err = parse_long("size", arg, 0, &l)))
            o->size = (size_t)l;
        break;
    case OPT_STAGES:
        o->stages_spec = arg;
        break;
    case OPT_MAX_BYTES:
        if (!(err = parse_long("max-bytes", arg, 1, &l)))
            o->max_bytes = (size_t)l;
        break;
    case OPT_PARTITIONS:
        if (!(err = parse_long("partitions", arg, 1, &l)))
            o->partitions = (int)l;
        break;
    case OPT_NO_CREATE:
        o->create_topics = 0;
        break;
    case OPT_TIMEOUT:
        err = parse_double("timeout", arg, &o->timeout_s);
        break;
    case OPT_SETTLE:
        err = parse_double("settle", arg, &o->settle_s);
        break;
    case OPT_RATE:
        err = parse_double("rate", arg, &o->rate);
        break;
    case OPT_ALO:
        o->at_least_once = 1;
        break;
    case OPT_JSON:
        o->json = 1;
        break;
    case OPT_FAIL_EVERY:
        err = parse_long("fail-every", arg, 0, &o->fail_every);
        break;
    case OPT_FAIL_CLASSES:
        o->fail_classes_spec = arg;
        break;
    case OPT_DUMP:
        o->dump_path = arg;
        break;
    case OPT_MEMBERS:
        if (!(err = parse_long("members", arg, 0, &l)))
            o->members = (int)l;
        break;
    default:
        return qg_error_new(QG_ERR_BAD_INPUT, "unknown option (see --help)");
    }
    return err;
}

qg_error_t *lg_opts_parse(lg_opts_t *o, int argc, char **argv, const char **cmd)
{
    *cmd = NULL;
    opts_defaults(o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "b:X:h", long_opts, NULL)) != -1) {
        if (c == '?')
            return qg_error_new(QG_ERR_BAD_INPUT, "bad option \"%s\" (see --help)",
                                argv[optind - 1]);
        qg_error_t *err = opts_apply(o, c, optarg);
        if (err)
            return err;
    }
    if (optind < argc)
        *cmd = argv[optind++];
    if (optind < argc)
        return qg_error_new(QG_ERR_BAD_INPUT, "unexpected argument \"%s\"", argv[optind]);
    if (!*cmd)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "no command (produce, verify, bench, topics, wait-groups)");
    if (strlen(o->run_id) > 64 || strlen(o->prefix) > 128)
        return qg_error_new(QG_ERR_BAD_INPUT, "--run-id or --topic-prefix too long");
    qg_error_t *err = parse_fail_classes(o);
    return err ? err : parse_pipelines(o);
}

void lg_opts_free(lg_opts_t *o)
{
    free(o->spec_buf);
    o->spec_buf = NULL;
    free(o->fail_buf);
    o->fail_buf = NULL;
}
