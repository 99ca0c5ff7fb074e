/* libsieve — dense layers: Gemm (Y = alpha * A' B' + beta * C, A' and B'
 * optionally transposed, C broadcast to [M, N], fused ReLU) and MatMul
 * (numpy matmul: 1-D operands promoted, batch dimensions broadcast).
 *
 * Both reduce to one or more 2-D products run by one of two paths:
 * - few rows (batch-1 inference: M <= DENSE_GEMV_ROWS): a GEMV that
 *   streams B exactly once, all M rows of A riding along; when B' rows
 *   are B's rows (Gemm transB, the usual fully-connected layer) the rows
 *   are read straight from their packed stream by the fused decode + dot
 *   kernels of cfloat_dot.h, four at a time;
 * - otherwise the SGEMM core with A and B packed into panels.
 * B (the weight of a Gemm) may come packed in a custom float format. */
#include <string.h>

#include "../cfloat_dot.h"
#include "kernels.h"

#define DENSE_GEMV_ROWS 4
_Static_assert(DENSE_GEMV_ROWS <= SIEVE_DOT_MAX_VECS, "every row of A rides in one dot call");
#define GEMV_COLS_T 256  /* columns per task when B' rows are B's rows (transB): each
                          * task lays out its rows of A for the dot kernels once */
#define GEMV_COLS_N 256  /* columns per task when B' columns are B's columns */
/* k chunk of the GEMV when A' must be gathered (transA) or B's rows decoded
 * (gemv_cols): decoding packed weights in longer runs is ~2x faster than
 * in SGEMM-sized (KC) ones, and 8 KiB of decoded row stays in L1. */
#define GEMV_KC 2048

/* One 2-D product Y[m, n] = alpha * A'[m, k] B'[k, n] (+ beta * C) (ReLU). */
typedef struct dense_job {
    size_t m, n, k;
    const float *a; /* A'[i, kk] = trans_a ? a[kk * m + i] : a[i * k + kk] */
    bool trans_a;
    const sieve_op_input *b; /* B'[kk, j] = trans_b ? B[j * k + kk] : B[kk * n + j] */
    const sieve_dot_plan *dot; /* how gemv_rows reads B (set with trans_b) */
    size_t b_first;          /* element offset of this product in B */
    bool trans_b;
    float *y;
    float alpha;
    const float *c; /* C[i, j] = c[i * c_rs + j * c_cs], or NULL */
    size_t c_rs, c_cs;
    float beta;
    bool relu;
    /* how the product is split into tasks */
    bool gemv;
    size_t gemv_cols;
    sieve_gemm_split split;
} dense_job;

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* ---- planning ----------------------------------------------------------- */

static void dense_plan(dense_job *job, size_t outer, int threads)
{
    job->gemv = job->m <= DENSE_GEMV_ROWS;
    if (job->gemv) {
        size_t cols = job->trans_b ? GEMV_COLS_T : GEMV_COLS_N;
        /* narrower tasks when there would be fewer than two per thread */
        while (cols > 16 && outer * ceil_div(job->n, cols) < 2 * (size_t)threads)
            cols /= 2;
        job->gemv_cols = cols;
    } else {
        job->split = sieve_gemm_plan(job->m, job->n, outer, threads);
    }
}

static size_t dense_tasks(const dense_job *job)
{
    if (job->gemv)
        return ceil_div(job->n, job->gemv_cols);
    return job->split.m_blocks * job->split.n_blocks;
}

/* Scratch of one thread; k_rows: the k of a product whose B' rows are B's
 * rows (0 if none), whose rows of A are laid out for the dot kernels. */
