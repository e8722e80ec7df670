/*
 * index.c - goalId -> latest state, rebuilt from Kafka.
 *
 * One thread reads every partition of the stage topics, <prefix>.completed
 * and <prefix>.dlq from the beginning, with no consumer group commits, so
 * every replica builds the same index whatever it served. A record sets a
 * goal's state unless the goal already holds a newer one (by record
 * timestamp, then completed/failed over queued/running), so the order in
 * which topics are read does not matter. The index is bounded in goals and
 * in bytes; the oldest goals are forgotten first.
 */
#include <stdlib.h>
#include <string.h>

#include "follow/follow.h"
#include "gateway.h"
#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"

typedef struct entry_s {
    struct entry_s *hnext;         /* hash chain */
    struct entry_s *older, *newer; /* first-seen order */
    goal_view_t v;
    int rank; /* 1 queued/running, 2 completed/failed */
} entry_t;

typedef struct {
    int topic; /* index into topics */
    int32_t partition;
    int done; /* the reader reached its end once */
} target_t;

struct goal_index_s {
    const qg_config_t *cfg;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    entry_t **buckets;
    size_t nbuckets;
    entry_t *oldest, *newest;
    size_t count, max_goals;
    size_t bytes, max_bytes;
    char **topics; /* NULL-terminated: stages..., completed, dlq */
    size_t ntopics, nstages;
    char **stages;
    target_t *targets;
    size_t ntargets, pending_targets;
    rd_kafka_t *consumer;
    pthread_t thread;
    volatile int stop;
    int caught_up;
};

void goal_view_clear(goal_view_t *v)
{
    free(v->reason);
    free(v->value);
    memset(v, 0, sizeof(*v));
}

const char *goal_state_name(goal_state_t s)
{
    switch (s) {
    case GOAL_QUEUED:
        return "queued";
    case GOAL_RUNNING:
        return "running";
    case GOAL_COMPLETED:
        return "completed";
    case GOAL_FAILED:
        return "failed";
    }
    return "unknown";
}

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static entry_t **slot_of(goal_index_t *ix, const char *id)
{
    entry_t **p = &ix->buckets[hash_id(id) & (ix->nbuckets - 1)];
    while (*p && strcmp((*p)->v.id, id))
        p = &(*p)->hnext;
    return p;
}

static size_t entry_bytes(const entry_t *e)
{
    return sizeof(*e) + e->v.len + (e->v.reason ? strlen(e->v.reason) : 0);
}

static void entry_unlink(goal_index_t *ix, entry_t *e)
{
    entry_t **p = slot_of(ix, e->v.id);
    if (*p == e)
        *p = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        ix->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        ix->newest = e->older;
    ix->count--;
    ix->bytes -= entry_bytes(e);
    goal_view_clear(&e->v);
    free(e);
}

static void evict_to_bounds(goal_index_t *ix)
{
    while (ix->oldest && (ix->count > ix->max_goals || ix->bytes > ix->max_bytes))
        entry_unlink(ix, ix->oldest);
}

/* The goal's entry, created (newest) when missing. NULL on allocation failure. Lock held. */
static entry_t *entry_get(goal_index_t *ix, const char *id, int create)
{
    entry_t **p = slot_of(ix, id);
    if (*p || !create)
        return *p;
    entry_t *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->v.id, sizeof(e->v.id), "%s", id);
    *p = e;
    e->older = ix->newest;
    if (ix->newest)
        ix->newest->newer = e;
    else
        ix->oldest = e;
    ix->newest = e;
    ix->count++;
    ix->bytes += entry_bytes(e);
    return e;
}

/* A state update: what one record (or a local claim) says about a goal. */
typedef struct {
    const char *id;
    goal_state_t state;
    const char *stage, *goal_type, *dlq_class, *reason;
    const void *value;
    size_t len;
    int64_t ts;
} update_t;

static int update_rank(goal_state_t s)
{
    return s == GOAL_COMPLETED || s == GOAL_FAILED ? 2 : 1;
}

