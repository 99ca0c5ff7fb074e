/* libsieve — context, error messages and the replaceable allocator. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static const char *const status_text[SIEVE_STATUS_COUNT] = {
#define SIEVE_X_TEXT(name, text) [name] = text,
    SIEVE_STATUS_LIST(SIEVE_X_TEXT)
#undef SIEVE_X_TEXT
};

const char *sieve_status_str(sieve_status status)
{
    if ((unsigned)status >= SIEVE_STATUS_COUNT)
        return "unknown status";
    return status_text[status];
}

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size ? size : 1);
}

static void *default_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    return realloc(ptr, new_size ? new_size : 1);
}

static void default_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

sieve_context *sieve_context_create(const sieve_context_options *options)
{
    sieve_allocator a = {default_alloc, default_realloc, default_free, NULL};
    if (options && options->allocator && options->allocator->alloc && options->allocator->free)
        a = *options->allocator;
    sieve_context *ctx = a.alloc(a.user, sizeof(*ctx));
    if (!ctx)
        return NULL;
    memset(ctx, 0, sizeof(*ctx));
    ctx->alloc = a;
    ctx->threads = (options && options->threads > 0) ? options->threads : 1;
    return ctx;
}

void sieve_context_destroy(sieve_context *ctx)
{
    if (ctx)
        ctx->alloc.free(ctx->alloc.user, ctx, sizeof(*ctx));
}

const char *sieve_context_error(const sieve_context *ctx)
{
    return ctx ? ctx->error : "no context";
}

int sieve_context_threads(const sieve_context *ctx)
{
    return ctx ? ctx->threads : 1;
}

sieve_status sieve_fail(sieve_context *ctx, sieve_status status, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
        va_end(ap);
    }
    return status;
}

void *sieve_alloc(sieve_context *ctx, size_t size)
{
    void *p = ctx->alloc.alloc(ctx->alloc.user, size);
    if (!p)
        sieve_fail(ctx, SIEVE_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *sieve_calloc(sieve_context *ctx, size_t n, size_t size)
{
    size_t total;
    if (!sieve_mul_size(n, size, &total)) {
        sieve_fail(ctx, SIEVE_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = sieve_alloc(ctx, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *sieve_realloc(sieve_context *ctx, void *p, size_t old_size, size_t new_size)
{
    void *q;
    if (!p)
        return sieve_alloc(ctx, new_size);
    if (ctx->alloc.realloc) {
        q = ctx->alloc.realloc(ctx->alloc.user, p, old_size, new_size);
    } else {
        q = ctx->alloc.alloc(ctx->alloc.user, new_size);
        if (q) {
            memcpy(q, p, SIEVE_MIN(old_size, new_size));
            ctx->alloc.free(ctx->alloc.user, p, old_size);
        }
    }
    if (!q)
        sieve_fail(ctx, SIEVE_ERR_NOMEM, "out of memory growing to %zu bytes", new_size);
    return q;
}

void sieve_free(sieve_context *ctx, void *p, size_t size)
{
    if (p)
        ctx->alloc.free(ctx->alloc.user, p, size);
}

char *sieve_strdup(sieve_context *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sieve_alloc(ctx, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void sieve_free_str(sieve_context *ctx, char *s)
{
    if (s)
        sieve_free(ctx, s, strlen(s) + 1);
}

/* Aligned blocks keep the offset back to the raw pointer just before the
 * aligned address, so any allocator works. */
void *sieve_alloc_aligned(sieve_context *ctx, size_t size)
{
    size_t total;
    if (!sieve_add_size(size, 64 + sizeof(size_t), &total)) {
        sieve_fail(ctx, SIEVE_ERR_NOMEM, "aligned allocation of %zu bytes overflows", size);
        return NULL;
    }
    uint8_t *raw = sieve_alloc(ctx, total);
    if (!raw)
        return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(size_t));
    uintptr_t aligned = (start + 63) & ~(uintptr_t)63;
    size_t shift = (size_t)(aligned - (uintptr_t)raw);
    memcpy((uint8_t *)aligned - sizeof(size_t), &shift, sizeof(shift));
    return (void *)aligned;
}

void sieve_free_aligned(sieve_context *ctx, void *p, size_t size)
{
    if (!p)
        return;
    size_t shift;
    memcpy(&shift, (uint8_t *)p - sizeof(size_t), sizeof(shift));
    sieve_free(ctx, (uint8_t *)p - shift, size + 64 + sizeof(size_t));
}

sieve_status sieve_file_size(sieve_context *ctx, FILE *f, const char *path, size_t *size)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: not a regular file", path);
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: file too large", path);
    *size = (size_t)st.st_size;
    return SIEVE_OK;
}
