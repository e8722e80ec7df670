/*
 * keyset.c - a bounded set of keys with a time each: a chained hash table plus
 * a ring in insertion order, so a full set forgets its oldest key.
 */
#include <stdlib.h>
#include <string.h>

#include "trigger.h"

typedef struct ks_node_s {
    char *key;
    double t;
    struct ks_node_s *next; /* chain */
} ks_node_t;

struct trg_keyset_s {
    ks_node_t **buckets;
    size_t n_buckets;
    ks_node_t **ring; /* insertion order; ring[head] is the oldest */
    size_t cap, head, count;
};

static size_t ks_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

trg_keyset_t *trg_keyset_new(size_t cap)
{
    trg_keyset_t *ks = calloc(1, sizeof(*ks));
    if (!ks || cap == 0) {
        free(ks);
        return NULL;
    }
    ks->cap = cap;
    ks->n_buckets = 16;
    while (ks->n_buckets < cap)
        ks->n_buckets <<= 1;
    ks->buckets = calloc(ks->n_buckets, sizeof(*ks->buckets));
    ks->ring = calloc(cap, sizeof(*ks->ring));
    if (!ks->buckets || !ks->ring) {
        trg_keyset_destroy(ks);
        return NULL;
    }
    return ks;
}

void trg_keyset_destroy(trg_keyset_t *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; ks->buckets && i < ks->n_buckets; i++)
        for (ks_node_t *n = ks->buckets[i], *next; n; n = next) {
            next = n->next;
            free(n->key);
            free(n);
        }
    free(ks->buckets);
    free(ks->ring);
    free(ks);
}

static ks_node_t *ks_find(const trg_keyset_t *ks, const char *key)
{
    for (ks_node_t *n = ks->buckets[ks_hash(key) & (ks->n_buckets - 1)]; n; n = n->next)
        if (!strcmp(n->key, key))
            return n;
    return NULL;
}

double trg_keyset_get(const trg_keyset_t *ks, const char *key)
{
    const ks_node_t *n = ks && key ? ks_find(ks, key) : NULL;
    return n ? n->t : -1;
}

static void ks_unlink(trg_keyset_t *ks, ks_node_t *victim)
{
    ks_node_t **pp = &ks->buckets[ks_hash(victim->key) & (ks->n_buckets - 1)];
    while (*pp && *pp != victim)
        pp = &(*pp)->next;
    if (*pp)
        *pp = victim->next;
    free(victim->key);
    free(victim);
}

int trg_keyset_put(trg_keyset_t *ks, const char *key, double t)
{
    ks_node_t *n = ks_find(ks, key);
    if (n) {
        n->t = t;
        return 0;
    }
    n = calloc(1, sizeof(*n));
    if (!n || !(n->key = strdup(key))) {
        free(n);
        return -1;
    }
    n->t = t;
    if (ks->count == ks->cap) { /* forget the oldest */
        ks_unlink(ks, ks->ring[ks->head]);
        ks->ring[ks->head] = NULL;
        ks->head = (ks->head + 1) % ks->cap;
        ks->count--;
    }
    ks->ring[(ks->head + ks->count) % ks->cap] = n;
    ks->count++;
    size_t b = ks_hash(key) & (ks->n_buckets - 1);
    n->next = ks->buckets[b];
    ks->buckets[b] = n;
    return 0;
}

size_t trg_keyset_count(const trg_keyset_t *ks)
{
    return ks ? ks->count : 0;
}
