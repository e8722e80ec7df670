/*
 * runner_kubernetes.c - a simulator image run as a batch/v1 Job through the
 * Kubernetes API server (libcurl; in-cluster service-account token and CA, or
 * a kubeconfig).
 *
 * The work directory (runner_files.c) lives on a PersistentVolumeClaim that
 * the worker has mounted (simulation.kubernetes.pvc.mount, by default
 * simulation.work.dir); the Job's pod mounts the same claim with the run's
 * sub-path at /work. The Job: the model's image and command (placeholders as
 * container paths), the shared environment (runner_container.c), memory and
 * CPU limits, a non-root user, a read-only root file system with no
 * capabilities, restartPolicy Never, backoffLimit 0, activeDeadlineSeconds a
 * little past the time limit (so a run outlives a crashed worker by at most
 * that), ttlSecondsAfterFinished, labels naming the goal, the run and the
 * worker's host, and the label querygoal.io/network=none unless the model
 * asks for network (a NetworkPolicy in compose/k8s cuts such pods off).
 *
 * The runner lists and watches the Job's pod (list, then watch from the
 * list's resourceVersion, again after each watch ends) until it succeeds or
 * fails, the time limit passes or the run is cancelled; fetches the pod's log
 * (bounded); reads the result from the shared volume exactly as the exec
 * runner does; and always deletes the Job (propagationPolicy Background).
 *
 * Errors: an image that cannot be pulled, a Job the API server refuses (the
 * message names the field or the missing permission), a pod that fails ->
 * stage_error; the API server unreachable or answering 429/5xx -> transient;
 * cancellation -> transient (the Job is deleted, the goal redelivered).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "clock.h"
#include "file.h"
#include "log.h"
#include "runner.h"
#include "yaml_json.h"

#define COMPONENT      "kubernetes"
#define MOUNT          QG_RUNNER_MOUNT
#define SA_DIR         "/var/run/secrets/kubernetes.io/serviceaccount"
#define CONTAINER      "simulator"
#define EVENT_MAX      (1u << 20)
#define WATCH_MAX_S    60
#define DEADLINE_PAD_S 30
#define LABEL_MANAGED  "app.kubernetes.io/managed-by"
#define LABEL_RUNNER   "querygoal.io/runner"
#define LABEL_RUN      "querygoal.io/run"
#define LABEL_GOAL     "querygoal.io/goal-id"
#define LABEL_HOST     "querygoal.io/host"
#define LABEL_NETWORK  "querygoal.io/network"
#define NOTE_OWNER     "querygoal.io/owner"
#define STAGE_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)
#define TRANSIENT(...) qg_error_new(QG_ERR_TRANSIENT, __VA_ARGS__)

/* ---------- the API server connection ---------- */

typedef struct {
    qg_runner_api_t api;
    char ns[254];
    char ca_path[4096], cert_path[4096], key_path[4096];
    char *token, *ca_pem, *cert_pem, *key_pem;
} kube_t;

static const char *cfg_str(const qg_config_t *cfg, const char *key)
{
    const char *v = cfg ? qg_config_get(cfg, key) : NULL;
    return v && *v ? v : NULL;
}

static void kube_close(kube_t *k)
{
    free(k->token);
    free(k->ca_pem);
    free(k->cert_pem);
    free(k->key_pem);
    memset(k, 0, sizeof(*k));
}

/* A small text file's contents without trailing white space, or NULL. */
static char *read_trimmed(const char *path)
{
    char errstr[256];
    size_t len = 0;
    char *text = qg_file_read(path, 1 << 20, &len, NULL, errstr, sizeof(errstr));
    if (!text)
        return NULL;
    while (len && isspace((unsigned char)text[len - 1]))
        text[--len] = '\0';
    return text;
}

/* A kubeconfig path is relative to the kubeconfig's directory. */
static void resolve_path(const char *kubeconfig, const char *path, char *out, size_t sz)
{
    const char *slash = strrchr(kubeconfig, '/');
    if (path[0] == '/' || !slash)
        snprintf(out, sz, "%s", path);
    else
        snprintf(out, sz, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, path);
}

static char *decode_data(const char *b64)
{
    unsigned char *out = NULL;
    size_t n = 0;
    return qg_b64_decode(b64, strlen(b64), &out, &n) == 0 ? (char *)out : NULL;
}

static const qg_json_t *named(const qg_json_t *list, const char *name, const char *member)
{
    for (size_t i = 0; name && i < qg_json_len(list); i++) {
        const qg_json_t *e = qg_json_at(list, i);
        const char *n = qg_json_str(qg_json_get(e, "name"));
        if (n && !strcmp(n, name))
            return qg_json_get(e, member);
    }
    return NULL;
}

/* A file path or inline base64 data of a kubeconfig entry. */
static qg_error_t *kubeconfig_pem(const char *path, const qg_json_t *obj, const char *field,
                                  char *file_out, size_t sz, char **pem_out)
{
    char data_key[96];
    const char *file = qg_json_str(qg_json_get(obj, field));
    snprintf(data_key, sizeof(data_key), "%s-data", field);
    const char *data = qg_json_str(qg_json_get(obj, data_key));
    if (file)
        resolve_path(path, file, file_out, sz);
    if (data && !(*pem_out = decode_data(data)))
        return STAGE_ERR("kubeconfig %s: %s: not valid base64", path, data_key);
    return NULL;
}

