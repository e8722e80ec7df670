/*
 * The worker loop at at-least-once, in-process on the mock cluster: offsets are
 * committed only up to acknowledged outputs; a fatal error drains and ends the
 * loop with 1 and its class; a full producer queue does not hold up a stop.
 */
#include "worker_harness.h"

static harness_t h;

static int processed_one(harness_t *x)
{
    return h_load(&x->w->processed) >= 1;
}

Test(worker_alo, commits_only_acknowledged_outputs, .timeout = 60)
{
    h_cluster(&h, 1, 1);
    h_produce_goal(&h, "g1", NULL);
    /* The worker's first Produce response is held back 2.5 s. */
    rd_kafka_mock_broker_push_request_error_rtts(h.mc, 1, API_PRODUCE, 1,
                                                 RD_KAFKA_RESP_ERR_NO_ERROR, 2500);
    h_start(&h, NULL);
    rd_kafka_t *rk = h_consumer(&h, G_MAIN);
    cr_assert(h_wait(&h, processed_one, 20000), "the goal was never processed");
    /* While the output is not acknowledged, its input must not be committed. Reading
     * the committed offset first and the in-flight count after makes this race-free:
     * an offset committed before the acknowledgement shows as both at once. */
    int64_t committed = -1;
    while ((committed = h_committed(rk, T_IN, 0)) < 1 && h_load(&h.w->inflight) > 0)
        h_sleep_ms(20);
    cr_assert(committed < 1 || h_load(&h.w->inflight) == 0,
              "offset %lld committed while its output was still unacknowledged",
              (long long)committed);
    double deadline = qg_clock_ms() + 10000;
    while ((committed = h_committed(rk, T_IN, 0)) != 1 && qg_clock_ms() < deadline)
        h_sleep_ms(20);
    cr_assert_eq(committed, 1, "after the acknowledgement the offset is committed (got %lld)",
                 (long long)committed);
    cr_assert_eq(h_count(&h, T_COMPLETED, "g1"), 1);
    cr_assert(h_stop(&h, 20000), "the loop did not stop");
    cr_assert_eq(h.rc, 0);
    rd_kafka_destroy(rk);
    h_destroy(&h);
}

Test(worker_alo, fatal_error_drains_and_exits_1, .timeout = 60)
{
    h_cluster(&h, 1, 1);
    h_produce_goal(&h, "g1", NULL);
    h_produce_goal(&h, "g2", "fatal");
    h_produce_goal(&h, "g3", NULL);
    h_start(&h, NULL);
    cr_assert(h_wait(&h, h_done, 30000), "the loop did not end on the fatal error");
    pthread_join(h.thread, NULL);
    cr_assert_eq(h.rc, 1, "exit code 1 after a fatal error, got %d", h.rc);
    const qg_error_t *err = qg_worker_error(h.w);
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL, "class kept: %s",
                 qg_error_class_name(qg_error_class(err)));
    cr_assert(strstr(qg_error_message(err), "failWith"), "message kept: %s", qg_error_message(err));
    /* Drained: g1's output acknowledged and its offset committed; g2 and g3 not. */
    rd_kafka_t *rk = h_consumer(&h, G_MAIN);
    cr_assert_eq(h_committed(rk, T_IN, 0), 1);
    cr_assert_eq(h_count(&h, T_COMPLETED, NULL), 1);
    cr_assert_eq(h_count(&h, T_COMPLETED, "g1"), 1);
    rd_kafka_destroy(rk);
    h_destroy(&h);
}

static int queue_full(harness_t *x)
{
    return h_load(&x->w->queue_full_waits) > 0;
}

Test(worker_alo, queue_full_while_stopping, .timeout = 90)
{
    h_cluster(&h, 1, 1);
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof(id), "q%d", i);
        h_produce_goal(&h, id, NULL);
    }
    /* Produce responses held back 30 s; the queue holds one record. */
    rd_kafka_mock_broker_push_request_error_rtts(
        h.mc, 1, API_PRODUCE, 3, RD_KAFKA_RESP_ERR_NO_ERROR, 30000, RD_KAFKA_RESP_ERR_NO_ERROR,
        30000, RD_KAFKA_RESP_ERR_NO_ERROR, 30000);
    const char *extra[] = {"queue.buffering.max.messages", "1", "shutdown.timeout.ms", "1000",
                           NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, queue_full, 20000), "the producer queue never filled");
    cr_assert(h_stop(&h, 10000), "stop request not honoured while the producer queue is full");
    cr_assert_eq(h.rc, 0);
    rd_kafka_t *rk = h_consumer(&h, G_MAIN);
    cr_assert_lt(h_committed(rk, T_IN, 0), 1, "nothing acknowledged, nothing committed");
    rd_kafka_destroy(rk);
    h_destroy(&h);
}

static int processed_five(harness_t *x)
{
    return h_load(&x->w->processed) >= 5;
}

/* Keys of T_COMPLETED partition 0 in order, joined with ','. */
static void completed_keys(harness_t *x, char *buf, size_t sz)
{
    rd_kafka_t *rk = h_consumer(x, "t.reader.keys");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, T_COMPLETED, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    size_t used = 0;
    buf[0] = '\0';
    double deadline = qg_clock_ms() + 10000;
    for (int eof = 0; !eof && qg_clock_ms() < deadline;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof = 1;
        else if (!m->err && used + m->key_len + 2 < sz)
            used += (size_t)snprintf(buf + used, sz - used, "%s%.*s", used ? "," : "",
                                     (int)m->key_len, (const char *)m->key);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

Test(worker_alo, long_stage_runs_queued_goals_in_order, .timeout = 60)
{
    h_cluster(&h, 1, 1);
    const char *ids[] = {"k1", "k2", "k3", "k4", "k5"};
    for (int i = 0; i < 5; i++)
        h_produce_goal(&h, ids[i], NULL);
    const char *extra[] = {"stage.threaded", "true", "passthrough.delay.ms", "300", NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, processed_five, 30000), "five long runs (processed %ld)",
              h_load(&h.w->processed));
    cr_assert(h_stop(&h, 20000));
    cr_assert_eq(h.rc, 0);
    char keys[256];
    completed_keys(&h, keys, sizeof(keys));
    cr_assert_str_eq(keys, "k1,k2,k3,k4,k5", "each goal once, in input order");
    rd_kafka_t *rk = h_consumer(&h, G_MAIN);
    cr_assert_eq(h_committed(rk, T_IN, 0), 5);
    rd_kafka_destroy(rk);
    h_destroy(&h);
}