static char *dup_or_null(const void *p, size_t n)
{
    if (!p)
        return NULL;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Apply an update unless the entry holds a newer state. Lock held. Returns 1 when applied. */
static int index_apply(goal_index_t *ix, const update_t *u)
{
    entry_t *e = entry_get(ix, u->id, 1);
    if (!e)
        return 0;
    int rank = update_rank(u->state);
    if (e->v.state && (u->ts < e->v.kafka_ts || (u->ts == e->v.kafka_ts && rank < e->rank)))
        return 0;
    ix->bytes -= entry_bytes(e);
    free(e->v.reason);
    free(e->v.value);
    e->v.reason = u->reason ? strdup(u->reason) : NULL;
    e->v.value = dup_or_null(u->value, u->len);
    e->v.len = e->v.value ? u->len : 0;
    e->v.state = u->state;
    e->rank = rank;
    e->v.kafka_ts = u->ts;
    e->v.updated_ms = qg_now_ms();
    snprintf(e->v.stage, sizeof(e->v.stage), "%s", u->stage ? u->stage : "");
    if (u->goal_type && *u->goal_type)
        snprintf(e->v.goal_type, sizeof(e->v.goal_type), "%s", u->goal_type);
    snprintf(e->v.dlq_class, sizeof(e->v.dlq_class), "%s", u->dlq_class ? u->dlq_class : "");
    ix->bytes += entry_bytes(e);
    evict_to_bounds(ix);
    if (rank == 2)
        pthread_cond_broadcast(&ix->changed);
    return 1;
}

/* ---------- metrics from records ---------- */

static void count_completed(const qg_json_t *doc, const char *goal_type)
{
    char labels[QG_METRICS_MAX_LABELS];
    qg_metrics_t *m = qg_metrics_global();
    qg_metrics_counter_add(
        m, "qg_goals_completed_total", "Goals seen in <prefix>.completed, by goal type.",
        qg_metrics_labels(labels, sizeof(labels), "goal_type", goal_type, NULL), 1);
    const qg_json_t *stages = qg_json_path(doc, "executionLog.stages");
    for (size_t i = 0; i < qg_json_len(stages); i++) {
        const qg_json_t *s = qg_json_at(stages, i);
        const char *name = qg_json_str(qg_json_get(s, "stage"));
        double ms = qg_json_num(qg_json_get(s, "durationMs"), -1);
        if (name && ms >= 0)
            qg_metrics_observe(m, "qg_stage_latency_seconds",
                               "Stage run time of completed goals, from their execution logs.",
                               qg_metrics_labels(labels, sizeof(labels), "stage", name, NULL),
                               ms / 1000.0);
    }
}

static void count_failed(const char *goal_type, const char *stage, const char *cls)
{
    char labels[QG_METRICS_MAX_LABELS];
    qg_metrics_t *m = qg_metrics_global();
    qg_metrics_counter_add(
        m, "qg_goals_failed_total", "Goals seen in <prefix>.dlq, by goal type and class.",
        qg_metrics_labels(labels, sizeof(labels), "goal_type", goal_type, "class", cls, NULL), 1);
    qg_metrics_counter_add(
        m, "qg_dlq_records_total", "Dead letters seen, by stage and class.",
        qg_metrics_labels(labels, sizeof(labels), "stage", stage, "class", cls, NULL), 1);
}

/* ---------- the reader ---------- */

static int first_stage_is(const qg_json_t *doc, const char *stage)
{
    const char *first = qg_goal_first_stage(doc);
    return !first || !strcmp(first, stage);
}

static void handle_record(goal_index_t *ix, const rd_kafka_message_t *rkm, size_t topic)
{
    char id[256], cls[64], stage[128], reason[2048], errstr[128];
    if (!rkm->key || rkm->key_len == 0 || rkm->key_len >= sizeof(id))
        return;
    memcpy(id, rkm->key, rkm->key_len);
    id[rkm->key_len] = '\0';
    qg_json_t *doc =
        rkm->payload ? qg_json_parse(rkm->payload, rkm->len, errstr, sizeof(errstr)) : NULL;
    const char *goal_type = qg_goal_type(doc) ? qg_goal_type(doc) : "";
    update_t u = {.id = id, .goal_type = goal_type, .ts = rd_kafka_message_timestamp(rkm, NULL)};
    int counted = 0;
    if (topic < ix->nstages) {
        u.stage = ix->stages[topic];
        u.state = first_stage_is(doc, u.stage) ? GOAL_QUEUED : GOAL_RUNNING;
    } else if (topic == ix->nstages) {
        u.state = GOAL_COMPLETED;
        u.value = rkm->payload;
        u.len = rkm->len;
        counted = 1;
    } else {
        u.state = GOAL_FAILED;
        u.dlq_class = qg_kafka_header(rkm, QG_HDR_DLQ_CLASS, cls, sizeof(cls));
        u.stage = qg_kafka_header(rkm, QG_HDR_DLQ_STAGE, stage, sizeof(stage));
        u.reason = qg_kafka_header(rkm, QG_HDR_DLQ_MESSAGE, reason, sizeof(reason));
        u.value = rkm->payload;
        u.len = rkm->len;
        counted = 2;
    }
    pthread_mutex_lock(&ix->lock);
    index_apply(ix, &u);
    pthread_mutex_unlock(&ix->lock);
    if (counted == 1)
        count_completed(doc, goal_type);
    else if (counted == 2)
        count_failed(goal_type, u.stage, u.dlq_class);
    qg_json_destroy(doc);
}

/* The reader reached the end of a partition (enable.partition.eof). */
static void mark_end(goal_index_t *ix, size_t topic, int32_t partition)
{
    for (size_t i = 0; i < ix->ntargets; i++) {
        target_t *t = &ix->targets[i];
        if ((size_t)t->topic == topic && t->partition == partition && !t->done) {
            t->done = 1;
            ix->pending_targets--;
        }
    }
    if (ix->pending_targets == 0 && !ix->caught_up) {
        pthread_mutex_lock(&ix->lock);
        ix->caught_up = 1;
        pthread_mutex_unlock(&ix->lock);
        qg_info("gateway", "goal index caught up: %zu goals", goal_index_count(ix));
    }
}

static size_t topic_of(goal_index_t *ix, const char *name)
{
    for (size_t t = 0; t < ix->ntopics; t++)
        if (!strcmp(ix->topics[t], name))
            return t;
    return ix->ntopics;
}

static void *reader_thread(void *arg)
{
    goal_index_t *ix = arg;
    while (!ix->stop) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(ix->consumer, 200);
        if (!rkm)
            continue;
        size_t t = rkm->rkt ? topic_of(ix, rd_kafka_topic_name(rkm->rkt)) : ix->ntopics;
        if (!rkm->err && t < ix->ntopics)
            handle_record(ix, rkm, t);
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && t < ix->ntopics)
            mark_end(ix, t, rkm->partition);
        rd_kafka_message_destroy(rkm);
    }
    return NULL;
}