static qg_error_t *kubeconfig_load(kube_t *k, const char *path)
{
    qg_error_t *err = NULL;
    qg_json_t *kc = qg_yaml_file_to_json(path, QG_ERR_STAGE_ERROR, &err);
    if (!kc)
        return err ? err : STAGE_ERR("kubeconfig %s: cannot read", path);
    const char *current = qg_json_str(qg_json_get(kc, "current-context"));
    const qg_json_t *ctx = named(qg_json_get(kc, "contexts"), current, "context");
    const char *cluster_name = qg_json_str(qg_json_get(ctx, "cluster"));
    const qg_json_t *cluster = named(qg_json_get(kc, "clusters"), cluster_name, "cluster");
    const qg_json_t *user =
        named(qg_json_get(kc, "users"), qg_json_str(qg_json_get(ctx, "user")), "user");
    const char *server = qg_json_str(qg_json_get(cluster, "server"));
    const char *ns = qg_json_str(qg_json_get(ctx, "namespace"));
    const char *token = qg_json_str(qg_json_get(user, "token"));
    const char *token_file = qg_json_str(qg_json_get(user, "tokenFile"));
    char tf[4096];
    if (!ctx || !cluster || !server)
        err = STAGE_ERR("kubeconfig %s: no server for the current context %s", path,
                        current ? current : "(none)");
    if (!err) {
        snprintf(k->api.where, sizeof(k->api.where), "%s", server);
        snprintf(k->api.base, sizeof(k->api.base), "%s", server);
        if (ns)
            snprintf(k->ns, sizeof(k->ns), "%s", ns);
        err = kubeconfig_pem(path, cluster, "certificate-authority", k->ca_path, sizeof(k->ca_path),
                             &k->ca_pem);
    }
    if (!err)
        err = kubeconfig_pem(path, user, "client-certificate", k->cert_path, sizeof(k->cert_path),
                             &k->cert_pem);
    if (!err)
        err =
            kubeconfig_pem(path, user, "client-key", k->key_path, sizeof(k->key_path), &k->key_pem);
    if (!err && token && !(k->token = strdup(token)))
        err = qg_error_oom;
    if (!err && !token && token_file) {
        resolve_path(path, token_file, tf, sizeof(tf));
        if (!(k->token = read_trimmed(tf)))
            err = STAGE_ERR("kubeconfig %s: tokenFile %s: cannot read", path, tf);
    }
    qg_json_destroy(kc);
    return err;
}

