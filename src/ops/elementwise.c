/* libsieve — element-wise layers: ReLU, Add (numpy broadcasting, with an
 * optional fused ReLU: the residual join of ResNets) and batch
 * normalization folded at import into y = x * scale[c] + shift[c]. */
#include <string.h>

#include "../cfloat_dot.h"
#include "kernels.h"

/* Elements per parallel task of the streaming loops: large enough to
 * amortize a task, small enough to balance two threads on small tensors. */
#define ELEMENTWISE_CHUNK 16384

static size_t chunks(size_t n)
{
    return (n + ELEMENTWISE_CHUNK - 1) / ELEMENTWISE_CHUNK;
}

static size_t no_scratch(void)
{
    return 0;
}

static uint64_t out_elements(const sieve_shape *out)
{
    size_t n = 0;
    sieve_op_numel(out, &n);
    return n;
}

/* ---- ReLU --------------------------------------------------------------- */

sieve_status sieve_relu_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                              sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 1)
        return sieve_op_fail(layer, err, err_len, "takes 1 input, got %d", n_in);
    if (!sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len, "bad input shape (rank %d)", in[0].rank);
    *out = in[0];
    return SIEVE_OK;
}

size_t sieve_relu_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                          const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return no_scratch();
}

uint64_t sieve_relu_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                         const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

void sieve_relu_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                        const sieve_shape *out_shape)
{
    (void)layer, (void)n_in;
    size_t n = 0;
    sieve_op_numel(out_shape, &n);
    for (size_t i = 0; i < n; i++) {
        float v = in[0].f32[i];
        out[i] = v < 0.0f ? 0.0f : v;
    }
}

typedef struct relu_run {
    const float *x;
    float *y;
    size_t n;
} relu_run;

static void relu_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const relu_run *r = arg;
    size_t i1 = SIEVE_MIN(r->n, end * ELEMENTWISE_CHUNK);
    const float *x = r->x;
    float *y = r->y;
    for (size_t i = begin * ELEMENTWISE_CHUNK; i < i1; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void sieve_relu_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                    const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer, (void)n_in;
    relu_run r = {in[0].f32, out, 0};
    sieve_op_numel(out_shape, &r.n);
    /* No restrict: an in-place call (x == y) is fine element by element. */
    sieve_parallel_for(env->pool, chunks(r.n), relu_range, &r);
}

/* ---- Add with numpy broadcasting ---------------------------------------- */

sieve_status sieve_add_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                             sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 2)
        return sieve_op_fail(layer, err, err_len, "takes 2 inputs, got %d", n_in);
    for (int i = 0; i < 2; i++)
        if (!sieve_op_numel(&in[i], &numel))
            return sieve_op_fail(layer, err, err_len, "bad shape of input %d (rank %d)", i,
                                 in[i].rank);
    int rank = SIEVE_MAX(in[0].rank, in[1].rank);
    out->rank = rank;
    for (int d = 0; d < rank; d++) {
        int da = d - (rank - in[0].rank), db = d - (rank - in[1].rank);
        int64_t a = da >= 0 ? in[0].dims[da] : 1, b = db >= 0 ? in[1].dims[db] : 1;
        if (a != b && a != 1 && b != 1)
            return sieve_op_fail(layer, err, err_len,
                                 "cannot broadcast dimension %d: %lld vs %lld", d, (long long)a,
                                 (long long)b);
        out->dims[d] = a == 1 ? b : a;
    }
    if (!sieve_op_numel(out, &numel))
        return sieve_op_fail(layer, err, err_len, "output size overflows");
    return SIEVE_OK;
}

size_t sieve_add_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                         const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return no_scratch();
}

uint64_t sieve_add_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                        const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

/* Element strides of `s` seen as a tensor of the output's rank, 0 along
 * broadcast dimensions. */
static void broadcast_strides(const sieve_shape *s, const sieve_shape *out, size_t *strides)
{
    size_t stride = 1;
    for (int d = out->rank - 1; d >= 0; d--) {
        int ds = d - (out->rank - s->rank);
        int64_t dim = ds >= 0 ? s->dims[ds] : 1;
        strides[d] = (dim == 1) ? 0 : stride;
        stride *= (size_t)dim;
    }
}

