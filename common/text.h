/*
 * text.h - small string helpers shared by the runtime and the libraries.
 */
#ifndef QG_TEXT_H
#define QG_TEXT_H

#include <stddef.h>

/** A new string formatted like printf (caller frees), or NULL out of memory. */
char *qg_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** "a" sep "b" in a new string (*out, caller frees). 0, or -1 out of memory (*out NULL). */
int qg_str_join(char **out, const char *a, const char *sep, const char *b);

#endif
