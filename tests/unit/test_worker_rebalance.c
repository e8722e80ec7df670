/*
 * The worker loop across rebalances, in-process on the mock cluster: another
 * member joins the retry group while the worker holds paused retry partitions,
 * or the stage group while a long stage runs. The mock's coordinator may revoke
 * everything (eager) where Kafka revokes incrementally; the assertions hold for
 * both: nothing is lost, nothing is produced from a partition the worker lost,
 * and a partition the worker no longer owns is never resumed by it.
 */
#include "worker_harness.h"

static harness_t h;
static rd_kafka_t *newcomer;
static char newcomer_got[64]; /* key of the first record the other member received */
static int32_t newcomer_partition = -1;

/* Poll the other member once; remember the first record it receives. */
static void poll_newcomer(void)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(newcomer, 20);
    if (!m)
        return;
    if (!m->err && !newcomer_got[0] && m->key) {
        size_t n = m->key_len < sizeof(newcomer_got) - 1 ? m->key_len : sizeof(newcomer_got) - 1;
        memcpy(newcomer_got, m->key, n);
        newcomer_got[n] = '\0';
        newcomer_partition = m->partition;
    }
    rd_kafka_message_destroy(m);
}

static void newcomer_join(const char *group, const char *topic)
{
    newcomer = h_consumer(&h, group);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(newcomer, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
}

static void newcomer_leave(void)
{
    rd_kafka_consumer_close(newcomer);
    rd_kafka_destroy(newcomer);
}

static void produce_retry(int32_t partition, const char *id, double due_wall_ms)
{
    char v[512], num[32];
    h_goal(v, sizeof(v), id, NULL);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, QG_HDR_ATTEMPT, -1, "2", -1);
    snprintf(num, sizeof(num), "%.0f", due_wall_ms);
    rd_kafka_header_add(hdrs, QG_HDR_NOT_BEFORE, -1, num, -1);
    h_produce(&h, T_RETRY, partition, id, v, hdrs);
}

static int both_paused(harness_t *x)
{
    return __atomic_load_n(&x->w->npaused, __ATOMIC_SEQ_CST) == 2;
}

/* The other member has a record and the worker pauses only the partition it kept. */
static int split_settled(harness_t *x)
{
    poll_newcomer();
    if (!newcomer_got[0] || __atomic_load_n(&x->w->npaused, __ATOMIC_SEQ_CST) != 1)
        return 0;
    return x->w->paused[0].partition != newcomer_partition;
}

static const char *kept_goal(void)
{
    return !strcmp(newcomer_got, "r0") ? "r1" : "r0";
}

static int kept_goal_completed(harness_t *x)
{
    poll_newcomer();
    return h_count(x, T_COMPLETED, kept_goal()) >= 1;
}

Test(worker_rebalance, revoked_paused_retry_partition_is_forgotten, .timeout = 120)
{
    h_cluster(&h, 1, 2);
    /* Due well after the rebalance (the mock's takes a few seconds). */
    double due = qg_clock_wall_ms() + 20000;
    produce_retry(0, "r0", due);
    produce_retry(1, "r1", due);
    h_start(&h, NULL);
    cr_assert(h_wait(&h, both_paused, 20000), "both retry partitions paused until due");
    newcomer_join(G_RETRY, T_RETRY);
    cr_assert(h_wait(&h, split_settled, 40000),
              "after the rebalance the other member reads one retry partition (got \"%s\") "
              "and the worker pauses only the one it kept (%zu paused)",
              newcomer_got, h.w->npaused);
    cr_assert(h_wait(&h, kept_goal_completed, 40000), "the kept retry %s completed when due",
              kept_goal());
    cr_assert_eq(h_count(&h, T_COMPLETED, newcomer_got), 0,
                 "the worker ran %s from a partition it no longer owns", newcomer_got);
    cr_assert(h_stop(&h, 20000));
    cr_assert_eq(h.rc, 0);
    newcomer_leave();
    h_destroy(&h);
}

static int job_running(harness_t *x)
{
    return __atomic_load_n(&x->w->job.running, __ATOMIC_SEQ_CST) != 0;
}

/* The goal went somewhere: completed by the worker or read by the other member. */
static int long_goal_placed(harness_t *x)
{
    poll_newcomer();
    return newcomer_got[0] || h_count(x, T_COMPLETED, "L1") >= 1;
}

Test(worker_rebalance, long_stage_across_a_rebalance, .timeout = 120)
{
    h_cluster(&h, 2, 1);
    h_produce_goal(&h, "L1", NULL); /* partition 0 */
    const char *extra[] = {"stage.threaded", "true", "passthrough.delay.ms", "3000", NULL};
    h_start(&h, extra);
    cr_assert(h_wait(&h, job_running, 20000), "the long stage started");
    newcomer_join(G_MAIN, T_IN);
    cr_assert(h_wait(&h, long_goal_placed, 60000),
              "the goal was neither completed nor handed to the new owner");
    /* A run whose partition was revoked must not produce: if the other member got the
     * goal, the worker's run was dropped. */
    if (newcomer_got[0]) {
        cr_assert_str_eq(newcomer_got, "L1");
        cr_assert_eq(h_count(&h, T_COMPLETED, "L1"), 0,
                     "the revoked run produced its outcome anyway");
    }
    cr_assert_not(h_done(&h), "the worker left the loop during the rebalance");
    cr_assert(h_stop(&h, 20000));
    cr_assert_eq(h.rc, 0);
    newcomer_leave();
    h_destroy(&h);
}