static size_t dense_slice_floats(size_t k_rows)
{
    size_t gemv = sieve_op_slice_floats(SIEVE_MAX(GEMV_KC, GEMV_COLS_N)) +
                  sieve_op_slice_floats(DENSE_GEMV_ROWS * GEMV_KC) +
                  sieve_op_slice_floats(DENSE_GEMV_ROWS * SIEVE_MAX(GEMV_COLS_N, GEMV_COLS_T)) +
                  sieve_op_slice_floats(sieve_dot_prepared_floats(DENSE_GEMV_ROWS, k_rows));
    return SIEVE_MAX(gemv, sieve_gemm_scratch_floats());
}

/* ---- GEMV path ---------------------------------------------------------- */

static void finish(const dense_job *job, const float *acc, size_t ld, size_t j0, size_t cols)
{
    for (size_t i = 0; i < job->m; i++)
        for (size_t j = 0; j < cols; j++) {
            float v = job->alpha * acc[i * ld + j];
            if (job->c)
                v += job->beta * job->c[i * job->c_rs + (j0 + j) * job->c_cs];
            if (job->relu && v < 0.0f)
                v = 0.0f;
            job->y[i * job->n + j0 + j] = v;
        }
}

/* Columns j0..j0+cols with B' rows stored as B's rows (B is [n, k]): each
 * output is a dot product of a row of A' with a row of B, read from B's
 * stream (packed or not) four rows at a time, each over the whole k so
 * that every row is one long sequential read. */
static void gemv_rows(const dense_job *job, size_t j0, size_t cols, float *scratch)
{
    float *a_chunk = scratch + sieve_op_slice_floats(SIEVE_MAX(GEMV_KC, GEMV_COLS_N));
    float *acc = a_chunk + sieve_op_slice_floats(DENSE_GEMV_ROWS * GEMV_KC);
    float *a_laid_out =
        acc + sieve_op_slice_floats(DENSE_GEMV_ROWS * SIEVE_MAX(GEMV_COLS_N, GEMV_COLS_T));
    memset(acc, 0, job->m * cols * sizeof(float));
    const void *b = job->b->f32 ? (const void *)job->b->f32 : (const void *)job->b->packed;
    const size_t k_step = job->trans_a ? GEMV_KC : job->k;
    for (size_t k0 = 0; k0 < job->k; k0 += k_step) {
        size_t kc = SIEVE_MIN(k_step, job->k - k0);
        const float *a_rows[DENSE_GEMV_ROWS];
        for (size_t i = 0; i < job->m; i++) {
            if (!job->trans_a) {
                a_rows[i] = job->a + i * job->k + k0;
            } else {
                for (size_t kk = 0; kk < kc; kk++)
                    a_chunk[i * kc + kk] = job->a[(k0 + kk) * job->m + i];
                a_rows[i] = a_chunk + i * kc;
            }
        }
        const float *a_dot[DENSE_GEMV_ROWS];
        sieve_dot_prepare(job->dot, a_rows, job->m, kc, a_laid_out, a_dot);
        for (size_t j = 0; j < cols; j += SIEVE_DOT_MAX_ROWS) {
            size_t rows = SIEVE_MIN((size_t)SIEVE_DOT_MAX_ROWS, cols - j);
            size_t first = job->b_first + (j0 + j) * job->k + k0;
            sieve_dot_rows(job->dot, b, first, job->k, rows, a_dot, job->m, kc, acc + j, cols);
        }
    }
    finish(job, acc, cols, j0, cols);
}

/* Columns j0..j0+cols with B' = B ([k, n]): each row of B, decoded once,
 * is added into every output row scaled by one element of A'. */
