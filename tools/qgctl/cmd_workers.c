/*
 * cmd_workers.c - `qgctl workers [STAGE...] [--json]`: per stage, the members
 * of its consumer groups (stage topic and retry topic), the partitions each
 * holds and their lag (high watermark minus the group's committed offset).
 */
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "qgctl.h"

#define MAX_PARTITIONS  1024 /* per member and topic shown */
#define LIST_TIMEOUT_MS 10000

static const qg_option_t workers_options[] = {
    QG_OPT_BOOL("json", "false", "print JSON instead of a table"),
    QG_OPT_TABLE_END("qgctl-workers"),
};

static const qg_cli_t workers_cli = {
    .program = "qgctl workers",
    .usage = "[STAGE...] [options]",
    .about = "Per stage: the members of its consumer groups (stage topic, retry topic), the "
             "partitions each holds and their lag. Without STAGE: every stage with a group.",
    .max_positional = -1,
};

typedef struct {
    int32_t parts[MAX_PARTITIONS];
    int nparts;
} member_parts_t;

/* Big-endian readers over a bounded buffer; -1 when it runs out. */
typedef struct {
    const unsigned char *p;
    size_t left;
} reader_t;

static int read_n(reader_t *r, size_t n, int64_t *out)
{
    if (r->left < n)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[i];
    if (n == 2)
        v = (int16_t)v;
    else if (n == 4)
        v = (int32_t)v;
    r->p += n;
    r->left -= n;
    *out = v;
    return 0;
}

/* The partitions of topic in a member's assignment (Kafka's consumer protocol). */
static int decode_assignment(const void *buf, int size, const char *topic, member_parts_t *out)
{
    reader_t r = {buf, size > 0 ? (size_t)size : 0};
    int64_t version, ntopics, len, nparts, part;
    out->nparts = 0;
    if (!buf || read_n(&r, 2, &version) || read_n(&r, 4, &ntopics))
        return -1;
    for (int64_t t = 0; t < ntopics; t++) {
        if (read_n(&r, 2, &len) || len < 0 || (size_t)len > r.left)
            return -1;
        int ours = (size_t)len == strlen(topic) && !memcmp(r.p, topic, (size_t)len);
        r.p += len;
        r.left -= (size_t)len;
        if (read_n(&r, 4, &nparts))
            return -1;
        for (int64_t i = 0; i < nparts; i++) {
            if (read_n(&r, 4, &part))
                return -1;
            if (ours && out->nparts < MAX_PARTITIONS)
                out->parts[out->nparts++] = (int32_t)part;
        }
    }
    return 0;
}

/* Lag of one partition: high watermark minus committed (or low watermark if none). */
static long partition_lag(rd_kafka_t *rk, const char *topic, int32_t part, int64_t committed)
{
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic, part, &lo, &hi, 5000))
        return 0;
    int64_t from = committed >= 0 ? committed : lo;
    return hi > from ? (long)(hi - from) : 0;
}

/* Committed offsets of group for every partition of topic. NULL on error. */
static rd_kafka_topic_partition_list_t *group_committed(const qg_config_t *cfg, const char *group,
                                                        const char *topic, rd_kafka_t *meta_rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(meta_rk, topic, NULL);
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rkt && !rd_kafka_metadata(meta_rk, 0, rkt, &md, 5000) && md->topic_cnt == 1 &&
        !md->topics[0].err) {
        l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int p = 0; l && p < md->topics[0].partition_cnt; p++)
            rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[p].id);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    char errstr[512];
    rd_kafka_conf_t *conf = l ? qg_kafka_conf_new(cfg, errstr, sizeof(errstr)) : NULL;
    if (conf && rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) == 0) {
        rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!c || rd_kafka_committed(c, l, 5000)) {
            rd_kafka_topic_partition_list_destroy(l);
            l = NULL;
        }
        if (c)
            rd_kafka_destroy(c);
        else
            rd_kafka_conf_destroy(conf);
    } else if (conf) {
        rd_kafka_conf_destroy(conf);
    }
    return l;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    putchar('"');
}

typedef struct {
    const qg_config_t *cfg;
    rd_kafka_t *rk;
    int json;
    int nshown;
} show_t;

static long member_lag(show_t *s, const char *topic, const member_parts_t *mp,
                       const rd_kafka_topic_partition_list_t *committed)
{
    long lag = 0;
    for (int i = 0; i < mp->nparts; i++) {
        rd_kafka_topic_partition_t *c =
            committed ? rd_kafka_topic_partition_list_find(
                            (rd_kafka_topic_partition_list_t *)committed, topic, mp->parts[i])
                      : NULL;
        lag += partition_lag(s->rk, topic, mp->parts[i], c ? c->offset : -1);
    }
    return lag;
}