/* Topic names: one per stage (builtin and extra), then completed, then dlq. */
static int topics_new(goal_index_t *ix)
{
    const char *prefix = qg_config_get(ix->cfg, "topic.prefix");
    const char *extra = qg_config_get(ix->cfg, "pipeline.extra.stages");
    size_t cap = 8 + (extra ? strlen(extra) / 2 + 1 : 0);
    ix->topics = calloc(cap + 3, sizeof(char *));
    ix->stages = calloc(cap + 1, sizeof(char *));
    if (!ix->topics || !ix->stages)
        return -1;
    for (size_t i = 0; qg_goal_builtin_stages[i] && ix->nstages < cap; i++)
        ix->stages[ix->nstages++] = strdup(qg_goal_builtin_stages[i]);
    char *copy = strdup(extra ? extra : ""), *save = NULL;
    if (!copy)
        return -1;
    for (char *s = strtok_r(copy, ", ", &save); s && ix->nstages < cap;
         s = strtok_r(NULL, ", ", &save))
        ix->stages[ix->nstages++] = strdup(s);
    free(copy);
    char buf[300];
    for (size_t i = 0; i < ix->nstages; i++) {
        if (!ix->stages[i])
            return -1;
        ix->topics[ix->ntopics++] = strdup(qg_topic_stage(buf, sizeof(buf), prefix, ix->stages[i]));
    }
    ix->topics[ix->ntopics++] = strdup(qg_topic_completed(buf, sizeof(buf), prefix));
    ix->topics[ix->ntopics++] = strdup(qg_topic_dlq(buf, sizeof(buf), prefix));
    for (size_t t = 0; t < ix->ntopics; t++)
        if (!ix->topics[t])
            return -1;
    return 0;
}