static void gemv_cols(const dense_job *job, size_t j0, size_t cols, float *scratch)
{
    float *w = scratch;
    float *acc = w + sieve_op_slice_floats(SIEVE_MAX(GEMV_KC, GEMV_COLS_N)) +
                 sieve_op_slice_floats(DENSE_GEMV_ROWS * GEMV_KC);
    memset(acc, 0, job->m * cols * sizeof(float));
    for (size_t kk = 0; kk < job->k; kk++) {
        size_t first = job->b_first + kk * job->n + j0;
        const float *restrict wrow = job->b->f32 ? job->b->f32 + first : w;
        if (!job->b->f32)
            sieve_format_load(&job->b->format, job->b->packed, first, cols, w);
        for (size_t i = 0; i < job->m; i++) {
            float av = job->trans_a ? job->a[kk * job->m + i] : job->a[i * job->k + kk];
            float *restrict acc_i = acc + i * cols;
            for (size_t j = 0; j < cols; j++)
                acc_i[j] += av * wrow[j];
        }
    }
    finish(job, acc, cols, j0, cols);
}

/* ---- SGEMM path --------------------------------------------------------- */

static void dense_pack_a(const void *src, size_t i0, size_t count, size_t k0, size_t kc,
                         float *dst, float *tmp)
{
    (void)tmp;
    const dense_job *job = src;
    const size_t mr = SIEVE_GEMM_MR;
    if (job->trans_a) {
        for (size_t kk = 0; kk < kc; kk++) {
            const float *col = job->a + (k0 + kk) * job->m + i0;
            for (size_t r = 0; r < mr; r++)
                dst[kk * mr + r] = r < count ? col[r] : 0.0f;
        }
        return;
    }
    for (size_t r = 0; r < count; r++) {
        const float *row = job->a + (i0 + r) * job->k + k0;
        for (size_t kk = 0; kk < kc; kk++)
            dst[kk * mr + r] = row[kk];
    }
    for (size_t r = count; r < mr; r++)
        for (size_t kk = 0; kk < kc; kk++)
            dst[kk * mr + r] = 0.0f;
}

static void dense_pack_b(const void *src, size_t j0, size_t count, size_t k0, size_t kc,
                         float *dst, float *tmp)
{
    const dense_job *job = src;
    const size_t nr = SIEVE_GEMM_NR;
    size_t panels = ceil_div(count, nr);
    if (!job->trans_b) {
        for (size_t q = 0; q < panels; q++) {
            size_t pc = SIEVE_MIN(nr, count - q * nr);
            float *d = dst + q * kc * nr;
            for (size_t kk = 0; kk < kc; kk++) {
                size_t first = job->b_first + (k0 + kk) * job->n + j0 + q * nr;
                sieve_op_input_load(job->b, first, pc, d + kk * nr);
                for (size_t j = pc; j < nr; j++)
                    d[kk * nr + j] = 0.0f;
            }
        }
        return;
    }
    for (size_t j = 0; j < count; j++) {
        size_t first = job->b_first + (j0 + j) * job->k + k0;
        const float *row = job->b->f32 ? job->b->f32 + first : tmp;
        if (!job->b->f32)
            sieve_format_load(&job->b->format, job->b->packed, first, kc, tmp);
        float *d = dst + (j / nr) * kc * nr + j % nr;
        for (size_t kk = 0; kk < kc; kk++)
            d[kk * nr] = row[kk];
    }
    for (size_t j = count; j < panels * nr; j++) {
        float *d = dst + (j / nr) * kc * nr + j % nr;
        for (size_t kk = 0; kk < kc; kk++)
            d[kk * nr] = 0.0f;
    }
}

