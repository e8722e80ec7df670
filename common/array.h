/*
 * array.h - growable arrays: one rule for growing, written once.
 */
#ifndef QG_ARRAY_H
#define QG_ARRAY_H

#include <stddef.h>

/**
 * Make room for `need` elements of `size` bytes. Returns `items` when *cap is
 * enough already, else the reallocated array with *cap doubled (from `first`) until
 * it holds `need`. On failure (out of memory, or a size that would overflow)
 * returns NULL and leaves `items` and *cap as they were. Usage:
 *
 *     double *v = qg_array_grow(s->v, &s->cap, s->n + 1, sizeof(*v), 1024);
 *     if (!v)
 *         return -1;
 *     s->v = v;
 */
void *qg_array_grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
