/*
 * array.c - growable arrays.
 */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

void *qg_array_grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap && items)
        return items;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *grown = realloc(items, n * size);
    if (!grown)
        return NULL;
    *cap = n;
    return grown;
}
