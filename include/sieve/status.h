/* libsieve — status codes and the library context. */
#ifndef SIEVE_STATUS_H
#define SIEVE_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One source of truth for status codes: X(name, text). */
#define SIEVE_STATUS_LIST(X)                                            \
    X(SIEVE_OK, "ok")                                                   \
    X(SIEVE_ERR_ARG, "invalid argument")                                \
    X(SIEVE_ERR_NOMEM, "out of memory")                                 \
    X(SIEVE_ERR_IO, "input/output error")                               \
    X(SIEVE_ERR_FORMAT, "malformed data")                               \
    X(SIEVE_ERR_UNSUPPORTED, "unsupported feature")                     \
    X(SIEVE_ERR_SHAPE, "shape mismatch")                                \
    X(SIEVE_ERR_RANGE, "value out of range")                            \
    X(SIEVE_ERR_STATE, "call out of order")                             \
    X(SIEVE_ERR_NOT_FOUND, "not found")

typedef enum sieve_status {
#define SIEVE_X_ENUM(name, text) name,
    SIEVE_STATUS_LIST(SIEVE_X_ENUM)
#undef SIEVE_X_ENUM
        SIEVE_STATUS_COUNT
} sieve_status;

/* Short fixed text of a status code; never NULL. */
const char *sieve_status_str(sieve_status status);

/* A replaceable allocator. `realloc` may be NULL (then alloc+copy+free). */
typedef struct sieve_allocator {
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} sieve_allocator;

/* Library context: allocator, default thread count and the last error
 * message of every call made through it. Distinct contexts may be used
 * from distinct threads concurrently. */
typedef struct sieve_context sieve_context;

typedef struct sieve_context_options {
    const sieve_allocator *allocator; /* NULL: malloc/realloc/free */
    int threads;                      /* <= 0: 1 */
} sieve_context_options;

/* `options` may be NULL. Returns NULL only when memory is exhausted. */
sieve_context *sieve_context_create(const sieve_context_options *options);
void sieve_context_destroy(sieve_context *ctx);

/* Message of the last failed call through `ctx` ("" if none). */
const char *sieve_context_error(const sieve_context *ctx);
int sieve_context_threads(const sieve_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
