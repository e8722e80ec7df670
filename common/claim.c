/*
 * claim.c - write and read claim checks for large stage results.
 */
#include "claim.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "sha256.h"

int qg_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return errno = ENAMETOOLONG, -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

void qg_safe_file_name(const char *id, char *buf, size_t sz)
{
    size_t o = 0;

    for (const char *p = id ? id : "goal"; *p && o + 1 < sz && o < 128; p++)
        buf[o++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
                              ? *p
                              : '_');
    buf[o] = '\0';
    if (o == 0)
        snprintf(buf, sz, "goal");
}

int qg_write_atomic(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4352], tmp[4400];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f)
        return -1;
    ok = fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* sha256 of the file as written: the text and its final newline. */
static void claim_digest(const char *text, size_t len, char hex[65])
{
    qg_sha256_t s;
    unsigned char d[32];

    qg_sha256_init(&s);
    qg_sha256_update(&s, text, len);
    qg_sha256_update(&s, "\n", 1);
    qg_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static qg_error_t *claim_write(const qg_claim_conf_t *conf, const char *goal_id, qg_json_t *result,
                               const char *text, size_t len)
{
    char sha[65], name[256], safe[160], path[4608];

    if (!conf->shared_dir)
        return qg_error_new(QG_ERR_STAGE_ERROR,
                            "%s is %zu bytes, above %s (%zu), and no shared directory is set",
                            conf->inline_key, len, conf->limit_name, conf->inline_max);
    claim_digest(text, len, sha);
    qg_safe_file_name(goal_id, safe, sizeof(safe));
    snprintf(name, sizeof(name), "%s-%s-%.16s.json", conf->file_stem, safe, sha);
    snprintf(path, sizeof(path), "%s/%s", conf->shared_dir, name);
    if (qg_mkdirs(conf->shared_dir) != 0 || qg_write_atomic(conf->shared_dir, name, text, len) != 0)
        return qg_error_new(QG_ERR_TRANSIENT, "writing claim check %s: %s", path, strerror(errno));
    qg_json_t *ref = qg_json_object();
    qg_json_set_str(ref, "path", path);
    qg_json_set_str(ref, "sha256", sha);
    qg_json_set_num(ref, "bytes", (double)len + 1);
    return qg_json_set(result, conf->ref_key, ref) == 0
               ? NULL
               : qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
}

qg_error_t *qg_claim_place(const qg_claim_conf_t *conf, const char *goal_id, qg_json_t *result,
                           qg_json_t *value)
{
    size_t len;
    char *text = qg_json_serialize(value, 0, &len);

    if (!text) {
        qg_json_destroy(value);
        return qg_error_new(QG_ERR_STAGE_ERROR, "out of memory serializing %s", conf->inline_key);
    }
    qg_json_set_num(result, conf->bytes_key, (double)len);
    if (len <= conf->inline_max) {
        free(text);
        return qg_json_set(result, conf->inline_key, value) == 0
                   ? NULL
                   : qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    }
    qg_json_destroy(value);
    qg_error_t *err = claim_write(conf, goal_id, result, text, len);
    free(text);
    return err;
}

static int path_below(const char *path, const char *dir)
{
    char rp[PATH_MAX], rd[PATH_MAX];
    if (!realpath(path, rp) || !realpath(dir, rd))
        return 0;
    size_t n = strlen(rd);
    return !strncmp(rp, rd, n) && (rp[n] == '/' || rp[n] == '\0');
}

/* The digest may cover the file or the file without its final newline. */
static int digest_matches(const char *buf, size_t len, const char *want)
{
    char hex[65];
    qg_sha256_hex(buf, len, hex);
    if (!strcasecmp(hex, want))
        return 1;
    if (len > 0 && buf[len - 1] == '\n') {
        qg_sha256_hex(buf, len - 1, hex);
        return !strcasecmp(hex, want);
    }
    return 0;
}

qg_error_t *qg_claim_check_path(const qg_claim_reader_t *rd, const char *path)
{
    if (rd->dir && *rd->dir && !path_below(path, rd->dir))
        return qg_error_new(QG_ERR_BAD_INPUT, "%s.path: %s is not below %s (%s)", rd->what, path,
                            rd->dir_key, rd->dir);
    return NULL;
}

qg_error_t *qg_claim_load(const qg_claim_reader_t *rd, const qg_json_t *ref, qg_json_t **out)
{
    const char *path = qg_json_str(qg_json_get(ref, "path"));
    const char *sha = qg_json_str(qg_json_get(ref, "sha256"));
    double bytes = qg_json_num(qg_json_get(ref, "bytes"), -1);
    char msg[512];
    int e = 0;
    size_t len = 0;

    *out = NULL;
    if (!path || !*path)
        return qg_error_new(QG_ERR_BAD_INPUT, "%s.path: expected a file path", rd->what);
    qg_error_t *err = qg_claim_check_path(rd, path);
    if (err)
        return err;
    char *buf = qg_file_read(path, rd->max_bytes, &len, &e, msg, sizeof(msg));
    if (!buf && e == EFBIG)
        return qg_error_new(QG_ERR_STAGE_ERROR, "%s.path: %s (%s)", rd->what, msg, rd->max_key);
    if (!buf)
        return qg_error_new(e == ENOENT   ? QG_ERR_TRANSIENT
                            : e == ENOMEM ? QG_ERR_FATAL
                                          : QG_ERR_STAGE_ERROR,
                            "%s.path: %s", rd->what, msg);
    if (sha && !digest_matches(buf, len, sha))
        err = qg_error_new(QG_ERR_STAGE_ERROR, "%s.sha256: %s does not match the digest of %s",
                           rd->what, sha, path);
    else if (!sha && bytes >= 0 && bytes != (double)len)
        err = qg_error_new(QG_ERR_STAGE_ERROR, "%s.bytes: %s has %zu bytes, the claim says %.0f",
                           rd->what, path, len, bytes);
    if (!err && !(*out = qg_json_parse(buf, len, msg, sizeof(msg))))
        err = qg_error_new(QG_ERR_STAGE_ERROR, "%s.path: %s: %s", rd->what, path, msg);
    free(buf);
    return err;
}
