/*
 * stage.c - test-only pass-through stage: serves any stage name given with
 * --stage, optionally waits passthrough.delay.ms, records what it saw.
 * Used by the framework's integration tests, crash tests and benchmarks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "goal.h"
#include "stage.h"

static const qg_option_t passthrough_options[] = {
    QG_OPT_MS("passthrough.delay.ms", "0", 0, 3600000, "simulated work per goal"),
    QG_OPT_INT("passthrough.transient.failures", "0", 0, 1000,
               "fail each goal transiently this many times before passing it (retry tests)"),
    QG_OPT_STR("passthrough.fail.param", "",
               "goal parameter key whose presence makes the stage fail "
               "with the class named by its value (tests)"),
    QG_OPT_TABLE_END("passthrough"),
};

#define SEEN_MAX 4096

typedef struct {
    long delay_ms;
    const char *fail_param;
    long transient_failures;
    char *seen_ids[SEEN_MAX]; /* goals failed so far, with their counts */
    long seen_count[SEEN_MAX];
    size_t nseen;
} passthrough_state_t;

/* How often this process has failed this goal already (and count one more). */
static long failures_so_far(passthrough_state_t *st, const char *goal_id)
{
    for (size_t i = 0; i < st->nseen; i++)
        if (!strcmp(st->seen_ids[i], goal_id))
            return st->seen_count[i]++;
    if (st->nseen == SEEN_MAX)
        return st->transient_failures; /* table full: stop failing */
    st->seen_ids[st->nseen] = strdup(goal_id);
    if (!st->seen_ids[st->nseen])
        return st->transient_failures;
    st->seen_count[st->nseen++] = 1;
    return 0;
}

static qg_error_t *passthrough_init(void **state, const qg_config_t *cfg)
{
    passthrough_state_t *st = calloc(1, sizeof(*st));
    if (!st)
        return qg_error_oom;
    st->delay_ms = (long)qg_config_ms(cfg, "passthrough.delay.ms");
    st->fail_param = qg_config_get(cfg, "passthrough.fail.param");
    st->transient_failures = (long)qg_config_int(cfg, "passthrough.transient.failures");
    *state = st;
    return NULL;
}

/* Sleep in small steps so a cancel request is noticed. */
static void simulated_work(long delay_ms, volatile sig_atomic_t *cancel)
{
    for (long left = delay_ms; left > 0 && !(cancel && *cancel); left -= 50) {
        long step = left < 50 ? left : 50;
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static qg_error_t *passthrough_run(void *state, qg_stage_ctx_t *ctx)
{
    passthrough_state_t *st = state;
    if (st->fail_param && *st->fail_param) {
        const char *cls =
            qg_json_str(qg_json_get(qg_goal_param(ctx->doc, st->fail_param), "value"));
        int c = cls ? qg_error_class_from_name(cls) : -1;
        if (c > 0)
            return qg_error_new((qg_error_class_t)c, "failure requested by parameter %s",
                                st->fail_param);
    }
    if (st->transient_failures > 0 && failures_so_far(st, ctx->goal_id) < st->transient_failures)
        return qg_error_new_transient("simulated transient failure");
    simulated_work(st->delay_ms, ctx->cancel);
    if (ctx->cancel && *ctx->cancel)
        return qg_error_new_transient("cancelled");
    qg_json_set_str(ctx->result, "passedBy", ctx->worker_id);
    return NULL;
}

static int passthrough_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t sz)
{
    (void)state;
    int pass = qg_json_get(ctx->result, "passedBy") != NULL;
    snprintf(reason, sz, pass ? "pass-through" : "no result recorded");
    return pass;
}

static void passthrough_destroy(void *state)
{
    passthrough_state_t *st = state;
    for (size_t i = 0; st && i < st->nseen; i++)
        free(st->seen_ids[i]);
    free(st);
}

const qg_stage_ops_t qg_stage_passthrough = {
    .name = NULL, /* taken from --stage */
    .program = "qg-test-passthrough",
    .summary = "test-only stage that passes every goal on",
    .options = passthrough_options,
    .init = passthrough_init,
    .run = passthrough_run,
    .gate = passthrough_gate,
    .destroy = passthrough_destroy,
};
