/* libsieve internal — encoding a register tile of a GEMM's output straight
 * into an 8- or 4-bit custom float stream, for kernels whose output is
 * stored packed: the tile's final values are encoded while they are still
 * in L1 instead of being written out as fp32 and encoded by a separate
 * pass over the whole tensor. AVX-512 only (the tile kernel that calls it
 * is); elsewhere sieve_tile_encoder_init says no and the separate pass
 * stays. */
#ifndef SIEVE_CFLOAT_TILE_H
#define SIEVE_CFLOAT_TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/cfloat.h"

#define SIEVE_TILE_ENCODE_COLS 32 /* columns of a tile at most */

typedef struct sieve_tile_encoder {
    _Alignas(64) unsigned char state[1024]; /* the SIMD encoder's constants */
    unsigned width;                         /* 8 or 4 */
} sieve_tile_encoder;

/* False unless fmt is an 8- or 4-bit custom float format this CPU encodes
 * in registers. */
bool sieve_tile_encoder_init(sieve_tile_encoder *enc, const sieve_format *fmt);

/* Encodes rows r < mr, columns j < nr (nr <= 32) of vals (row r at
 * vals + r * vals_stride) into the stream as elements
 * first + r * row_stride + j.
 * A 4-bit row that starts or ends inside a byte keeps the byte's other
 * code: by a plain read-modify-write, or, with shared_ends, by atomic
 * operations that let another thread set that other code at the same
 * time (the caller's tiles at the edges of its share of a row).
 * Returns false if a value could not be encoded (NaN, or negative for an
 * unsigned format, where -0 counts as negative: the bulk encoder, which
 * takes it as 0, is the callers' fallback); the codes written are then
 * unspecified. */
bool sieve_tile_encode(const sieve_tile_encoder *enc, const float *vals, size_t vals_stride,
                       size_t mr, size_t nr, uint8_t *stream, size_t first, size_t row_stride,
                       bool shared_ends);

#endif