/* Create the missing goal topics in one request, as the workers do (topics.*), so that
 * a gateway started before its workers does not wait for auto-creation. */
static void create_topics(goal_index_t *ix)
{
    char errstr[256];
    if (!qg_config_bool(ix->cfg, "topics.create"))
        return;
    if (qg_kafka_ensure_topics(ix->consumer, (const char *const *)ix->topics,
                               (int)qg_config_int(ix->cfg, "topics.partitions"),
                               (int)qg_config_int(ix->cfg, "topics.replication.factor"), errstr,
                               sizeof(errstr)) != 0)
        qg_info("gateway",
                "topics not created here (%s); relying on existing or auto-created "
                "topics",
                errstr);
}

/* Every partition read: the reader is caught up once it reached the end of each. */
static int targets_new(goal_index_t *ix, char *errstr, size_t sz)
{
    size_t cap = 64;
    ix->targets = calloc(cap, sizeof(*ix->targets));
    if (!ix->targets)
        return -1;
    for (size_t t = 0; t < ix->ntopics; t++) {
        int n = qg_follow_partitions(ix->consumer, ix->topics[t], errstr, sz);
        if (n <= 0)
            return -1;
        for (int p = 0; p < n; p++) {
            if (ix->ntargets == cap) {
                target_t *nt = realloc(ix->targets, 2 * cap * sizeof(*nt));
                if (!nt)
                    return -1;
                ix->targets = nt;
                cap *= 2;
            }
            ix->targets[ix->ntargets++] = (target_t){.topic = (int)t, .partition = p};
        }
    }
    ix->pending_targets = ix->ntargets;
    ix->caught_up = ix->ntargets == 0;
    return 0;
}

goal_index_t *goal_index_start(const qg_config_t *cfg, char *errstr, size_t sz)
{
    goal_index_t *ix = calloc(1, sizeof(*ix));
    if (!ix) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    ix->cfg = cfg;
    ix->max_goals = (size_t)qg_config_int(cfg, "index.max.goals");
    ix->max_bytes = (size_t)qg_config_int(cfg, "index.max.mb") * 1024 * 1024;
    for (ix->nbuckets = 1024; ix->nbuckets < ix->max_goals; ix->nbuckets *= 2)
        ;
    pthread_mutex_init(&ix->lock, NULL);
    pthread_cond_init(&ix->changed, NULL);
    ix->buckets = calloc(ix->nbuckets, sizeof(*ix->buckets));
    errstr[0] = '\0';
    if (!ix->buckets || topics_new(ix) != 0) {
        snprintf(errstr, sz, "out of memory");
        goal_index_stop(ix);
        return NULL;
    }
    ix->consumer = qg_follow_consumer_new(cfg, "qg-gateway", errstr, sz);
    if (ix->consumer)
        create_topics(ix);
    if (!ix->consumer ||
        qg_follow_assign(ix->consumer, (const char *const *)ix->topics, 0, errstr, sz) != 0 ||
        targets_new(ix, errstr, sz) != 0 || pthread_create(&ix->thread, NULL, reader_thread, ix)) {
        if (!errstr[0])
            snprintf(errstr, sz, "goal index: cannot start");
        goal_index_stop(ix);
        return NULL;
    }
    return ix;
}