static void dense_task(const dense_job *job, size_t t, float *scratch)
{
    if (job->gemv) {
        size_t j0 = t * job->gemv_cols;
        size_t cols = SIEVE_MIN(job->gemv_cols, job->n - j0);
        if (job->trans_b)
            gemv_rows(job, j0, cols, scratch);
        else
            gemv_cols(job, j0, cols, scratch);
        return;
    }
    const sieve_gemm_split *s = &job->split;
    size_t m0 = (t / s->n_blocks) * s->m_block, n0 = (t % s->n_blocks) * s->n_block;
    size_t m1 = SIEVE_MIN(job->m, m0 + s->m_block), n1 = SIEVE_MIN(job->n, n0 + s->n_block);
    bool with_c = job->c != NULL;
    if (with_c) /* start the tile from beta * C, then accumulate into it */
        for (size_t i = m0; i < m1; i++)
            for (size_t j = n0; j < n1; j++)
                job->y[i * job->n + j] = job->beta * job->c[i * job->c_rs + j * job->c_cs];
    sieve_gemm_job g = {
        .m = job->m,
        .n = job->n,
        .k = job->k,
        .pack_a = dense_pack_a,
        .a = job,
        .pack_b = dense_pack_b,
        .b = job,
        .c = job->y,
        .rs = (ptrdiff_t)job->n,
        .cs = 1,
        .row_bias = NULL,
        .alpha = job->alpha,
        .accumulate = with_c,
        .relu = job->relu,
    };
    sieve_gemm_block(&g, m0, m1, n0, n1, scratch);
}

/* Reference of one product; B' read element by element (decoded if packed). */
static void dense_ref(const dense_job *job)
{
    for (size_t i = 0; i < job->m; i++)
        for (size_t j = 0; j < job->n; j++) {
            double sum = 0.0;
            for (size_t kk = 0; kk < job->k; kk++) {
                float a = job->trans_a ? job->a[kk * job->m + i] : job->a[i * job->k + kk];
                size_t bi = job->trans_b ? j * job->k + kk : kk * job->n + j;
                sum += (double)a * sieve_op_input_at(job->b, job->b_first + bi);
            }
            double v = (double)job->alpha * sum;
            if (job->c)
                v += (double)job->beta * job->c[i * job->c_rs + j * job->c_cs];
            float f = (float)v;
            job->y[i * job->n + j] = (job->relu && f < 0.0f) ? 0.0f : f;
        }
}

/* ---- Gemm ---------------------------------------------------------------- */

sieve_status sieve_gemm_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                              sieve_shape *out, char *err, size_t err_len)
{
    const sieve_gemm_attrs *at = &layer->attrs.gemm;
    size_t numel;
    if (n_in < 2 || n_in > 3)
        return sieve_op_fail(layer, err, err_len, "takes 2 or 3 inputs (A, B, C), got %d", n_in);
    for (int i = 0; i < 2; i++) {
        if (in[i].rank != 2 || !sieve_op_numel(&in[i], &numel))
            return sieve_op_fail(layer, err, err_len, "%s must be 2-D, has rank %d",
                                 i ? "B" : "A", in[i].rank);
        if (in[i].dims[0] < 1 || in[i].dims[1] < 1)
            return sieve_op_fail(layer, err, err_len, "%s is empty", i ? "B" : "A");
    }
    int64_t m = in[0].dims[at->trans_a ? 1 : 0], k = in[0].dims[at->trans_a ? 0 : 1];
    int64_t kb = in[1].dims[at->trans_b ? 1 : 0], n = in[1].dims[at->trans_b ? 0 : 1];
    if (k != kb)
        return sieve_op_fail(layer, err, err_len,
                             "A%s has K = %lld but B%s has K = %lld", at->trans_a ? "^T" : "",
                             (long long)k, at->trans_b ? "^T" : "", (long long)kb);
    if (sieve_op_shape_present(in, n_in, 2)) {
        const sieve_shape *c = &in[2];
        bool ok = c->rank <= 2 && sieve_op_numel(c, &numel);
        if (ok && c->rank >= 1)
            ok = c->dims[c->rank - 1] == 1 || c->dims[c->rank - 1] == n;
        if (ok && c->rank == 2)
            ok = c->dims[0] == 1 || c->dims[0] == m;
        if (!ok)
            return sieve_op_fail(layer, err, err_len,
                                 "C (rank %d) does not broadcast to [%lld, %lld]", c->rank,
                                 (long long)m, (long long)n);
    }
    out->rank = 2;
    out->dims[0] = m;
    out->dims[1] = n;
    if (!sieve_op_numel(out, &numel))
        return sieve_op_fail(layer, err, err_len, "output size overflows");
    return SIEVE_OK;
}

