/* sieve CLI — NumPy .npy arrays: read (several dtypes, converted to
 * float32) and write (float32).
 *
 * Format reference: numpy/lib/format.py (NEP 1). A file is the magic
 * "\x93NUMPY", a version (1.0: 2-byte header length; 2.0 and 3.0: 4-byte),
 * a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': ...}
 * padded with spaces and a newline, then the raw elements.
 *
 * Self-contained (no libsieve dependency) so that tests can compile it in. */
#ifndef SIEVE_TOOLS_NPY_H
#define SIEVE_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* NumPy's own limit on the number of dimensions (NPY_MAXDIMS before 2.0). */
#define NPY_MAX_RANK 32

/* The element types `npy_parse` accepts: X(enum suffix, descr kind, bytes, name). */
#define NPY_DTYPE_LIST(X)             \
    X(FLOAT32, 'f', 4, "float32")     \
    X(FLOAT64, 'f', 8, "float64")     \
    X(INT64, 'i', 8, "int64")         \
    X(INT32, 'i', 4, "int32")         \
    X(UINT8, 'u', 1, "uint8")

typedef enum npy_dtype {
#define NPY_X_ENUM(id, kind, size, name) NPY_##id,
    NPY_DTYPE_LIST(NPY_X_ENUM)
#undef NPY_X_ENUM
        NPY_DTYPE_COUNT
} npy_dtype;

typedef struct npy_array {
    npy_dtype dtype; /* element type stored in the file */
    int rank;        /* 0 for a scalar */
    int64_t dims[NPY_MAX_RANK];
    size_t count; /* number of elements (1 for a scalar, 0 if a dim is 0) */
    float *data;  /* `count` values converted to float32 (malloc'd) */
} npy_array;

/* Parses a whole .npy file image. On success fills *out (free with
 * npy_free) and returns 0; on failure writes a one-line reason into `err`
 * and returns -1. Rejects Fortran order, malformed headers, unsupported
 * dtypes, shapes whose byte size overflows, and truncated or oversized
 * data. */
int npy_parse(const void *data, size_t size, npy_array *out, char *err, size_t err_len);
void npy_free(npy_array *array);

/* Name of a dtype ("float32", ...). */
const char *npy_dtype_name(npy_dtype dtype);

/* Writes `values` (product of dims elements) as a little-endian float32
 * C-order array in the byte layout np.save produces. Returns 0, or -1 with
 * a reason in `err`. */
int npy_write(FILE *file, const float *values, const int64_t *dims, int rank, char *err,
              size_t err_len);
/* Same into a file at `path`; a failed write removes the partial file. */
int npy_write_file(const char *path, const float *values, const int64_t *dims, int rank,
                   char *err, size_t err_len);

#endif