void goal_index_stop(goal_index_t *ix)
{
    if (!ix)
        return;
    if (ix->thread) {
        ix->stop = 1;
        pthread_join(ix->thread, NULL);
    }
    if (ix->consumer) {
        rd_kafka_consumer_close(ix->consumer);
        rd_kafka_destroy(ix->consumer);
    }
    while (ix->oldest)
        entry_unlink(ix, ix->oldest);
    for (size_t t = 0; ix->topics && ix->topics[t]; t++)
        free(ix->topics[t]);
    for (size_t s = 0; ix->stages && s < ix->nstages; s++)
        free(ix->stages[s]);
    free(ix->topics);
    free(ix->stages);
    free(ix->targets);
    free(ix->buckets);
    pthread_cond_destroy(&ix->changed);
    pthread_mutex_destroy(&ix->lock);
    free(ix);
}

int goal_index_caught_up(goal_index_t *ix)
{
    pthread_mutex_lock(&ix->lock);
    int c = ix->caught_up;
    pthread_mutex_unlock(&ix->lock);
    return c;
}

static void view_copy(const entry_t *e, goal_view_t *out)
{
    *out = e->v;
    out->reason = e->v.reason ? strdup(e->v.reason) : NULL;
    out->value = dup_or_null(e->v.value, e->v.len);
    if (!out->value)
        out->len = 0;
}

int goal_index_get(goal_index_t *ix, const char *id, goal_view_t *out)
{
    pthread_mutex_lock(&ix->lock);
    entry_t *e = entry_get(ix, id, 0);
    if (e)
        view_copy(e, out);
    pthread_mutex_unlock(&ix->lock);
    return e ? 0 : -1;
}

int goal_index_claim(goal_index_t *ix, const char *id, const char *stage, const char *goal_type,
                     int first_stage)
{
    pthread_mutex_lock(&ix->lock);
    int known = entry_get(ix, id, 0) != NULL;
    if (!known) {
        update_t u = {.id = id,
                      .state = first_stage ? GOAL_QUEUED : GOAL_RUNNING,
                      .stage = stage,
                      .goal_type = goal_type,
                      .ts = (int64_t)qg_now_ms()};
        index_apply(ix, &u);
    }
    pthread_mutex_unlock(&ix->lock);
    return known;
}

void goal_index_unclaim(goal_index_t *ix, const char *id)
{
    pthread_mutex_lock(&ix->lock);
    entry_t *e = entry_get(ix, id, 0);
    if (e && e->rank == 1 && !e->v.value)
        entry_unlink(ix, e);
    pthread_mutex_unlock(&ix->lock);
}

int goal_index_wait_final(goal_index_t *ix, const char *id, double deadline_ms, volatile int *stop,
                          goal_view_t *out)
{
    int rc = -1;
    pthread_mutex_lock(&ix->lock);
    for (;;) {
        entry_t *e = entry_get(ix, id, 0);
        if (e && e->rank == 2) {
            view_copy(e, out);
            rc = 0;
            break;
        }
        double now = qg_now_ms();
        if (now >= deadline_ms || (stop && *stop))
            break;
        /* Wake at least every 200 ms to see `stop`. */
        double until = now + 200 < deadline_ms ? now + 200 : deadline_ms;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000),
                              .tv_nsec =
                                  (long)((until - 1000.0 * (double)(time_t)(until / 1000)) * 1e6)};
        pthread_cond_timedwait(&ix->changed, &ix->lock, &ts);
    }
    pthread_mutex_unlock(&ix->lock);
    return rc;
}

size_t goal_index_recent(goal_index_t *ix, size_t max, int failed_only, goal_view_t *out)
{
    size_t n = 0;
    pthread_mutex_lock(&ix->lock);
    for (entry_t *e = ix->newest; e && n < max; e = e->older) {
        if (failed_only && e->v.state != GOAL_FAILED)
            continue;
        out[n] = e->v;
        out[n].value = NULL; /* lists carry no documents */
        out[n].len = 0;
        out[n].reason = e->v.reason ? strdup(e->v.reason) : NULL;
        n++;
    }
    pthread_mutex_unlock(&ix->lock);
    return n;
}

size_t goal_index_count(goal_index_t *ix)
{
    pthread_mutex_lock(&ix->lock);
    size_t n = ix->count;
    pthread_mutex_unlock(&ix->lock);
    return n;
}