uint64_t sieve_gemm_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                         const sieve_shape *out)
{
    (void)n_in;
    int64_t k = in[0].dims[layer->attrs.gemm.trans_a ? 0 : 1];
    return (uint64_t)out->dims[0] * (uint64_t)out->dims[1] * (uint64_t)k;
}

size_t sieve_gemm_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                          const sieve_shape *out, int threads)
{
    (void)n_in, (void)out;
    size_t k = (size_t)in[0].dims[layer->attrs.gemm.trans_a ? 0 : 1];
    return sieve_op_slice_floats(dense_slice_floats(k)) * (size_t)SIEVE_MAX(threads, 1);
}

static void gemm_job(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                     const sieve_shape *out_shape, dense_job *job)
{
    const sieve_gemm_attrs *at = &layer->attrs.gemm;
    memset(job, 0, sizeof(*job));
    job->m = (size_t)out_shape->dims[0];
    job->n = (size_t)out_shape->dims[1];
    job->k = (size_t)in[0].shape.dims[at->trans_a ? 0 : 1];
    job->a = in[0].f32;
    job->trans_a = at->trans_a;
    job->b = &in[1];
    job->trans_b = at->trans_b;
    job->y = out;
    job->alpha = at->alpha;
    job->beta = at->beta;
    job->relu = at->relu;
    if (sieve_op_input_present(in, n_in, 2) && at->beta != 0.0f) {
        const sieve_shape *c = &in[2].shape;
        job->c = in[2].f32;
        job->c_cs = (c->rank >= 1 && c->dims[c->rank - 1] != 1) ? 1 : 0;
        job->c_rs = (c->rank == 2 && c->dims[0] != 1) ? (size_t)c->dims[1] : 0;
    }
}

void sieve_gemm_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                        const sieve_shape *out_shape)
{
    dense_job job;
    gemm_job(layer, in, n_in, out, out_shape, &job);
    dense_ref(&job);
}

typedef struct dense_run {
    const dense_job *job;
    float *scratch;
    size_t slice;
} dense_run;

static void gemm_range(void *arg, size_t begin, size_t end, int thread)
{
    const dense_run *r = arg;
    for (size_t t = begin; t < end; t++)
        dense_task(r->job, t, r->scratch + (size_t)thread * r->slice);
}

