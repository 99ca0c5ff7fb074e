/* libsieve internal — context, errors, allocation and checked arithmetic. */
#ifndef SIEVE_COMMON_H
#define SIEVE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/status.h"

#define SIEVE_ERROR_LEN 512

struct sieve_context {
    sieve_allocator alloc;
    int threads;
    char error[SIEVE_ERROR_LEN];
};

#if defined(__GNUC__)
#define SIEVE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SIEVE_PRINTF(a, b)
#endif

/* Records a message in ctx (if not NULL) and returns `status`. */
sieve_status sieve_fail(sieve_context *ctx, sieve_status status, const char *fmt, ...)
    SIEVE_PRINTF(3, 4);

void *sieve_alloc(sieve_context *ctx, size_t size);          /* NULL + error on failure */
void *sieve_calloc(sieve_context *ctx, size_t n, size_t size); /* zeroed, overflow-checked */
void *sieve_realloc(sieve_context *ctx, void *p, size_t old_size, size_t new_size);
void sieve_free(sieve_context *ctx, void *p, size_t size);
char *sieve_strdup(sieve_context *ctx, const char *s);
void sieve_free_str(sieve_context *ctx, char *s);
/* 64-byte aligned allocation (size rounded up); free with sieve_free_aligned. */
void *sieve_alloc_aligned(sieve_context *ctx, size_t size);
void sieve_free_aligned(sieve_context *ctx, void *p, size_t size);

/* Size of an open regular file; an error naming `path` for directories,
 * devices and unreadable files. */
#include <stdio.h>
sieve_status sieve_file_size(sieve_context *ctx, FILE *f, const char *path, size_t *size);

/* Overflow-checked size arithmetic: false on overflow. */
static inline bool sieve_mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}
static inline bool sieve_add_size(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

#define SIEVE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SIEVE_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SIEVE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