static qg_error_t *in_cluster(kube_t *k, const qg_config_t *cfg)
{
    const char *server = cfg_str(cfg, "simulation.kubernetes.server");
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (server)
        snprintf(k->api.base, sizeof(k->api.base), "%s", server);
    else if (host && port)
        snprintf(k->api.base, sizeof(k->api.base), "https://%s%s%s:%s",
                 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
    else
        return STAGE_ERR("kubernetes runner: no API server: set simulation.kubernetes.server or "
                         "simulation.kubernetes.kubeconfig, or run in a pod");
    snprintf(k->api.where, sizeof(k->api.where), "%s", k->api.base);
    const char *ca = cfg_str(cfg, "simulation.kubernetes.ca.file");
    const char *token = cfg_str(cfg, "simulation.kubernetes.token.file");
    snprintf(k->ca_path, sizeof(k->ca_path), "%s", ca ? ca : SA_DIR "/ca.crt");
    if (access(k->ca_path, R_OK) != 0)
        k->ca_path[0] = '\0'; /* the system's CAs */
    const char *tf = token ? token : SA_DIR "/token";
    if (!(k->token = read_trimmed(tf)) && token)
        return STAGE_ERR("simulation.kubernetes.token.file %s: cannot read", tf);
    char *ns = read_trimmed(SA_DIR "/namespace");
    if (ns)
        snprintf(k->ns, sizeof(k->ns), "%s", ns);
    free(ns);
    return NULL;
}

/* The connection as configured; read for each run (service-account tokens rotate). */
static qg_error_t *kube_open(const qg_config_t *cfg, kube_t *k)
{
    memset(k, 0, sizeof(*k));
    k->api.what = "Kubernetes API server";
    const char *kubeconfig = cfg_str(cfg, "simulation.kubernetes.kubeconfig");
    qg_error_t *err = kubeconfig ? kubeconfig_load(k, kubeconfig) : in_cluster(k, cfg);
    const char *ns = cfg_str(cfg, "simulation.kubernetes.namespace");
    if (ns)
        snprintf(k->ns, sizeof(k->ns), "%s", ns);
    if (!k->ns[0])
        snprintf(k->ns, sizeof(k->ns), "default");
    k->api.ca = k->ca_path[0] ? k->ca_path : NULL;
    k->api.cert = k->cert_path[0] ? k->cert_path : NULL;
    k->api.key = k->key_path[0] ? k->key_path : NULL;
    k->api.ca_pem = k->ca_pem;
    k->api.cert_pem = k->cert_pem;
    k->api.key_pem = k->key_pem;
    k->api.bearer = k->token;
    if (err)
        kube_close(k);
    return err;
}

/* The API server's message of a Status answer. */
static const char *status_message(const qg_json_t *answer)
{
    const char *m = qg_json_str(qg_json_get(answer, "message"));
    return m ? m : "(no message)";
}

/* 429 and 5xx are the server's passing trouble; everything else is about this Job. */
static qg_error_t *refused(const kube_t *k, const char *what, long status, const qg_json_t *answer)
{
    if (status == 429 || status >= 500)
        return TRANSIENT("%s at %s: %s: HTTP %ld: %s", k->api.what, k->api.where, what, status,
                         status_message(answer));
    return STAGE_ERR("%s at %s refused to %s: HTTP %ld: %s", k->api.what, k->api.where, what,
                     status, status_message(answer));
}

/* ---------- the Job ---------- */

typedef struct {
    qg_runner_container_t c; /* image, user, cpus, network */
    long uid, gid;
    const char *pull_policy;
    char claim[254];
    char sub_path[4096];
    long ttl_s;
    const char *service_account;
} model_t;

static qg_error_t *sub_path_of(const qg_runner_job_t *job, model_t *m)
{
    const char *mount = cfg_str(job->cfg, "simulation.kubernetes.pvc.mount");
    if (!mount)
        mount = cfg_str(job->cfg, "simulation.work.dir");
    size_t n = mount ? strlen(mount) : 0;
    while (n > 1 && mount[n - 1] == '/')
        n--;
    if (!n || strncmp(job->work_dir, mount, n) != 0 || job->work_dir[n] != '/')
        return STAGE_ERR("kubernetes runner: the work directory %s is not on the claim mounted "
                         "at %s (simulation.kubernetes.pvc.mount)",
                         job->work_dir, mount ? mount : "(unset)");
    snprintf(m->sub_path, sizeof(m->sub_path), "%s", job->work_dir + n + 1);
    return NULL;
}

static qg_error_t *model_read(const qg_runner_job_t *job, model_t *m)
{
    const qg_json_t *r = job->runner;
    memset(m, 0, sizeof(*m));
    qg_error_t *err = qg_runner_container_read(job, &m->c);
    if (err)
        return err;
    char extra;
    int n = sscanf(m->c.user, "%ld:%ld%c", &m->uid, &m->gid, &extra);
    if (n == 1)
        m->gid = m->uid;
    else if (n != 2)
        return STAGE_ERR("selectedModel.runner.user: %s: the kubernetes runner needs a numeric "
                         "uid[:gid]",
                         m->c.user);
    m->pull_policy = qg_json_str(qg_json_get(r, "imagePullPolicy"));
    if (!m->pull_policy)
        m->pull_policy = cfg_str(job->cfg, "simulation.kubernetes.image.pull.policy");
    const char *claim = cfg_str(job->cfg, "simulation.kubernetes.pvc");
    if (!claim)
        return STAGE_ERR("kubernetes runner: simulation.kubernetes.pvc is not set (the claim "
                         "that holds simulation.work.dir)");
    snprintf(m->claim, sizeof(m->claim), "%s", claim);
    m->ttl_s = job->cfg ? (long)qg_config_int(job->cfg, "simulation.kubernetes.ttl.s") : 600;
    m->service_account = cfg_str(job->cfg, "simulation.kubernetes.service.account");
    return sub_path_of(job, m);
}

/* A label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. */
static void label_value(const char *s, char *out, size_t sz)
{
    size_t n = 0, cap = sz < 64 ? sz : 64;
    while (s && *s && !isalnum((unsigned char)*s))
        s++;
    for (; s && *s && n + 1 < cap; s++)
        out[n++] = isalnum((unsigned char)*s) || strchr("-_.", *s) ? *s : '_';
    while (n && !isalnum((unsigned char)out[n - 1]))
        n--;
    if (cap)
        out[n] = '\0';
}

/* A DNS-1123 name: "qg-sim-<goal>-<pid>-<n>", lower case, at most 63. */
static void job_name(const qg_runner_job_t *job, char *out, size_t sz)
{
    static unsigned long counter;
    char safe[32];
    size_t n = 0;
    for (const char *p = job->goal_id ? job->goal_id : "goal"; *p && n < sizeof(safe) - 1; p++)
        if (isalnum((unsigned char)*p))
            safe[n++] = (char)tolower((unsigned char)*p);
        else if (n && safe[n - 1] != '-')
            safe[n++] = '-';
    safe[n] = '\0';
    snprintf(out, sz, "qg-sim-%s-%d-%lu", safe, (int)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

static qg_json_t *labels(const qg_runner_job_t *job, const char *name, const model_t *m)
{
    char goal[64], host[256] = "?", host_label[64];
    label_value(job->goal_id, goal, sizeof(goal));
    gethostname(host, sizeof(host) - 1);
    label_value(host, host_label, sizeof(host_label));
    qg_json_t *l = qg_json_object();
    qg_json_set_str(l, LABEL_MANAGED, "querygoal-runtime");
    qg_json_set_str(l, LABEL_RUNNER, "kubernetes");
    qg_json_set_str(l, LABEL_RUN, name);
    qg_json_set_str(l, LABEL_GOAL, goal);
    qg_json_set_str(l, LABEL_HOST, host_label);
    qg_json_set_str(l, LABEL_NETWORK, m->c.network ? "allowed" : "none");
    return l;
}

static qg_json_t *annotations(const qg_runner_job_t *job)
{
    char owner[400];
    qg_runner_owner_of(getpid(), owner, sizeof(owner));
    qg_json_t *a = qg_json_object();
    qg_json_set_str(a, LABEL_GOAL, job->goal_id ? job->goal_id : "");
    qg_json_set_str(a, NOTE_OWNER, owner);
    return a;
}

/* [{name, value}] from the shared environment. */
static qg_error_t *env_list(const qg_runner_job_t *job, qg_json_t **out)
{
    qg_json_t *vars = NULL, *list = *out = qg_json_array();
    qg_error_t *err = list ? qg_runner_container_env(job, &vars) : qg_error_oom;
    for (size_t i = 0; !err && i < qg_json_len(vars); i++) {
        qg_json_t *e = qg_json_object();
        qg_json_set_str(e, "name", qg_json_key_at(vars, i));
        qg_json_set_str(e, "value", qg_json_str(qg_json_at(vars, i)));
        qg_json_append(list, e);
    }
    qg_json_destroy(vars);
    return err ? err : qg_json_failed(list) ? qg_error_oom : NULL;
}

static qg_json_t *resources(const qg_runner_job_t *job, const model_t *m)
{
    char cpu[32], mem[32];
    snprintf(cpu, sizeof(cpu), "%ldm", (long)ceil(m->c.cpus * 1000));
    snprintf(mem, sizeof(mem), "%ldMi", job->memory_limit_mb);
    qg_json_t *limits = qg_json_object(), *res = qg_json_object();
    qg_json_set_str(limits, "cpu", cpu);
    if (job->memory_limit_mb > 0)
        qg_json_set_str(limits, "memory", mem);
    qg_json_set(res, "requests", qg_json_clone(limits));
    qg_json_set(res, "limits", limits);
    return res;
}

static qg_json_t *mount(const char *name, const char *path, const char *sub_path)
{
    qg_json_t *vm = qg_json_object();
    qg_json_set_str(vm, "name", name);
    qg_json_set_str(vm, "mountPath", path);
    if (sub_path)
        qg_json_set_str(vm, "subPath", sub_path);
    return vm;
}

static qg_json_t *container_security(void)
{
    qg_json_t *sc = qg_json_object(), *caps = qg_json_object(), *drop = qg_json_array();
    qg_json_append(drop, qg_json_string("ALL"));
    qg_json_set(caps, "drop", drop);
    qg_json_set(sc, "capabilities", caps);
    qg_json_set_bool(sc, "readOnlyRootFilesystem", 1);
    qg_json_set_bool(sc, "allowPrivilegeEscalation", 0);
    return sc;
}

static qg_error_t *container(const qg_runner_job_t *job, const model_t *m, qg_json_t **out)
{
    qg_json_t *c = *out = qg_json_object(), *env = NULL, *args = NULL;
    qg_error_t *err = env_list(job, &env);
    if (!err)
        err = qg_runner_container_cmd(job, &args);
    qg_json_set(c, "env", env);
    if (args)
        qg_json_set(c, "args", args); /* the image's entrypoint stays, as with docker's Cmd */
    if (err)
        return err;
    qg_json_t *mounts = qg_json_array();
    qg_json_append(mounts, mount("work", MOUNT, m->sub_path));
    qg_json_append(mounts, mount("tmp", "/tmp", NULL));
    qg_json_set_str(c, "name", CONTAINER);
    qg_json_set_str(c, "image", m->c.image);
    if (m->pull_policy)
        qg_json_set_str(c, "imagePullPolicy", m->pull_policy);
    qg_json_set_str(c, "workingDir", MOUNT);
    qg_json_set_str(c, "terminationMessagePolicy", "FallbackToLogsOnError");
    qg_json_set(c, "resources", resources(job, m));
    qg_json_set(c, "securityContext", container_security());
    qg_json_set(c, "volumeMounts", mounts);
    return NULL;
}

static qg_json_t *volumes(const model_t *m)
{
    qg_json_t *vols = qg_json_array(), *work = qg_json_object(), *pvc = qg_json_object(),
              *tmp = qg_json_object(), *empty = qg_json_object();
    qg_json_set_str(pvc, "claimName", m->claim);
    qg_json_set_str(work, "name", "work");
    qg_json_set(work, "persistentVolumeClaim", pvc);
    qg_json_set_str(empty, "sizeLimit", "64Mi");
    qg_json_set_str(tmp, "name", "tmp");
    qg_json_set(tmp, "emptyDir", empty);
    qg_json_append(vols, work);
    qg_json_append(vols, tmp);
    return vols;
}

static qg_json_t *pod_spec(const model_t *m, qg_json_t *ctr)
{
    qg_json_t *spec = qg_json_object(), *ctrs = qg_json_array(), *sc = qg_json_object();
    qg_json_append(ctrs, ctr);
    qg_json_set_bool(sc, "runAsNonRoot", 1);
    qg_json_set_num(sc, "runAsUser", (double)m->uid);
    qg_json_set_num(sc, "runAsGroup", (double)m->gid);
    qg_json_set_str(spec, "restartPolicy", "Never");
    qg_json_set_bool(spec, "automountServiceAccountToken", 0);
    qg_json_set_bool(spec, "enableServiceLinks", 0);
    if (m->service_account)
        qg_json_set_str(spec, "serviceAccountName", m->service_account);
    qg_json_set(spec, "securityContext", sc);
    qg_json_set(spec, "containers", ctrs);
    qg_json_set(spec, "volumes", volumes(m));
    return spec;
}

static qg_error_t *job_body(const qg_runner_job_t *job, const model_t *m, const char *name,
                            qg_json_t **out)
{
    qg_json_t *ctr = NULL;
    qg_error_t *err = container(job, m, &ctr);
    if (err) {
        qg_json_destroy(ctr);
        return err;
    }
    qg_json_t *body = *out = qg_json_object(), *meta = qg_json_object(), *spec = qg_json_object(),
              *tmpl = qg_json_object(), *tmeta = qg_json_object();
    qg_json_set_str(meta, "name", name);
    qg_json_set(meta, "labels", labels(job, name, m));
    qg_json_set(meta, "annotations", annotations(job));
    qg_json_set(tmeta, "labels", labels(job, name, m));
    qg_json_set(tmeta, "annotations", annotations(job));
    qg_json_set(tmpl, "metadata", tmeta);
    qg_json_set(tmpl, "spec", pod_spec(m, ctr));
    qg_json_set_num(spec, "backoffLimit", 0);
    qg_json_set_num(spec, "activeDeadlineSeconds", ceil(job->time_limit_s) + DEADLINE_PAD_S);
    qg_json_set_num(spec, "ttlSecondsAfterFinished", (double)m->ttl_s);
    qg_json_set(spec, "template", tmpl);
    qg_json_set_str(body, "apiVersion", "batch/v1");
    qg_json_set_str(body, "kind", "Job");
    qg_json_set(body, "metadata", meta);
    qg_json_set(body, "spec", spec);
    return qg_json_failed(body) ? qg_error_oom : NULL;
}

typedef struct {
    kube_t *k;
    char name[64];
    int created;
} kjob_t;

static qg_error_t *job_create(kjob_t *j, const qg_runner_job_t *job, const model_t *m)
{
    qg_json_t *body = NULL, *answer = NULL;
    char path[512], what[400];
    long status;
    job_name(job, j->name, sizeof(j->name));
    qg_error_t *err = job_body(job, m, j->name, &body);
    snprintf(path, sizeof(path), "/apis/batch/v1/namespaces/%s/jobs", j->k->ns);
    if (!err)
        err = qg_runner_api_json(&j->k->api, "POST", path, body, 30, &status, &answer);
    snprintf(what, sizeof(what), "create Job %s (image %s) in namespace %s", j->name, m->c.image,
             j->k->ns);
    if (!err && status != 201)
        err = refused(j->k, what, status, answer);
    j->created = !err;
    qg_json_destroy(body);
    qg_json_destroy(answer);
    return err;
}

static void job_delete(const kjob_t *j)
{
    char path[512];
    long status;
    qg_json_t *answer = NULL;
    if (!j->created)
        return;
    snprintf(path, sizeof(path),
             "/apis/batch/v1/namespaces/%s/jobs/%s?propagationPolicy=Background", j->k->ns,
             j->name);
    qg_error_t *err = qg_runner_api_json(&j->k->api, "DELETE", path, NULL, 30, &status, &answer);
    if (err || (status >= 300 && status != 404))
        qg_warn(COMPONENT, "cannot delete Job %s: %s", j->name,
                err ? qg_error_message(err) : status_message(answer));
    qg_error_destroy(err);
    qg_json_destroy(answer);
}

/* ---------- watching the pod ---------- */

typedef enum { POD_WAITING, POD_SUCCEEDED, POD_FAILED, POD_UNPULLABLE } pod_end_t;

typedef struct {
    pod_end_t end;
    char pod[254], node[254];
    char state[512]; /* the last state seen, for a timeout's message */
    int exit_code;
    char reason[64], message[1024];
    /* the watch stream */
    qg_runner_buf_t line;
    char rv[64];
    int relist;
} pod_watch_t;

static int pull_failure(const char *reason)
{
    const char *all[] = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                         "ErrImageNeverPull", "ImageInspectError"};
    for (size_t i = 0; reason && i < sizeof(all) / sizeof(all[0]); i++)
        if (!strcmp(reason, all[i]))
            return 1;
    return 0;
}

static void note_pending(pod_watch_t *w, const qg_json_t *status)
{
    const qg_json_t *conds = qg_json_get(status, "conditions");
    for (size_t i = 0; i < qg_json_len(conds); i++) {
        const qg_json_t *c = qg_json_at(conds, i);
        const char *msg = qg_json_str(qg_json_get(c, "message"));
        if (msg && qg_json_str(qg_json_get(c, "status")) &&
            !strcmp(qg_json_str(qg_json_get(c, "status")), "False"))
            snprintf(w->state, sizeof(w->state), "pod %s pending: %s", w->pod, msg);
    }
}

/* Read one pod object into the watch's state. */
static void pod_seen(pod_watch_t *w, const qg_json_t *pod)
{
    const qg_json_t *status = qg_json_get(pod, "status");
    const char *name = qg_json_str(qg_json_path(pod, "metadata.name"));
    const char *node = qg_json_str(qg_json_path(pod, "spec.nodeName"));
    const char *phase = qg_json_str(qg_json_get(status, "phase"));
    const qg_json_t *cs = qg_json_at(qg_json_get(status, "containerStatuses"), 0);
    const qg_json_t *term = qg_json_path(cs, "state.terminated");
    const qg_json_t *wait = qg_json_path(cs, "state.waiting");
    snprintf(w->pod, sizeof(w->pod), "%s", name ? name : "?");
    snprintf(w->node, sizeof(w->node), "%s", node ? node : "");
    snprintf(w->state, sizeof(w->state), "pod %s %s", w->pod, phase ? phase : "(no phase)");
    if (phase && !strcmp(phase, "Pending"))
        note_pending(w, status);
    const char *why = qg_json_str(qg_json_get(wait, "reason"));
    const char *msg = qg_json_str(qg_json_get(term ? term : wait, "message"));
    snprintf(w->message, sizeof(w->message), "%s", msg ? msg : "");
    if (why)
        snprintf(w->state, sizeof(w->state), "pod %s waiting: %s %s", w->pod, why, msg ? msg : "");
    if (pull_failure(why)) {
        snprintf(w->reason, sizeof(w->reason), "%s", why);
        w->end = POD_UNPULLABLE;
        return;
    }
    const char *tr = qg_json_str(qg_json_get(term, "reason"));
    snprintf(w->reason, sizeof(w->reason), "%s", tr ? tr : "");
    w->exit_code = (int)qg_json_num(qg_json_get(term, "exitCode"), -1);
    if (phase && !strcmp(phase, "Succeeded"))
        w->end = POD_SUCCEEDED;
    else if (phase && !strcmp(phase, "Failed"))
        w->end = POD_FAILED;
}

/* One watch event: {"type": ADDED|MODIFIED|DELETED|ERROR|BOOKMARK, "object": ...}. */
static void event_seen(pod_watch_t *w, const char *text, size_t len)
{
    char errstr[128];
    qg_json_t *ev = qg_json_parse(text, len, errstr, sizeof(errstr));
    const char *type = qg_json_str(qg_json_get(ev, "type"));
    const qg_json_t *obj = qg_json_get(ev, "object");
    const char *rv = qg_json_str(qg_json_path(obj, "metadata.resourceVersion"));
    if (!type || !strcmp(type, "ERROR")) {
        w->relist = 1; /* e.g. 410 Gone: the resourceVersion is too old */
    } else if (!strcmp(type, "DELETED")) {
        const char *name = qg_json_str(qg_json_path(obj, "metadata.name"));
        snprintf(w->state, sizeof(w->state), "pod %s deleted", name ? name : "?");
    } else if (strcmp(type, "BOOKMARK") != 0) {
        pod_seen(w, obj);
    }
    if (rv && strlen(rv) < sizeof(w->rv))
        snprintf(w->rv, sizeof(w->rv), "%s", rv);
    qg_json_destroy(ev);
}

/* The watch's body: newline-delimited events. Returning short ends the watch. */
static size_t watch_write(char *ptr, size_t size, size_t n, void *opaque)
{
    pod_watch_t *w = opaque;
    size_t total = size * n, i = 0;
    while (i < total) {
        const char *nl = memchr(ptr + i, '\n', total - i);
        size_t take = nl ? (size_t)(nl - (ptr + i)) : total - i;
        if (qg_runner_buf_write(ptr + i, 1, take, &w->line) != take || w->line.truncated)
            return 0; /* an event beyond EVENT_MAX: list again */
        i += take;
        if (!nl)
            break;
        i++; /* the newline ends one event */
        event_seen(w, w->line.data ? w->line.data : "", w->line.len);
        w->line.len = 0;
        if (w->end != POD_WAITING || w->relist)
            return 0;
    }
    return total;
}

static qg_error_t *pods_list(const kjob_t *j, pod_watch_t *w)
{
    char path[512];
    long status;
    qg_json_t *list = NULL;
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=" LABEL_RUN "%%3D%s",
             j->k->ns, j->name);
    qg_error_t *err = qg_runner_api_json(&j->k->api, "GET", path, NULL, 30, &status, &list);
    if (!err && status != 200)
        err = refused(j->k, "list the Job's pods", status, list);
    for (size_t i = 0; !err && i < qg_json_len(qg_json_get(list, "items")); i++)
        pod_seen(w, qg_json_at(qg_json_get(list, "items"), i));
    const char *rv = qg_json_str(qg_json_path(list, "metadata.resourceVersion"));
    snprintf(w->rv, sizeof(w->rv), "%s", rv && strlen(rv) < sizeof(w->rv) ? rv : "");
    w->relist = 0;
    qg_json_destroy(list);
    return err;
}

static qg_error_t *pods_watch(const kjob_t *j, pod_watch_t *w, long seconds,
                              volatile sig_atomic_t *cancel)
{
    char path[768];
    long status;
    int stopped = 0;
    snprintf(path, sizeof(path),
             "/api/v1/namespaces/%s/pods?labelSelector=" LABEL_RUN "%%3D%s&watch=1"
             "&resourceVersion=%s&timeoutSeconds=%ld",
             j->k->ns, j->name, w->rv, seconds);
    w->line.len = 0;
    w->line.truncated = 0;
    qg_runner_request_t rq = {.method = "GET",
                              .path = path,
                              .timeout_s = seconds + 15,
                              .sink = watch_write,
                              .sink_opaque = w,
                              .cancel = cancel,
                              .stopped = &stopped};
    qg_error_t *err = qg_runner_api_call(&j->k->api, &rq, &status);
    if (!err && !stopped && status != 200)
        err = refused(j->k, "watch the Job's pods", status, NULL);
    if (w->line.truncated)
        w->relist = 1;
    return err;
}

typedef enum { END_DONE, END_TIMED_OUT, END_CANCELLED } end_t;

static qg_error_t *pod_wait(const kjob_t *j, const qg_runner_job_t *job, pod_watch_t *w, end_t *end,
                            double *elapsed)
{
    double t0 = qg_clock_ms() / 1000.0;
    qg_error_t *err = NULL;
    snprintf(w->state, sizeof(w->state), "no pod was created for Job %s", j->name);
    w->line.max = EVENT_MAX;
    for (int listed = 0;; listed = !w->relist) {
        *elapsed = qg_clock_ms() / 1000.0 - t0;
        if (job->cancel && *job->cancel) {
            *end = END_CANCELLED;
            break;
        }
        double left = job->time_limit_s - *elapsed;
        if (left <= 0) {
            *end = END_TIMED_OUT;
            break;
        }
        if (!listed && (err = pods_list(j, w)) != NULL)
            break;
        if (w->end != POD_WAITING) {
            *end = END_DONE;
            break;
        }
        long seconds = left < WATCH_MAX_S ? (long)ceil(left) : WATCH_MAX_S;
        if ((err = pods_watch(j, w, seconds, job->cancel)) != NULL)
            break;
    }
    free(w->line.data);
    w->line.data = NULL;
    return err;
}

/* ---------- logs ---------- */

typedef struct {
    FILE *f;
    size_t bytes;
    int write_failed;
} log_sink_t;

static size_t log_write(char *ptr, size_t size, size_t n, void *opaque)
{
    log_sink_t *s = opaque;
    if (s->f && fwrite(ptr, 1, size * n, s->f) != size * n)
        s->write_failed = 1;
    s->bytes += size * n;
    return size * n;
}

/* The pod's log (stdout and stderr together) into logs/stdout.log; 1 if fetched. */
static int collect_logs(const kjob_t *j, const pod_watch_t *w, const qg_runner_dirs_t *dirs,
                        size_t cap, size_t *bytes)
{
    char path[768];
    long status = 0;
    log_sink_t s = {.f = fopen(dirs->out_log, "w")};
    FILE *err_log = fopen(dirs->err_log, "w"); /* kept empty: the API joins the streams */
    if (err_log)
        fclose(err_log);
    snprintf(path, sizeof(path),
             "/api/v1/namespaces/%s/pods/%s/log?container=" CONTAINER "&limitBytes=%zu", j->k->ns,
             w->pod, cap ? cap : (size_t)1 << 20);
    qg_runner_request_t rq = {
        .method = "GET", .path = path, .timeout_s = 60, .sink = log_write, .sink_opaque = &s};
    qg_error_t *err =
        w->pod[0] && w->pod[0] != '?' ? qg_runner_api_call(&j->k->api, &rq, &status) : NULL;
    if (s.f)
        fclose(s.f);
    int ok = !err && status == 200 && !s.write_failed;
    if (!ok && w->pod[0])
        qg_warn(COMPONENT, "logs of pod %s: %s", w->pod,
                err      ? qg_error_message(err)
                : status ? "refused by the API server"
                         : "no pod");
    qg_error_destroy(err);
    *bytes = ok ? s.bytes : 0;
    return ok;
}

/* ---------- the run ---------- */

static qg_json_t *runner_info(const kjob_t *j, const model_t *m, const pod_watch_t *w,
                              double elapsed, int logs, size_t log_bytes)
{
    qg_json_t *info = qg_json_object();
    qg_json_set_str(info, "type", "kubernetes");
    qg_json_set_str(info, "image", m->c.image);
    qg_json_set_str(info, "job", j->name);
    qg_json_set_str(info, "pod", w->pod);
    qg_json_set_str(info, "node", w->node);
    qg_json_set_str(info, "namespace", j->k->ns);
    qg_json_set_str(info, "server", j->k->api.where);
    qg_json_set_str(info, "user", m->c.user);
    qg_json_set_num(info, "exitCode", w->exit_code);
    qg_json_set_num(info, "elapsedSeconds", elapsed);
    qg_json_set_bool(info, "logsAvailable", logs);
    qg_json_set_num(info, "logBytes", (double)log_bytes);
    return info;
}

static qg_error_t *pod_failure(const kjob_t *j, const model_t *m, const pod_watch_t *w,
                               const qg_runner_dirs_t *dirs, const qg_runner_job_t *job)
{
    char mem[96] = "";
    int oom = !strcmp(w->reason, "OOMKilled");
    if (oom || job->memory_limit_mb > 0)
        snprintf(mem, sizeof(mem), " (%smemory limit %ld MB)", oom ? "killed at the " : "",
                 job->memory_limit_mb);
    char *tail = w->message[0] ? NULL : qg_runner_file_tail(dirs->out_log, 300);
    const char *said = w->message[0] ? w->message : tail && *tail ? tail : "(empty)";
    qg_error_t *err = STAGE_ERR("Job %s (image %s): pod %s ended with exit status %d%s%s%s; "
                                "log: %.300s",
                                j->name, m->c.image, w->pod, w->exit_code, w->reason[0] ? " " : "",
                                w->reason, mem, said);
    free(tail);
    return err;
}

static qg_error_t *outcome(const kjob_t *j, const model_t *m, const pod_watch_t *w, end_t end,
                           const qg_runner_dirs_t *dirs, const qg_runner_job_t *job)
{
    if (end == END_CANCELLED)
        return TRANSIENT("simulation cancelled (worker stopping); Job %s deleted", j->name);
    if (end == END_TIMED_OUT)
        return STAGE_ERR("Job %s (image %s) exceeded the time limit of %g s and was deleted; "
                         "last seen: %s",
                         j->name, m->c.image, job->time_limit_s, w->state);
    if (w->end == POD_UNPULLABLE)
        return STAGE_ERR("image %s cannot be pulled for Job %s%s%s: %s %s", m->c.image, j->name,
                         w->node[0] ? " on node " : "", w->node, w->reason, w->message);
    if (w->end == POD_FAILED)
        return pod_failure(j, m, w, dirs, job);
    return NULL;
}

static qg_error_t *run_job(kjob_t *j, const qg_runner_job_t *job, const model_t *m,
                           const qg_runner_dirs_t *dirs, qg_json_t **result_out)
{
    pod_watch_t w = {.exit_code = -1};
    end_t end = END_DONE;
    double elapsed = 0;
    size_t log_bytes = 0;
    qg_error_t *err = pod_wait(j, job, &w, &end, &elapsed);
    int logs = err ? 0 : collect_logs(j, &w, dirs, job->log_max_bytes, &log_bytes);
    qg_runner_replay_progress(job, dirs);
    if (!err)
        err = outcome(j, m, &w, end, dirs, job);
    if (!err)
        err = qg_runner_result_read(dirs, job, result_out);
    if (!err &&
        qg_json_set(*result_out, "runner", runner_info(j, m, &w, elapsed, logs, log_bytes)) != 0)
        err = qg_error_oom;
    return err;
}

static qg_error_t *kubernetes_run(const qg_runner_job_t *job, qg_json_t **result_out)
{
    *result_out = NULL;
    kube_t k;
    model_t m;
    kjob_t j = {.k = &k};
    qg_runner_dirs_t *dirs = calloc(1, sizeof(*dirs));
    if (!dirs)
        return qg_error_oom;
    qg_error_t *err = kube_open(job->cfg, &k);
    if (err) {
        free(dirs);
        return err;
    }
    err = model_read(job, &m);
    if (!err)
        err = qg_runner_dirs_prepare(job, MOUNT, dirs);
    if (!err)
        err = qg_runner_hand_over(dirs, m.c.user);
    if (!err)
        err = job_create(&j, job, &m);
    if (!err) {
        qg_info(COMPONENT, "goal %s: Job %s/%s from %s", job->goal_id ? job->goal_id : "?", k.ns,
                j.name, m.c.image);
        err = run_job(&j, job, &m, dirs, result_out);
    }
    job_delete(&j);
    if (err) {
        qg_json_destroy(*result_out);
        *result_out = NULL;
    }
    kube_close(&k);
    free(dirs);
    return err;
}

/* ---------- at the worker's start ---------- */

qg_error_t *qg_runner_kubernetes_check(const qg_config_t *cfg)
{
    kube_t k;
    const char *kubeconfig = cfg_str(cfg, "simulation.kubernetes.kubeconfig");
    qg_error_t *err = kubeconfig ? kube_open(cfg, &k) : NULL;
    if (!err && kubeconfig)
        kube_close(&k);
    if (!err)
        return NULL;
    qg_error_t *fatal =
        qg_error_new_fatal("simulation.kubernetes.kubeconfig: %s", qg_error_message(err));
    qg_error_destroy(err);
    return fatal;
}

int qg_runner_kubernetes_recover(const qg_config_t *cfg)
{
    kube_t k;
    char host[256] = "?", host_label[64], path[1024];
    long status;
    qg_json_t *list = NULL;
    qg_error_t *err = kube_open(cfg, &k);
    if (err) {
        qg_debug(COMPONENT, "no orphan check: %s", qg_error_message(err));
        qg_error_destroy(err);
        return -1;
    }
    gethostname(host, sizeof(host) - 1);
    label_value(host, host_label, sizeof(host_label));
    snprintf(path, sizeof(path),
             "/apis/batch/v1/namespaces/%s/jobs?labelSelector=" LABEL_RUNNER
             "%%3Dkubernetes%%2C" LABEL_HOST "%%3D%s",
             k.ns, host_label);
    err = qg_runner_api_json(&k.api, "GET", path, NULL, 30, &status, &list);
    int deleted = err || status != 200 ? -1 : 0;
    const qg_json_t *items = qg_json_get(list, "items");
    for (size_t i = 0; deleted >= 0 && i < qg_json_len(items); i++) {
        const qg_json_t *meta = qg_json_get(qg_json_at(items, i), "metadata");
        const char *owner = qg_json_str(qg_json_get(qg_json_get(meta, "annotations"), NOTE_OWNER));
        const char *name = qg_json_str(qg_json_get(meta, "name"));
        kjob_t j = {.k = &k, .created = 1};
        if (!name || strlen(name) >= sizeof(j.name) || !qg_runner_owner_gone(owner))
            continue;
        snprintf(j.name, sizeof(j.name), "%s", name);
        qg_info(COMPONENT, "deleting orphan Job %s of %s", name, owner ? owner : "?");
        job_delete(&j);
        deleted++;
    }
    if (err)
        qg_debug(COMPONENT, "no orphan check: %s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(list);
    kube_close(&k);
    return deleted;
}

const qg_runner_ops_t qg_runner_kubernetes = {
    .type = "kubernetes",
    .run = kubernetes_run,
};
