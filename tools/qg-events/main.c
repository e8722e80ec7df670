/*
 * qg-events - the progress event forwarder: an XSUB/XPUB proxy.
 *
 * Workers PUBlish (connect) to the XSUB endpoint; `qgctl watch` and other
 * subscribers SUBscribe (connect) to the XPUB endpoint; subscriptions travel
 * upstream so workers only send what somebody wants. Events are ephemeral:
 * nothing is stored. Prints "XSUB_ENDPOINT XPUB_ENDPOINT" (the bound
 * addresses, so a port of * shows the one chosen) on the first line of
 * stdout, then forwards until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "config.h"
#include "log.h"

#define CONTROL_ENDPOINT "inproc://qg-events-control"

static const qg_option_t events_options[] = {
    QG_OPT_STR("events.xsub.bind", "tcp://127.0.0.1:5559", "where publishers (workers) connect"),
    QG_OPT_STR("events.xpub.bind", "tcp://127.0.0.1:5560",
               "where subscribers (qgctl watch) connect"),
    QG_OPT_INT("events.hwm", "10000", 1, 10000000,
               "messages queued per peer before events are dropped"),
    QG_OPT_ENUM("log.level", "info", "error|warn|info|debug", "error, warn, info or debug"),
    QG_OPT_TABLE_END("qg-events"),
};

static const qg_cli_t events_cli = {
    .program = "qg-events",
    .usage = "[options]",
    .about = "Forwards ZeroMQ progress events from workers (PUB -> XSUB) to subscribers\n"
             "(XPUB -> SUB) until SIGTERM/SIGINT. Prints the bound XSUB and XPUB endpoints on\n"
             "the first line of stdout.",
    .max_positional = 0,
};

typedef struct {
    void *zctx;
    void *xsub, *xpub;
    void *ctl_main, *ctl_proxy; /* PAIR: main thread -> proxy thread */
    pthread_t thread;
    int thread_started;
    int proxy_rc, proxy_errno;
} fwd_t;

static void *proxy_thread(void *arg)
{
    fwd_t *f = arg;
    f->proxy_rc = zmq_proxy_steerable(f->xsub, f->xpub, NULL, f->ctl_proxy);
    f->proxy_errno = zmq_errno();
    return NULL;
}

static int bind_socket(void *s, const char *ep, const char *what, char *bound, size_t sz)
{
    if (zmq_bind(s, ep) != 0) {
        qg_err("events", "%s bind %s: %s", what, ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    size_t len = sz;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        snprintf(bound, sz, "%s", ep);
    return 0;
}

static int fwd_open(fwd_t *f, const qg_config_t *cfg, char *xsub_ep, char *xpub_ep, size_t sz)
{
    int hwm = (int)qg_config_int(cfg, "events.hwm"), linger = 0;
    f->zctx = zmq_ctx_new();
    if (!f->zctx)
        return -1;
    f->xsub = zmq_socket(f->zctx, ZMQ_XSUB);
    f->xpub = zmq_socket(f->zctx, ZMQ_XPUB);
    f->ctl_main = zmq_socket(f->zctx, ZMQ_PAIR);
    f->ctl_proxy = zmq_socket(f->zctx, ZMQ_PAIR);
    if (!f->xsub || !f->xpub || !f->ctl_main || !f->ctl_proxy)
        return -1;
    void *all[] = {f->xsub, f->xpub, f->ctl_main, f->ctl_proxy};
    for (size_t i = 0; i < 4; i++)
        zmq_setsockopt(all[i], ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(f->xsub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(f->xpub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    if (bind_socket(f->xsub, qg_config_get(cfg, "events.xsub.bind"), "XSUB", xsub_ep, sz) ||
        bind_socket(f->xpub, qg_config_get(cfg, "events.xpub.bind"), "XPUB", xpub_ep, sz))
        return -1;
    if (zmq_bind(f->ctl_proxy, CONTROL_ENDPOINT) || zmq_connect(f->ctl_main, CONTROL_ENDPOINT))
        return -1;
    return 0;
}

static void fwd_close(fwd_t *f)
{
    void *all[] = {f->xsub, f->xpub, f->ctl_main, f->ctl_proxy};
    for (size_t i = 0; i < 4; i++)
        if (all[i])
            zmq_close(all[i]);
    if (f->zctx)
        zmq_ctx_term(f->zctx);
}

/* Serve until a signal arrives; the proxy runs on its own thread. */
static int fwd_serve(fwd_t *f, const sigset_t *sigs)
{
    if (pthread_create(&f->thread, NULL, proxy_thread, f) != 0) {
        qg_err("events", "cannot start the proxy thread");
        return 1;
    }
    int sig = 0;
    while (sigwait(sigs, &sig) != 0)
        ;
    qg_info("events", "signal %d: stopping", sig);
    zmq_send(f->ctl_main, "TERMINATE", 9, 0);
    pthread_join(f->thread, NULL);
    if (f->proxy_rc != 0 && f->proxy_errno != ETERM) {
        qg_err("events", "proxy stopped: %s", zmq_strerror(f->proxy_errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const qg_option_t *const tables[] = {events_options};
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qg_cli_config(&events_cli, tables, 1, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    rc = 1;
    /* Block the stop signals before ZeroMQ starts its threads; main waits for them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    fwd_t f;
    memset(&f, 0, sizeof(f));
    char xsub_ep[256], xpub_ep[256];
    if (fwd_open(&f, cfg, xsub_ep, xpub_ep, sizeof(xsub_ep)) != 0) {
        qg_err("events", "cannot start: %s", zmq_strerror(zmq_errno()));
    } else {
        printf("%s %s\n", xsub_ep, xpub_ep);
        fflush(stdout);
        qg_info("events", "forwarding %s (XSUB) -> %s (XPUB)", xsub_ep, xpub_ep);
        rc = fwd_serve(&f, &sigs);
    }
    fwd_close(&f);
    qg_config_destroy(cfg);
    return rc;
}