void sieve_add_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                       const sieve_shape *out_shape)
{
    (void)n_in;
    size_t sa[SIEVE_MAX_RANK], sb[SIEVE_MAX_RANK], n = 0;
    broadcast_strides(&in[0].shape, out_shape, sa);
    broadcast_strides(&in[1].shape, out_shape, sb);
    sieve_op_numel(out_shape, &n);
    for (size_t i = 0; i < n; i++) {
        size_t rest = i, ia = 0, ib = 0;
        for (int d = out_shape->rank - 1; d >= 0; d--) {
            size_t idx = rest % (size_t)out_shape->dims[d];
            rest /= (size_t)out_shape->dims[d];
            ia += idx * sa[d];
            ib += idx * sb[d];
        }
        float v = sieve_op_input_at(&in[0], ia) + sieve_op_input_at(&in[1], ib);
        out[i] = layer->attrs.add.relu && v < 0.0f ? 0.0f : v;
    }
}

/* The broadcast as rows of an innermost run: adjacent dimensions that are
 * contiguous (or broadcast) in both operands are merged first, so the
 * common cases (same shape, scalar, per-channel bias) become few long runs. */
typedef struct add_run {
    int rank;
    size_t dims[SIEVE_MAX_RANK], sa[SIEVE_MAX_RANK], sb[SIEVE_MAX_RANK];
    size_t pieces; /* tasks per innermost row, SIEVE_OP_PIECE elements each */
    const float *a, *b;
    float *y;
    bool relu;
} add_run;

/* y[i] = a[i * sa] + b[i * sb], then max(0, .) when relu: one pass, so a
 * fused ReLU costs no second sweep over a long row. */
static inline void add_row(float *restrict y, const float *restrict a, size_t sa,
                           const float *restrict b, size_t sb, size_t n, const bool relu)
{
    for (size_t i = 0; i < n; i++) {
        float v = a[i * sa] + b[i * sb];
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

static void add_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const add_run *r = arg;
    int last = r->rank - 1;
    size_t ia_step = r->sa[last], ib_step = r->sb[last];
    for (size_t task = begin; task < end; task++) {
        size_t row = task / r->pieces, j0 = task % r->pieces * SIEVE_OP_PIECE;
        size_t rest = row, ia = j0 * ia_step, ib = j0 * ib_step;
        for (int d = last - 1; d >= 0; d--) {
            size_t idx = rest % r->dims[d];
            rest /= r->dims[d];
            ia += idx * r->sa[d];
            ib += idx * r->sb[d];
        }
        const float *a = r->a + ia, *b = r->b + ib;
        float *y = r->y + row * r->dims[last] + j0;
        size_t inner = SIEVE_MIN((size_t)SIEVE_OP_PIECE, r->dims[last] - j0);
        /* constant steps for the usual cases: the compiler vectorizes those */
        if (ia_step == 1 && ib_step == 1)
            r->relu ? add_row(y, a, 1, b, 1, inner, true) : add_row(y, a, 1, b, 1, inner, false);
        else if (ia_step == 1)
            r->relu ? add_row(y, a, 1, b, 0, inner, true) : add_row(y, a, 1, b, 0, inner, false);
        else if (ib_step == 1)
            r->relu ? add_row(y, a, 0, b, 1, inner, true) : add_row(y, a, 0, b, 1, inner, false);
        else
            r->relu ? add_row(y, a, 0, b, 0, inner, true) : add_row(y, a, 0, b, 0, inner, false);
    }
}

void sieve_add_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                   const sieve_shape *out_shape, sieve_op_env *env)
{
    if (!in[0].f32 || !in[1].f32) {
        sieve_add_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    size_t sa[SIEVE_MAX_RANK], sb[SIEVE_MAX_RANK];
    broadcast_strides(&in[0].shape, out_shape, sa);
    broadcast_strides(&in[1].shape, out_shape, sb);
    add_run r = {.rank = 0, .a = in[0].f32, .b = in[1].f32, .y = out,
                 .relu = layer->attrs.add.relu};
    for (int d = 0; d < out_shape->rank; d++) {
        size_t dim = (size_t)out_shape->dims[d];
        if (dim == 1)
            continue; /* size-1 dimensions change no index */
        if (r.rank > 0) {
            int p = r.rank - 1;
            if (r.sa[p] == sa[d] * dim && r.sb[p] == sb[d] * dim) {
                r.dims[p] *= dim;
                r.sa[p] = sa[d];
                r.sb[p] = sb[d];
                continue;
            }
        }
        r.dims[r.rank] = dim;
        r.sa[r.rank] = sa[d];
        r.sb[r.rank] = sb[d];
        r.rank++;
    }
    if (r.rank == 0) { /* one element */
        r.rank = 1;
        r.dims[0] = 1;
        r.sa[0] = r.sb[0] = 0;
    }
    size_t rows = 1;
    for (int d = 0; d < r.rank - 1; d++)
        rows *= r.dims[d];
    if (r.dims[r.rank - 1] == 0)
        return;
    /* rows cut into pieces: a residual add of two same-shaped tensors is
     * one row */
    r.pieces = (r.dims[r.rank - 1] + SIEVE_OP_PIECE - 1) / SIEVE_OP_PIECE;
    sieve_parallel_for(env->pool, rows * r.pieces, add_range, &r);
}

/* ---- batch normalization (folded) --------------------------------------- */

sieve_status sieve_batchnorm_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                   sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 3)
        return sieve_op_fail(layer, err, err_len, "takes 3 inputs (x, scale, shift), got %d",
                             n_in);
    if (in[0].rank < 2 || !sieve_op_numel(&in[0], &numel))
        return sieve_op_fail(layer, err, err_len,
                             "input must be [N, C, ...] of rank >= 2, has rank %d", in[0].rank);
    int64_t c = in[0].dims[1];
    for (int i = 1; i < 3; i++)
        if (in[i].rank != 1 || in[i].dims[0] != c)
            return sieve_op_fail(layer, err, err_len, "%s must be [%lld] for %lld channels",
                                 i == 1 ? "scale" : "shift", (long long)c, (long long)c);
    *out = in[0];
    return SIEVE_OK;
}

