#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"
#include "text.h"

Test(array, grows_by_doubling_and_keeps_the_elements)
{
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        int *grown = qg_array_grow(v, &cap, n + 1, sizeof(*v), 4);
        cr_assert_not_null(grown);
        v = grown;
        v[n++] = i;
        cr_assert_geq(cap, n);
    }
    cr_assert_eq(cap, 1024, "4 doubled until it holds 1000");
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(v[i], i);
    cr_assert_eq(qg_array_grow(v, &cap, 10, sizeof(*v), 4), v, "enough room: the same array");
    free(v);
}

Test(array, an_overflowing_size_fails_and_leaves_the_array)
{
    size_t cap = 8;
    char *v = malloc(cap);
    cr_assert_null(qg_array_grow(v, &cap, SIZE_MAX / 2 + 2, 1, 4));
    cr_assert_null(qg_array_grow(v, &cap, 16, SIZE_MAX / 4, 4));
    cr_assert_eq(cap, 8, "capacity unchanged on failure");
    free(v);
}

Test(text, join)
{
    char *s;
    cr_assert_eq(qg_str_join(&s, "a,b", ",", "c"), 0);
    cr_assert_str_eq(s, "a,b,c");
    free(s);
}
