/*
 * spool.c - events received from MQTT but not yet safely in Kafka.
 *
 * libmosquitto 2.0 acknowledges a QoS 1 message (PUBACK) before it hands it to
 * the application, so the broker forgets it at once. Each message is appended
 * here (one write(2), which survives the process being killed) before it is
 * processed; the file is emptied when everything produced is acknowledged by
 * Kafka. At start the records left over are replayed, and deduplication by
 * event id keeps a replayed event from creating a second goal.
 *
 * Record: "QGS1 <topic length> <payload length>\n" topic payload "\n".
 * A goal acknowledged by Kafka appends "QGD1 <key length> 0\n" <dedup key> "\n"
 * at once (its dedup record on <prefix>.trigger.dedup follows a little later),
 * so that a replay knows it even when the process died in between.
 * A record cut short by a crash (the last one) is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "trigger.h"

#define SPOOL_RECORD_MAX (16u * 1024 * 1024)

struct trg_spool_s {
    int fd;
    char *path;
    size_t bytes;
};

trg_spool_t *trg_spool_open(const char *dir, const char *name, char *errstr, size_t errstr_size)
{
    if (!dir || !*dir)
        return NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    trg_spool_t *sp = calloc(1, sizeof(*sp));
    size_t n = strlen(dir) + strlen(name) + 16;
    if (!sp || !(sp->path = malloc(n))) {
        free(sp);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    snprintf(sp->path, n, "%s/%s.spool", dir, name);
    sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat st;
    if (sp->fd < 0 || fstat(sp->fd, &st) != 0) {
        snprintf(errstr, errstr_size, "%s: %s", sp->path, strerror(errno));
        trg_spool_close(sp);
        return NULL;
    }
    sp->bytes = (size_t)st.st_size;
    return sp;
}

void trg_spool_close(trg_spool_t *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    free(sp->path);
    free(sp);
}

static int spool_write(trg_spool_t *sp, const char *magic, const char *topic, const void *payload,
                       size_t len)
{
    if (!sp)
        return 0;
    char head[64];
    size_t tl = strlen(topic);
    int hl = snprintf(head, sizeof(head), "%s %zu %zu\n", magic, tl, len);
    struct iovec iov[4] = {
        {head, (size_t)hl}, {(void *)topic, tl}, {(void *)payload, len}, {"\n", 1}};
    size_t total = (size_t)hl + tl + len + 1;
    ssize_t w = writev(sp->fd, iov, 4);
    if (w < 0 || (size_t)w != total)
        return -1;
    sp->bytes += total;
    return 0;
}

int trg_spool_append(trg_spool_t *sp, const char *topic, const void *payload, size_t len)
{
    return spool_write(sp, "QGS1", topic, payload, len);
}

int trg_spool_append_done(trg_spool_t *sp, const char *dedup_key)
{
    return spool_write(sp, "QGD1", dedup_key, "", 0);
}

/* Call fn for every complete record of kind `want` ('S' events, 'D' done keys). */
static long spool_read(trg_spool_t *sp, char want,
                       void (*fn)(void *, const char *topic, const void *payload, size_t len),
                       void *opaque)
{
    if (!sp || sp->bytes == 0)
        return 0;
    FILE *f = fopen(sp->path, "rb");
    long n = 0;
    size_t tl, pl;
    char kind;
    while (f && fscanf(f, "QG%c1 %zu %zu", &kind, &tl, &pl) == 3 && fgetc(f) == '\n') {
        if (tl > SPOOL_RECORD_MAX || pl > SPOOL_RECORD_MAX)
            break;
        char *topic = malloc(tl + 1), *payload = malloc(pl + 1);
        int ok = topic && payload && fread(topic, 1, tl, f) == tl &&
                 fread(payload, 1, pl, f) == pl && fgetc(f) == '\n';
        if (ok && kind == want) {
            topic[tl] = '\0';
            payload[pl] = '\0';
            fn(opaque, topic, payload, pl);
            n++;
        }
        free(topic);
        free(payload);
        if (!ok)
            break;
    }
    if (f)
        fclose(f);
    return n;
}

long trg_spool_replay(trg_spool_t *sp,
                      void (*fn)(void *, const char *topic, const void *payload, size_t len),
                      void *opaque)
{
    return spool_read(sp, 'S', fn, opaque);
}

long trg_spool_done_keys(trg_spool_t *sp,
                         void (*fn)(void *, const char *key, const void *unused, size_t len),
                         void *opaque)
{
    return spool_read(sp, 'D', fn, opaque);
}

int trg_spool_clear(trg_spool_t *sp)
{
    if (!sp || sp->bytes == 0)
        return 0;
    if (ftruncate(sp->fd, 0) != 0)
        return -1;
    sp->bytes = 0;
    return 0;
}

size_t trg_spool_bytes(const trg_spool_t *sp)
{
    return sp ? sp->bytes : 0;
}
