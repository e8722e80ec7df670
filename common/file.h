/*
 * file.h - reading whole files, bounded.
 */
#ifndef QG_FILE_H
#define QG_FILE_H

#include <stddef.h>

/**
 * Read a whole file ("-" = standard input) into a NUL-terminated malloc'd
 * buffer (caller frees); *lenp gets the length (the data may hold NULs).
 * max_bytes > 0 bounds the size. On failure returns NULL, sets *errnum
 * (optional) to the errno value (EFBIG when larger than max_bytes) and writes
 * "path: reason" to errstr.
 */
char *qg_file_read(const char *path, size_t max_bytes, size_t *lenp, int *errnum, char *errstr,
                   size_t errstr_size);

#endif
