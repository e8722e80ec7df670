/*
 * qg-trigger - factory events become goals, and watched answers are kept up
 * to date. Configuration, then handles, then one loop serving MQTT, Kafka and
 * timers, then teardown in reverse order.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <mosquitto.h>

#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "trigger.h"

static const qg_option_t trigger_options[] = {
    QG_OPT_STR("trigger.file", "config/triggers.yaml", "the trigger file: sources and rules"),
    QG_OPT_STR("spool.dir", "qg-trigger.spool",
               "directory of the MQTT spool (events received, not yet in Kafka); empty: none"),
    QG_OPT_INT("spool.max.bytes", "67108864", 65536, 4294967296.0,
               "above this the trigger stops reading MQTT until Kafka caught up"),
    QG_OPT_INT("dedup.max.ids", "100000", 100, 100000000,
               "event ids remembered (oldest forgotten first)"),
    QG_OPT_MS("dedup.retention.ms", "604800000", 60000, 31536000000.0,
              "how long <prefix>.trigger.dedup keeps event ids"),
    QG_OPT_INT("watch.max.goals", "1000", 1, 1000000,
               "goals watched at most; a further watch is refused"),
    QG_OPT_MS("watch.ttl.ms", "86400000", 1000, 31536000000.0,
              "a watch ends this long after it started (unless the goal says watchTtlMs)"),
    QG_OPT_MS("watch.rerun.timeout.ms", "600000", 1000, 86400000,
              "a re-run with no answer after this is given up"),
    QG_OPT_STR("stats.file", "", "written (JSON counters) every stats.interval.ms and at exit"),
    QG_OPT_MS("stats.interval.ms", "10000", 100, 3600000, "how often counters are logged"),
    QG_OPT_TABLE_END("qg-trigger"),
};

static volatile sig_atomic_t trg_stop;

static void on_signal(int sig)
{
    (void)sig;
    trg_stop = 1;
}

static qg_json_t *stats_json(const trg_t *t)
{
    const trg_stats_t *s = &t->stats;
    qg_json_t *o = qg_json_object();
    const struct {
        const char *name;
        long long v;
    } f[] = {
        {"received", s->received},
        {"malformed", s->malformed},
        {"unknownTopic", s->unknown_topic},
        {"unmatched", s->unmatched},
        {"missingField", s->missing_field},
        {"invalidGoal", s->invalid_goal},
        {"duplicates", s->duplicates},
        {"debounced", s->debounced},
        {"rateLimited", s->rate_limited},
        {"goals", s->goals},
        {"reruns", s->reruns},
        {"updates", s->updates},
        {"watches", s->watches},
        {"watchRefused", s->watch_refused},
        {"watchExpired", s->watch_expired},
        {"unwatched", s->unwatched},
        {"replayed", s->replayed},
    };
    for (size_t i = 0; o && i < sizeof(f) / sizeof(f[0]); i++)
        qg_json_set_num(o, f[i].name, (double)f[i].v);
    return o;
}

static void stats_write(const trg_t *t)
{
    qg_json_t *o = stats_json(t);
    char *text = qg_json_serialize(o, 0, NULL);
    const char *path = qg_config_get(t->cfg, "stats.file");
    qg_debug(TRG_COMPONENT, "stats %s", text ? text : "?");
    if (text && path && *path) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (f && fputs(text, f) >= 0 && fclose(f) == 0)
            rename(tmp, path);
        else if (f)
            fclose(f);
    }
    free(text);
    qg_json_destroy(o);
}

static qg_error_t *trg_open(trg_t *t)
{
    qg_error_t *err = NULL;
    char errstr[512];
    t->prefix = qg_config_get(t->cfg, "topic.prefix");
    t->eos = !strcmp(qg_config_get(t->cfg, "processing.guarantee"), "exactly_once");
    qg_topic_completed(t->topic_completed, sizeof(t->topic_completed), t->prefix);
    snprintf(t->topic_watches, sizeof(t->topic_watches), "%s.watches", t->prefix);
    snprintf(t->topic_updates, sizeof(t->topic_updates), "%s.updates", t->prefix);
    snprintf(t->topic_dedup, sizeof(t->topic_dedup), "%s.trigger.dedup", t->prefix);
    if (!(t->file = trg_file_load(qg_config_get(t->cfg, "trigger.file"), &err)))
        return err;
    t->dedup = trg_keyset_new((size_t)qg_config_int(t->cfg, "dedup.max.ids"));
    t->spools = calloc(t->file->n_sources, sizeof(*t->spools));
    if (!t->dedup || !t->spools || trg_watch_init(t) != 0)
        return qg_error_oom;
    for (size_t i = 0; i < t->file->n_sources; i++) {
        if (t->file->sources[i].type != TRG_SRC_MQTT)
            continue;
        errstr[0] = '\0';
        t->spools[i] = trg_spool_open(qg_config_get(t->cfg, "spool.dir"), t->file->sources[i].name,
                                      errstr, sizeof(errstr));
        if (!t->spools[i] && errstr[0])
            return qg_error_new(QG_ERR_FATAL, "spool: %s", errstr);
    }
    if ((err = trg_out_init(t)))
        return err;
    trg_topics_create(t);
    if ((err = trg_state_load(t)) || (err = trg_consumer_start(t)))
        return err;
    for (size_t i = 0; i < t->file->n_sources; i++)
        if (t->file->sources[i].type == TRG_SRC_MQTT &&
            (err = trg_mqtt_start(t, &t->file->sources[i], i)))
            return err;
    return NULL;
}

static size_t spool_bytes(const trg_t *t)
{
    size_t n = 0;
    for (size_t i = 0; t->spools && i < t->file->n_sources; i++)
        n += trg_spool_bytes(t->spools[i]);
    return n;
}

static void touch_health(const trg_t *t, double now, double *last)
{
    const char *path = qg_config_get(t->cfg, "health.file");
    if (!path || !*path || now - *last < 1000)
        return;
    *last = now;
    if (utime(path, NULL) != 0 && errno == ENOENT) {
        FILE *f = fopen(path, "w");
        if (f)
            fclose(f);
    }
}

static int trg_run(trg_t *t)
{
    double last_stats = qg_now_ms(), last_health = 0;
    double stats_every = (double)qg_config_ms(t->cfg, "stats.interval.ms");
    size_t spool_max = (size_t)qg_config_int(t->cfg, "spool.max.bytes");
    long inflight_max = (long)qg_config_int(t->cfg, "max.inflight.goals");
    qg_info(TRG_COMPONENT, "qg-trigger %s: %zu sources, %zu rules, prefix %s, %s", QG_VERSION,
            t->file->n_sources, t->file->n_rules, t->prefix,
            t->eos ? "exactly_once" : "at_least_once");
    while (!trg_stop && !t->fatal) {
        double now = qg_now_ms();
        int busy = 0;
        /* Bounded: no more reading while the spool or the records in flight are at their limit. */
        int full = spool_bytes(t) > spool_max || t->inflight >= inflight_max;
        for (size_t i = 0; i < t->file->n_sources && !full; i++)
            if (t->file->sources[i].type == TRG_SRC_MQTT)
                busy += trg_mqtt_service(t, &t->file->sources[i], now);
        busy += trg_consumer_poll(t, busy || full ? 0 : 10);
        trg_state_poll(t);
        trg_watch_tick(t, now);
        qg_error_t *err = trg_out_settle(t, full);
        if (err) {
            qg_err(TRG_COMPONENT, "%s", qg_error_message(err));
            qg_error_destroy(err);
            t->fatal = 1;
        }
        if (full)
            rd_kafka_poll(t->producer, 10);
        touch_health(t, now, &last_health);
        if (now - last_stats >= stats_every) {
            stats_write(t);
            last_stats = now;
        }
    }
    return t->fatal ? 1 : 0;
}