size_t sieve_batchnorm_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                               const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out, (void)threads;
    return no_scratch();
}

uint64_t sieve_batchnorm_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                              const sieve_shape *out)
{
    (void)layer, (void)in, (void)n_in;
    return out_elements(out);
}

void sieve_batchnorm_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                             float *out, const sieve_shape *out_shape)
{
    (void)layer, (void)n_in;
    size_t c = (size_t)out_shape->dims[1];
    size_t planes = sieve_op_dims_product(out_shape, 0, 2);
    size_t inner = sieve_op_dims_product(out_shape, 2, out_shape->rank);
    for (size_t p = 0; p < planes; p++) {
        float scale = sieve_op_input_at(&in[1], p % c), shift = sieve_op_input_at(&in[2], p % c);
        for (size_t i = 0; i < inner; i++)
            out[p * inner + i] = in[0].f32[p * inner + i] * scale + shift;
    }
}

typedef struct batchnorm_run {
    const float *x, *scale, *shift;
    float *y;
    size_t c, inner;
} batchnorm_run;

static void batchnorm_range(void *arg, size_t begin, size_t end, int thread)
{
    (void)thread;
    const batchnorm_run *r = arg;
    for (size_t p = begin; p < end; p++) {
        float scale = r->scale[p % r->c], shift = r->shift[p % r->c];
        const float *restrict x = r->x + p * r->inner;
        float *restrict y = r->y + p * r->inner;
        for (size_t i = 0; i < r->inner; i++)
            y[i] = x[i] * scale + shift;
    }
}

