/*
 * bench.c - produce a run at --rate in a second thread while verifying what comes
 * out of the pipeline; report throughput and latency (also as read live).
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "loadgen.h"

typedef struct lg_bench_s {
    const lg_opts_t *o;
    volatile long produced;
    qg_error_t *err;
} lg_bench_t;

static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int verifier_is_ready;

void lg_verifier_ready(void)
{
    pthread_mutex_lock(&ready_lock);
    verifier_is_ready = 1;
    pthread_cond_broadcast(&ready_cond);
    pthread_mutex_unlock(&ready_lock);
}

void lg_verifier_wait(double timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s + 1;
    pthread_mutex_lock(&ready_lock);
    int rc = 0;
    while (!verifier_is_ready && rc == 0)
        rc = pthread_cond_timedwait(&ready_cond, &ready_lock, &until);
    pthread_mutex_unlock(&ready_lock);
}

static void *producer_thread(void *arg)
{
    lg_bench_t *b = arg;
    b->err = lg_produce(b->o, &b->produced, 1);
    return NULL;
}

int lg_cmd_bench(lg_opts_t *o)
{
    qg_error_t *err = o->create_topics ? lg_create_topics(o) : NULL;
    if (err) {
        fprintf(stderr, "qg-loadgen: warning: %s (continuing)\n", qg_error_message(err));
        qg_error_destroy(err);
    }
    lg_bench_t b = {.o = o};
    pthread_t th;
    if (pthread_create(&th, NULL, producer_thread, &b) != 0) {
        fprintf(stderr, "qg-loadgen: cannot start the producer thread\n");
        return 2;
    }
    lg_report_t *r = lg_verify_run(o, 1, &err);
    lg_verifier_ready(); /* also when the verifier gave up before its assignment */
    pthread_join(th, NULL);
    int rc = 2;
    if (b.err) {
        fprintf(stderr, "qg-loadgen: produce: %s\n", qg_error_message(b.err));
        qg_error_destroy(b.err);
    } else if (!r) {
        fprintf(stderr, "qg-loadgen: bench: %s\n", qg_error_message(err));
    } else {
        rc = lg_report_print(r, o, "bench");
    }
    qg_error_destroy(err);
    lg_report_destroy(r);
    return rc;
}