static void trg_close(trg_t *t)
{
    for (size_t i = 0; t->file && i < t->file->n_sources; i++)
        trg_mqtt_stop(&t->file->sources[i]);
    /* Twice: the first settle produces the dedup records of the goals just acknowledged. */
    for (int round = 0; round < 2 && t->producer && !t->fatal; round++) {
        rd_kafka_flush(t->producer, (int)qg_config_ms(t->cfg, "shutdown.timeout.ms"));
        qg_error_t *err = trg_out_settle(t, 1);
        if (err) {
            qg_err(TRG_COMPONENT, "at shutdown: %s", qg_error_message(err));
            qg_error_destroy(err);
            break;
        }
    }
    if (t->file) {
        stats_write(t);
        qg_json_t *o = stats_json(t);
        char *text = qg_json_serialize(o, 0, NULL);
        qg_info(TRG_COMPONENT, "stopping: %s", text ? text : "?");
        free(text);
        qg_json_destroy(o);
    }
    if (t->consumer) {
        rd_kafka_consumer_close(t->consumer);
        rd_kafka_destroy(t->consumer);
    }
    if (t->state) {
        rd_kafka_consumer_close(t->state);
        rd_kafka_destroy(t->state);
    }
    if (t->producer)
        rd_kafka_destroy(t->producer);
    if (t->positions)
        rd_kafka_topic_partition_list_destroy(t->positions);
    for (size_t i = 0; t->spools && i < t->file->n_sources; i++)
        trg_spool_close(t->spools[i]);
    free(t->spools);
    for (size_t i = 0; i < t->n_markers; i++)
        free(t->markers[i]);
    free(t->markers);
    trg_watch_destroy(t);
    trg_keyset_destroy(t->dedup);
    trg_file_destroy(t->file);
}

int main(int argc, char **argv)
{
    static const qg_cli_t cli = {
        .program = "qg-trigger",
        .usage = "[-b BROKERS] [--trigger-file FILE] [options]",
        .about = "Turns MQTT and Kafka events into goals by the rules of a trigger file, and "
                 "re-runs watched goals when the factory data they read changes.",
        .max_positional = 0,
    };
    const qg_option_t *tables[] = {qg_kafka_options, trigger_options};
    char **rest;
    int nrest, exit_code;
    qg_config_t *cfg = qg_cli_config(&cli, tables, 2, argc, argv, &rest, &nrest, &exit_code);
    if (!cfg)
        return exit_code;
    trg_t t = {.cfg = cfg};
    const char *id = qg_config_get(cfg, "worker.id");
    char host[128] = "host";
    gethostname(host, sizeof(host) - 1);
    snprintf(t.worker_id, sizeof(t.worker_id), "%s", id && *id ? id : "qg-trigger");
    if (!(id && *id))
        snprintf(t.worker_id, sizeof(t.worker_id), "qg-trigger/%s/%d", host, (int)getpid());
    qg_log_set_worker(t.worker_id);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    int rc = 1;
    qg_error_t *err = trg_open(&t);
    if (err) {
        qg_err(TRG_COMPONENT, "cannot start: %s", qg_error_message(err));
        qg_error_destroy(err);
    } else {
        rc = trg_run(&t);
    }
    trg_close(&t);
    mosquitto_lib_cleanup();
    qg_config_destroy(cfg);
    return rc;
}