static void print_member(show_t *s, const struct rd_kafka_group_member_info *m,
                         const member_parts_t *mp, long lag, int first)
{
    if (s->json) {
        printf("%s{\"member\":", first ? "" : ",");
        json_str(m->client_id);
        printf(",\"host\":");
        json_str(m->client_host);
        printf(",\"partitions\":[");
        for (int i = 0; i < mp->nparts; i++)
            printf("%s%d", i ? "," : "", (int)mp->parts[i]);
        printf("],\"lag\":%ld}", lag);
        return;
    }
    char parts[256] = "";
    size_t used = 0;
    for (int i = 0; i < mp->nparts && used + 12 < sizeof(parts); i++)
        used += (size_t)snprintf(parts + used, sizeof(parts) - used, "%s%d", i ? "," : "",
                                 (int)mp->parts[i]);
    printf("    %-44s %-18s lag %ld\n", m->client_id, mp->nparts ? parts : "-", lag);
}

/* One group: its state and each member's partitions of topic with their lag. */
static void show_group(show_t *s, const char *stage, const char *group, const char *topic)
{
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(s->rk, group, &gl, LIST_TIMEOUT_MS);
    if (err || gl->group_cnt != 1) {
        if (!s->json)
            fprintf(stderr, "qgctl workers: group %s: %s\n", group,
                    err ? rd_kafka_err2str(err) : "not found");
        if (gl)
            rd_kafka_group_list_destroy(gl);
        return;
    }
    const struct rd_kafka_group_info *g = &gl->groups[0];
    rd_kafka_topic_partition_list_t *committed = group_committed(s->cfg, group, topic, s->rk);
    if (s->json) {
        printf("%s{\"stage\":", s->nshown ? "," : "");
        json_str(stage);
        printf(",\"group\":");
        json_str(group);
        printf(",\"topic\":");
        json_str(topic);
        printf(",\"state\":");
        json_str(g->state);
        printf(",\"members\":[");
    } else {
        printf("%s  group %s  topic %s  (%s, %d member%s)\n", stage, group, topic, g->state,
               g->member_cnt, g->member_cnt == 1 ? "" : "s");
    }
    long total = 0;
    for (int i = 0; i < g->member_cnt; i++) {
        member_parts_t mp;
        const struct rd_kafka_group_member_info *m = &g->members[i];
        if (decode_assignment(m->member_assignment, m->member_assignment_size, topic, &mp))
            mp.nparts = 0;
        long lag = member_lag(s, topic, &mp, committed);
        total += lag;
        print_member(s, m, &mp, lag, i == 0);
    }
    if (s->json)
        printf("],\"lag\":%ld}", total);
    s->nshown++;
    if (committed)
        rd_kafka_topic_partition_list_destroy(committed);
    rd_kafka_group_list_destroy(gl);
}

static void show_stage(show_t *s, const char *prefix, const char *stage)
{
    char group[300], topic[300];
    show_group(s, stage, qg_group_for_stage(group, sizeof(group), prefix, stage),
               qg_topic_stage(topic, sizeof(topic), prefix, stage));
    show_group(s, stage, qg_retry_group_for_stage(group, sizeof(group), prefix, stage),
               qg_topic_retry(topic, sizeof(topic), prefix, stage));
}

/* Stage of a worker group name "<prefix>.<stage>.workers" (not the retry groups). */
static int stage_of_group(const char *group, const char *prefix, char *stage, size_t sz)
{
    size_t pl = strlen(prefix), gl = strlen(group), sl = strlen(".workers");
    if (gl <= pl + 1 + sl || strncmp(group, prefix, pl) || group[pl] != '.' ||
        strcmp(group + gl - sl, ".workers"))
        return -1;
    size_t n = gl - sl - pl - 1;
    if (n >= 6 && !strncmp(group + pl + 1 + n - 6, ".retry", 6))
        return -1;
    if (n >= sz)
        return -1;
    memcpy(stage, group + pl + 1, n);
    stage[n] = '\0';
    return 0;
}

static void show_all(show_t *s, const char *prefix)
{
    const struct rd_kafka_group_list *gl = NULL;
    if (rd_kafka_list_groups(s->rk, NULL, &gl, LIST_TIMEOUT_MS))
        return;
    for (int i = 0; i < gl->group_cnt; i++) {
        char stage[256];
        if (!stage_of_group(gl->groups[i].group, prefix, stage, sizeof(stage)))
            show_stage(s, prefix, stage);
    }
    rd_kafka_group_list_destroy(gl);
}

int qgctl_cmd_workers(int argc, char **argv)
{
    char **rest, errstr[512];
    int nrest, rc;
    qg_config_t *cfg = qgctl_config(&workers_cli, argc, argv, workers_options, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    show_t s = {.cfg = cfg, .json = qg_config_bool(cfg, "json")};
    s.rk = qg_kafka_producer_new(cfg, NULL, NULL, NULL, errstr, sizeof(errstr));
    if (!s.rk) {
        fprintf(stderr, "qgctl workers: %s\n", errstr);
        qg_config_destroy(cfg);
        return 1;
    }
    const char *prefix = qg_config_get(cfg, "topic.prefix");
    if (s.json)
        printf("{\"groups\":[");
    if (nrest == 0)
        show_all(&s, prefix);
    for (int i = 0; i < nrest; i++)
        show_stage(&s, prefix, rest[i]);
    if (s.json)
        printf("]}\n");
    else if (!s.nshown)
        printf("no worker groups found under prefix %s\n", prefix);
    rd_kafka_destroy(s.rk);
    qg_config_destroy(cfg);
    return 0;
}
