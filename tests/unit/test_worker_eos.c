/*
 * The worker loop at exactly-once, in-process on the mock cluster. The mock's
 * TxnOffsetCommit stores nothing and its aborted records stay visible, so the
 * test reads what a rewind does: every input is processed again.
 */
#include <stdlib.h>

#include "metrics.h"
#include "worker_harness.h"

static harness_t h;

static int processed_twice(harness_t *x)
{
    return h_load(&x->w->processed) >= 4;
}

Test(worker_eos, abortable_error_aborts_and_rewinds, .timeout = 90)
{
    h_cluster(&h, 1, 1);
    h_produce_goal(&h, "e1", NULL);
    h_produce_goal(&h, "e2", NULL);
    /* The first AddOffsetsToTxn fails with an error that makes the transaction abortable. */
    rd_kafka_mock_push_request_errors(h.mc, API_ADD_OFFSETS_TO_TXN, 1,
                                      RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    /* Both inputs in one transaction: committed by the cadence only. */
    const char *extra[] = {"processing.guarantee",
                           "exactly_once",
                           "transaction.max.ms",
                           "200",
                           "transaction.commit.idle",
                           "false",
                           "transaction.timeout.ms",
                           "10000",
                           NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, processed_twice, 30000),
              "after the abort the inputs were not read again (processed %ld)",
              h_load(&h.w->processed));
    cr_assert_not(h_done(&h), "the abortable error ended the loop");
    cr_assert(h_stop(&h, 20000), "the loop did not stop");
    cr_assert_eq(h.rc, 0, "an abortable error is not fatal (%s)", qg_error_message(h.w->fatal));
    /* The aborted transaction's records were purged or aborted; after the rewind both
     * inputs were produced again. */
    cr_assert_geq(h_count(&h, T_COMPLETED, "e1"), 1);
    cr_assert_geq(h_count(&h, T_COMPLETED, "e2"), 1);
    h_destroy(&h);
}

Test(worker_eos, fatal_stage_error_aborts_and_exits_1, .timeout = 90)
{
    h_cluster(&h, 1, 1);
    h_produce_goal(&h, "f1", NULL);
    h_produce_goal(&h, "f2", "fatal");
    const char *extra[] = {"processing.guarantee",
                           "exactly_once",
                           "transaction.max.ms",
                           "60000",
                           "transaction.max.messages",
                           "100",
                           "transaction.commit.idle",
                           "false",
                           NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, h_done, 30000), "the loop did not end on the fatal error");
    pthread_join(h.thread, NULL);
    cr_assert_eq(h.rc, 1);
    cr_assert_eq(qg_error_class(qg_worker_error(h.w)), QG_ERR_FATAL);
    /* f1's output was in the open transaction, which the drain aborted. */
    cr_assert_eq(h.w->txn_open, 0);
    h_destroy(&h);
}

static int lone_goal_committed(harness_t *x)
{
    return h_load(&x->w->processed) >= 1 && !__atomic_load_n(&x->w->txn_open, __ATOMIC_SEQ_CST);
}

/* With nothing else waiting, a goal's transaction commits at once, not after the
 * cadence (a minute here): the next stage sees it after one commit. */
Test(worker_eos, a_lone_goal_commits_without_waiting_for_the_cadence, .timeout = 90)
{
    h_cluster(&h, 1, 1);
    h_produce_goal(&h, "l1", NULL);
    const char *extra[] = {"processing.guarantee", "exactly_once", "transaction.max.ms", "60000",
                           NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, lone_goal_committed, 30000),
              "the transaction was still open (processed %ld)", h_load(&h.w->processed));
    cr_assert_eq(h_count(&h, T_COMPLETED, "l1"), 1);
    /* The commit was timed: the histogram counts it. */
    char *text = qg_metrics_render(qg_metrics_global(), NULL);
    const char *count = text ? strstr(text, "qg_txn_commit_seconds_count{") : NULL;
    const char *value = count ? strchr(count, ' ') : NULL;
    cr_assert(value && atof(value) >= 1, "no commit in qg_txn_commit_seconds:\n%s",
              text ? text : "(none)");
    free(text);
    cr_assert(h_stop(&h, 20000), "the loop did not stop");
    cr_assert_eq(h.rc, 0);
    h_destroy(&h);
}