void sieve_batchnorm_run(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                         float *out, const sieve_shape *out_shape, sieve_op_env *env)
{
    if (!in[1].f32 || !in[2].f32) {
        sieve_batchnorm_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    batchnorm_run r = {in[0].f32,
                       in[1].f32,
                       in[2].f32,
                       out,
                       (size_t)out_shape->dims[1],
                       sieve_op_dims_product(out_shape, 2, out_shape->rank)};
    sieve_parallel_for(env->pool, sieve_op_dims_product(out_shape, 0, 2), batchnorm_range, &r);
}

/* ---- on packed activations ---------------------------------------------- */

/* y = x (+ x2) then max(0, .) if relu, over pieces: each input piece is
 * decoded into L1-sized buffers on the stack, combined and encoded into
 * place, instead of a decode of every input and an encode of the output,
 * each a pass over the whole tensor through fp32 scratch. */
#define PACKED_MAX_THREADS 64 /* more threads than this run these layers on one */

typedef struct packed_map {
    sieve_dot_plan plans[2]; /* decode tables of the inputs' formats */
    const uint8_t *x[2];
    int n_x;
    uint8_t *y;
    const sieve_format *y_format;
    size_t n;
    bool relu;
    bool failed[PACKED_MAX_THREADS]; /* per thread: an encode was rejected */
    bool encoder_ready;              /* encoder holds y_format's SIMD encoder */
    bool simd_combine;               /* add / ReLU in AVX-512 */
    sieve_tile_encoder encoder;
} packed_map;

/* a[i] (+ b[i]), then max(0, .) if relu (NaN -> 0, as the portable loops
 * below), for i < n. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PACKED_MAP_AVX512 1
__attribute__((target("avx512f"))) static void packed_combine_avx512(float *a, const float *b,
                                                                     size_t n, bool relu)
{
    const __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, a + i);
        if (b)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
        if (relu)
            v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(a + i, m, v);
    }
}
#endif

static void packed_map_range(void *arg, size_t begin, size_t end, int thread)
{
    packed_map *r = arg;
    float a[SIEVE_OP_PIECE], b[SIEVE_OP_PIECE];
    for (size_t piece = begin; piece < end; piece++) {
        size_t first = piece * SIEVE_OP_PIECE, n = SIEVE_MIN((size_t)SIEVE_OP_PIECE, r->n - first);
        sieve_dot_unpack(&r->plans[0], r->x[0], first, n, a);
#ifdef PACKED_MAP_AVX512
        if (r->simd_combine) {
            if (r->n_x == 2)
                sieve_dot_unpack(&r->plans[1], r->x[1], first, n, b);
            packed_combine_avx512(a, r->n_x == 2 ? b : NULL, n, r->relu);
        } else
#endif
        if (r->n_x == 2) {
            sieve_dot_unpack(&r->plans[1], r->x[1], first, n, b);
            for (size_t i = 0; i < n; i++)
                a[i] += b[i];
        }
#ifdef PACKED_MAP_AVX512
        if (r->relu && !r->simd_combine)
#else
        if (r->relu)
#endif
            for (size_t i = 0; i < n; i++)
                a[i] = a[i] > 0.0f ? a[i] : 0.0f;
        if (r->encoder_ready) {
            /* the piece as rows of 32 for the SIMD encoder, set up once per
             * layer rather than per piece */
            const size_t cols = SIEVE_TILE_ENCODE_COLS, rows = n / cols, tail = n % cols;
            if ((rows &&
                 !sieve_tile_encode(&r->encoder, a, cols, rows, cols, r->y, first, cols, false)) ||
                (tail && !sieve_tile_encode(&r->encoder, a + rows * cols, cols, 1, tail, r->y,
                                            first + rows * cols, cols, false)))
                r->failed[thread] = true;
        } else if (sieve_cfloat_pack(r->y_format, a, n, r->y, first, NULL) != SIEVE_OK) {
            r->failed[thread] = true;
        }
    }
}

static bool packed_map_run(packed_map *r, sieve_op_env *env)
{
    sieve_pool *pool = sieve_pool_threads(env->pool) <= PACKED_MAX_THREADS ? env->pool : NULL;
    int threads = sieve_pool_threads(pool);
    for (int t = 0; t < threads; t++)
        r->failed[t] = false;
    sieve_parallel_for(pool, (r->n + SIEVE_OP_PIECE - 1) / SIEVE_OP_PIECE, packed_map_range, r);
    /* a value the format cannot hold (only NaN, from no finite input): the
     * executor's usual path reports which */
    for (int t = 0; t < threads; t++)
        if (r->failed[t])
            return false;
    return true;
}


static bool packed_map_layer(const sieve_op_packed *in, int n_in, uint8_t *out,
                             const sieve_format *out_format, const sieve_shape *out_shape,
                             bool relu, sieve_op_env *env)
{
    packed_map r;
    r.n_x = n_in;
    r.y = out;
    r.y_format = out_format;
    r.relu = relu;
    r.encoder_ready = sieve_tile_encoder_init(&r.encoder, out_format);
#ifdef PACKED_MAP_AVX512
    r.simd_combine = __builtin_cpu_supports("avx512f");
#else
    r.simd_combine = false;
#endif
    if (!sieve_op_numel(out_shape, &r.n))
        return false;
    for (int i = 0; i < n_in; i++) {
        size_t n = 0;
        /* as many elements as the output: no broadcasting */
        if (!sieve_op_numel(&in[i].shape, &n) || n != r.n)
            return false;
        sieve_dot_plan_init(&r.plans[i], &in[i].format, 0, 0);
        r.x[i] = in[i].data;
    }
    return packed_map_run(&r, env);
}

bool sieve_relu_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                           uint8_t *out, const sieve_format *out_format,
                           const sieve_shape *out_shape, sieve_op_env *env)
{
    (void)layer;
    return n_in == 1 && packed_map_layer(in, 1, out, out_format, out_shape, true, env);
}

bool sieve_add_run_packed(const sieve_layer *layer, const sieve_op_packed *in, int n_in,
                          uint8_t *out, const sieve_format *out_format,
                          const sieve_shape *out_shape, sieve_op_env *env)
{
    return n_in == 2 &&
           packed_map_layer(in, 2, out, out_format, out_shape, layer->attrs.add.relu, env);
}