void sieve_gemm_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                    const sieve_shape *out_shape, sieve_op_env *env)
{
    dense_job job;
    gemm_job(layer, in, n_in, out, out_shape, &job);
    bool ok;
    dense_run r = {&job, env->scratch, sieve_op_slice_floats(dense_slice_floats(job.k))};
    sieve_pool *pool = sieve_op_pool_for_scratch(env, r.slice, &ok);
    /* A packed C is tiny and unusual: the reference decodes it. */
    if (!ok || (sieve_op_input_present(in, n_in, 2) && !in[2].f32)) {
        sieve_gemm_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    dense_plan(&job, 1, sieve_pool_threads(pool));
    sieve_dot_plan dot;
    if (job.gemv && job.trans_b) {
        sieve_format fp32 = sieve_format_fp32();
        sieve_dot_plan_init(&dot, job.b->f32 ? &fp32 : &job.b->format, job.b_first, job.k);
        /* an input decoded from a format of at most 7 mantissa bits is
         * exactly bf16: packed rows are then multiplied as bf16 pairs */
        if (in[0].format.kind == SIEVE_FORMAT_CFLOAT && in[0].format.m_bits <= 7)
            sieve_dot_plan_vecs_bf16(&dot);
        job.dot = &dot;
    }
    sieve_parallel_for(pool, dense_tasks(&job), gemm_range, &r);
}

/* ---- MatMul -------------------------------------------------------------- */

typedef struct matmul_geom {
    size_t m, n, k, batches;
    int batch_rank;
    size_t batch_dims[SIEVE_MAX_RANK];
    size_t a_stride[SIEVE_MAX_RANK], b_stride[SIEVE_MAX_RANK]; /* in matrices; 0: broadcast */
} matmul_geom;

/* Matrices of `s` below batch dimension d (s seen with batch rank br). */
static void matmul_batch_strides(const sieve_shape *s, int br, size_t *strides)
{
    int own = s->rank > 2 ? s->rank - 2 : 0;
    size_t stride = 1;
    for (int d = br - 1; d >= 0; d--) {
        int ds = d - (br - own);
        int64_t dim = ds >= 0 ? s->dims[ds] : 1;
        strides[d] = dim == 1 ? 0 : stride;
        stride *= (size_t)dim;
    }
}

static void matmul_geometry(const sieve_shape *a, const sieve_shape *b, const sieve_shape *y,
                            matmul_geom *g)
{
    g->m = a->rank >= 2 ? (size_t)a->dims[a->rank - 2] : 1;
    g->k = (size_t)a->dims[a->rank - 1];
    g->n = b->rank >= 2 ? (size_t)b->dims[b->rank - 1] : 1;
    int br = SIEVE_MAX(a->rank, b->rank) - 2;
    g->batch_rank = br > 0 ? br : 0;
    g->batches = 1;
    for (int d = 0; d < g->batch_rank; d++) {
        g->batch_dims[d] = (size_t)y->dims[d];
        g->batches *= g->batch_dims[d];
    }
    matmul_batch_strides(a, g->batch_rank, g->a_stride);
    matmul_batch_strides(b, g->batch_rank, g->b_stride);
}

sieve_status sieve_matmul_infer(const sieve_layer *layer, const sieve_shape *in, int n_in,
                                sieve_shape *out, char *err, size_t err_len)
{
    size_t numel;
    if (n_in != 2)
        return sieve_op_fail(layer, err, err_len, "takes 2 inputs, got %d", n_in);
    const sieve_shape *a = &in[0], *b = &in[1];
    for (int i = 0; i < 2; i++) {
        if (in[i].rank < 1 || !sieve_op_numel(&in[i], &numel))
            return sieve_op_fail(layer, err, err_len, "input %d must have rank >= 1, has %d", i,
                                 in[i].rank);
        for (int d = 0; d < in[i].rank; d++)
            if (in[i].dims[d] < 1)
                return sieve_op_fail(layer, err, err_len, "input %d dimension %d is %lld", i, d,
                                     (long long)in[i].dims[d]);
    }
    int64_t ka = a->dims[a->rank - 1], kb = b->dims[b->rank >= 2 ? b->rank - 2 : 0];
    if (ka != kb)
        return sieve_op_fail(layer, err, err_len, "A has K = %lld but B has K = %lld",
                             (long long)ka, (long long)kb);
    int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
    int br = SIEVE_MAX(ba, bb);
    int rank = br + (a->rank >= 2) + (b->rank >= 2);
    if (rank > SIEVE_MAX_RANK)
        return sieve_op_fail(layer, err, err_len, "output rank %d exceeds %d", rank,
                             SIEVE_MAX_RANK);
    out->rank = rank;
    for (int d = 0; d < br; d++) {
        int da = d - (br - ba), db = d - (br - bb);
        int64_t x = da >= 0 ? a->dims[da] : 1, z = db >= 0 ? b->dims[db] : 1;
        if (x != z && x != 1 && z != 1)
            return sieve_op_fail(layer, err, err_len,
                                 "batch dimension %d does not broadcast: %lld vs %lld", d,
                                 (long long)x, (long long)z);
        out->dims[d] = x == 1 ? z : x;
    }
    int d = br;
    if (a->rank >= 2)
        out->dims[d++] = a->dims[a->rank - 2];
    if (b->rank >= 2)
        out->dims[d++] = b->dims[b->rank - 1];
    if (!sieve_op_numel(out, &numel))
        return sieve_op_fail(layer, err, err_len, "output size overflows");
    return SIEVE_OK;
}

uint64_t sieve_matmul_macs(const sieve_layer *layer, const sieve_shape *in, int n_in,
                           const sieve_shape *out)
{
    (void)layer, (void)n_in;
    matmul_geom g;
    matmul_geometry(&in[0], &in[1], out, &g);
    return (uint64_t)g.batches * g.m * g.n * g.k;
}

size_t sieve_matmul_scratch(const sieve_layer *layer, const sieve_shape *in, int n_in,
                            const sieve_shape *out, int threads)
{
    (void)layer, (void)in, (void)n_in, (void)out;
    return sieve_op_slice_floats(dense_slice_floats(0)) * (size_t)SIEVE_MAX(threads, 1);
}

/* The product of output batch `batch`: offsets into A, B and Y. */
static void matmul_batch_job(const matmul_geom *g, const dense_job *base, size_t batch,
                             dense_job *job)
{
    *job = *base;
    size_t rest = batch, a_mat = 0, b_mat = 0;
    for (int d = g->batch_rank - 1; d >= 0; d--) {
        size_t idx = rest % g->batch_dims[d];
        rest /= g->batch_dims[d];
        a_mat += idx * g->a_stride[d];
        b_mat += idx * g->b_stride[d];
    }
    job->a = base->a + a_mat * g->m * g->k;
    job->b_first = b_mat * g->k * g->n;
    job->y = base->y + batch * g->m * g->n;
}

static void matmul_base_job(const sieve_op_input *in, float *out, const matmul_geom *g,
                            dense_job *job)
{
    memset(job, 0, sizeof(*job));
    job->m = g->m;
    job->n = g->n;
    job->k = g->k;
    job->a = in[0].f32;
    job->b = &in[1];
    job->y = out;
    job->alpha = 1.0f;
}

void sieve_matmul_run_ref(const sieve_layer *layer, const sieve_op_input *in, int n_in,
                          float *out, const sieve_shape *out_shape)
{
    (void)layer, (void)n_in;
    matmul_geom g;
    matmul_geometry(&in[0].shape, &in[1].shape, out_shape, &g);
    dense_job base, job;
    matmul_base_job(in, out, &g, &base);
    for (size_t batch = 0; batch < g.batches; batch++) {
        matmul_batch_job(&g, &base, batch, &job);
        dense_ref(&job);
    }
}

typedef struct matmul_run {
    matmul_geom g;
    dense_job base;
    size_t per_batch;
    float *scratch;
    size_t slice;
} matmul_run;

static void matmul_range(void *arg, size_t begin, size_t end, int thread)
{
    const matmul_run *r = arg;
    dense_job job;
    for (size_t t = begin; t < end; t++) {
        matmul_batch_job(&r->g, &r->base, t / r->per_batch, &job);
        dense_task(&job, t % r->per_batch, r->scratch + (size_t)thread * r->slice);
    }
}

void sieve_matmul_run(const sieve_layer *layer, const sieve_op_input *in, int n_in, float *out,
                      const sieve_shape *out_shape, sieve_op_env *env)
{
    matmul_run r;
    matmul_geometry(&in[0].shape, &in[1].shape, out_shape, &r.g);
    r.slice = sieve_op_slice_floats(dense_slice_floats(0));
    r.scratch = env->scratch;
    bool ok;
    sieve_pool *pool = sieve_op_pool_for_scratch(env, r.slice, &ok);
    if (!ok) {
        sieve_matmul_run_ref(layer, in, n_in, out, out_shape);
        return;
    }
    matmul_base_job(in, out, &r.g, &r.base);
    dense_plan(&r.base, r.g.batches, sieve_pool_threads(pool));
    r.per_batch = dense_tasks(&r.base);
    sieve_parallel_for(pool, r.g.batches * r.per_batch, matmul_range, &r);
}
