/* ONNX backend conformance for libsieve.
 *
 * Walks the ONNX backend test cases shipped by Debian's libonnx-testdata
 * (<root>/node/<case>/ and <root>/pytorch-converted/<case>/, each holding
 * model.onnx and test_data_set_N/{input_K.pb,output_K.pb}), imports each model,
 * runs every data set and compares every output with the expected one.
 *
 *   sieve_conformance [-v] [-k SUBSTRING] [-r RTOL] [ROOT]
 *
 * ROOT defaults to $SIEVE_ONNX_TESTDATA, else /usr/share/libonnx-testdata/data.
 * Each case is classified pass, fail (imported but wrong numbers or shapes,
 * or an import error other than "unsupported") or unsupported. The exit code
 * is 1 when any case fails, or when a case made only of ops the importer
 * supports is reported unsupported without an entry in the commented
 * allow-list below; 77 when the test data is missing (ctest skips); else 0.
 *
 * Inputs: graph inputs that are not float (e.g. a Reshape's shape) are bound
 * as constants from the data set's .pb. When that import says unsupported, a
 * second attempt also binds every float input but the first: the backend
 * tests feed parameters such as batch-norm statistics as graph inputs where
 * real models carry initializers.
 *
 * Tolerance, per element: |got - want| <= rtol * |want| + atol, with
 * rtol = 1e-3 (the default of ONNX's own backend test runner; -r changes it
 * to look for small deviations) and
 * atol = max(1e-7, 4 * K * FLT_EPSILON * max|want|), K the longest reduction
 * of any layer of the model (its multiply-accumulates per output element):
 * the error bound of a K-term fp32 sum, which matters near zero after
 * cancellation. NaN must match NaN, infinities must match exactly. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <protobuf-c/protobuf-c.h>

#include "onnx.pb-c.h"
#include "sieve/model.h"

#define DEFAULT_ROOT "/usr/share/libonnx-testdata/data"
#define MAX_IO 64
#define MSG_LEN 768
#define PATH_LEN 4096

/* ONNX ops the importer maps to layers, aliases or folds in general. A case
 * built only from these must pass, or be listed in known_unsupported. Not
 * listed: ops folded only when their inputs are constants (Cast, Gather, Sub,
 * Mul, Div, Transpose, ConstantOfShape) and ops supported in one form only
 * (Clip as ReLU, zero Pad feeding a Conv/AveragePool), since their backend
 * tests exercise the other forms. */
static const char *const supported_ops[] = {
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Concat",
    "Constant",
    "Conv",
    "Dropout",
    "Flatten",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Identity",
    "LRN",
    "MatMul",
    "MaxPool",
    "Relu",
    "Reshape",
    "Shape",
    "Softmax",
    "Squeeze",
    "Sum",
    "Unsqueeze",
};

/* Variants of supported ops that are knowingly not supported: case name
 * (fnmatch pattern) and why. */
static const struct {
    const char *pattern;
    const char *why;
} known_unsupported[] = {
    /* 3-D convolution and pooling: sieve's kernels are 1-D/2-D (CNNs on images). */
    {"test_Conv3d*", "3-D convolution"},
    {"test_AvgPool3d*", "3-D pooling"},
    {"test_MaxPool3d*", "3-D pooling"},
    {"test_averagepool_3d_default", "3-D pooling"},
    {"test_maxpool_3d_default", "3-D pooling"},
    /* MaxPool's second output (argmax indices) has no layer. */
    {"test_maxpool_with_argmax_*", "MaxPool Indices output"},
    /* Data inputs of integer types: layers compute in fp32 only. */
    {"test_maxpool_2d_uint8", "uint8 data input"},
    {"test_add_uint8", "uint8 data inputs (folded as constants, no run-time input left)"},
    /* Training-mode variants: random masks / batch statistics. */
    {"test_batchnorm_*_training_mode", "BatchNormalization training_mode=1"},
    {"test_training_dropout", "training-mode Dropout (random mask)"},
    {"test_training_dropout_default", "training-mode Dropout (random mask)"},
    {"test_training_dropout_default_mask", "training-mode Dropout (random mask)"},
    {"test_training_dropout_mask", "training-mode Dropout (random mask)"},
    /* Zero-size tensors are not representable in sieve graphs. */
    {"test_reshape_allowzero_reordered", "zero-size tensor"},
    /* A graph of constants only: a sieve model needs a run-time input. */
    {"test_constant", "no run-time input"},
    /* Identity over sequence/optional types: sieve tensors only. */
    {"test_identity_sequence", "sequence type"},
    {"test_identity_opt", "optional type"},
};

/* Messages and paths are built through these two, which check lengths. */
static void set_msg(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, MSG_LEN, fmt, ap);
    va_end(ap);
}

static bool path_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < len;
}

typedef enum outcome { OUT_PASS, OUT_FAIL, OUT_UNSUPPORTED } outcome;

typedef struct options {
    bool verbose;
    const char *filter;
} options;

typedef struct tensor_file {
    char name[256];
    sieve_shape shape;
    float *values;
    size_t n;
    void *bytes; /* the .pb, for binding */
    size_t size;
} tensor_file;

static bool read_file(const char *path, void **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool ok = buf && !ferror(f);
    fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    *data = buf;
    *size = n;
    return true;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int only_cases(const struct dirent *e)
{
    return strncmp(e->d_name, "test_", 5) == 0;
}

static int only_data_sets(const struct dirent *e)
{
    return strncmp(e->d_name, "test_data_set_", 14) == 0;
}

/* Reads a .pb tensor; SIEVE_ERR_UNSUPPORTED when its element type or rank
 * has no sieve equivalent (strings, rank > 6). */
static sieve_status load_tensor(sieve_context *ctx, const char *path, tensor_file *t, char *msg)
{
    memset(t, 0, sizeof(*t));
    if (!read_file(path, &t->bytes, &t->size)) {
        set_msg(msg, "cannot read %s", path);
        return SIEVE_ERR_IO;
    }
    sieve_status st = sieve_onnx_read_tensor(ctx, t->bytes, t->size, &t->shape, NULL, 0, &t->n,
                                             t->name, sizeof(t->name));
    if (st == SIEVE_OK) {
        t->values = malloc(t->n ? t->n * sizeof(float) : 1);
        st = t->values ? sieve_onnx_read_tensor(ctx, t->bytes, t->size, &t->shape, t->values, t->n,
                                                &t->n, NULL, 0)
                       : SIEVE_ERR_NOMEM;
    }
    if (st != SIEVE_OK)
        set_msg(msg, "test data %s: %s", path, sieve_context_error(ctx));
    return st;
}

static void free_tensor(tensor_file *t)
{
    free(t->values);
    free(t->bytes);
    memset(t, 0, sizeof(*t));
}

/* What the driver needs to know of a model: its runtime inputs (graph inputs
 * without an initializer), whether each is float, and its op types. */
typedef struct model_desc {
    int n_inputs;
    char *input_names[MAX_IO];
    bool input_is_float[MAX_IO];
    int n_outputs;
    bool tensors_only; /* no sequence, optional or map inputs/outputs */
    bool supported_family;
    char ops[MSG_LEN];
} model_desc;

static bool op_supported(const char *op)
{
    for (size_t i = 0; i < sizeof(supported_ops) / sizeof(supported_ops[0]); i++)
        if (strcmp(supported_ops[i], op) == 0)
            return true;
    return false;
}

/* Whether the comma-separated `list` holds `item`. */
static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static bool describe_model(const void *data, size_t size, model_desc *d, char *msg)
{
    memset(d, 0, sizeof(*d));
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m || !m->graph) {
        set_msg(msg, "model.onnx does not parse");
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return false;
    }
    const Onnx__GraphProto *g = m->graph;
    d->supported_family = g->n_node > 0;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        bool default_domain = !n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0;
        if (!default_domain || !n->op_type || !op_supported(n->op_type))
            d->supported_family = false;
        if (n->op_type && !list_has(d->ops, n->op_type) &&
            strlen(d->ops) + strlen(n->op_type) + 2 < sizeof(d->ops)) {
            if (d->ops[0])
                strcat(d->ops, ",");
            strcat(d->ops, n->op_type);
        }
    }
    for (size_t i = 0; i < g->n_input && d->n_inputs < MAX_IO; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        bool is_init = false;
        for (size_t k = 0; k < g->n_initializer && !is_init; k++)
            is_init = strcmp(g->initializer[k]->name, vi->name) == 0;
        if (is_init)
            continue;
        const Onnx__TypeProto *tp = vi->type;
        d->input_is_float[d->n_inputs] =
            tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
            tp->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        d->input_names[d->n_inputs++] = strdup(vi->name);
    }
    d->n_outputs = (int)g->n_output;
    d->tensors_only = true;
    for (size_t i = 0; i < g->n_input; i++)
        if (!g->input[i]->type ||
            g->input[i]->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            d->tensors_only = false;
    for (size_t i = 0; i < g->n_output; i++)
        if (!g->output[i]->type ||
            g->output[i]->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            d->tensors_only = false;
    onnx__model_proto__free_unpacked(m, NULL);
    return true;
}

static void free_desc(model_desc *d)
{
    for (int i = 0; i < d->n_inputs; i++)
        free(d->input_names[i]);
}

/* Longest reduction of any layer: multiply-accumulates per output element. */
static double longest_reduction(const sieve_model *model, const sieve_exec *exec)
{
    double k = 1.0;
    for (int li = 0; li < sieve_model_layer_count(model); li++) {
        sieve_layer_info info;
        sieve_shape s;
        if (sieve_model_layer(model, li, &info) != SIEVE_OK ||
            sieve_exec_tensor_shape(exec, info.outputs[0], &s) != SIEVE_OK)
            continue;
        int64_t n = sieve_shape_numel(&s);
        if (n > 0)
            k = fmax(k, ceil((double)sieve_exec_layer_macs(exec, li) / (double)n));
    }
    return k;
}

static bool same_shape(const sieve_shape *a, const sieve_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d])
            return false;
    return true;
}

static const char *shape_text(const sieve_shape *s, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < s->rank && used < len; d++)
        used +=
            (size_t)snprintf(buf + used, len - used, d ? ",%lld" : "%lld", (long long)s->dims[d]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static double rtol = 1e-3;

static bool compare(const float *got, const float *want, size_t n, double k, char *msg, int output)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]))
            scale = fmax(scale, fabs(want[i]));
    const double atol = fmax(1e-7, 4.0 * k * FLT_EPSILON * scale);
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        bool ok;
        if (isnan(w))
            ok = isnan(g);
        else if (isinf(w))
            ok = g == w;
        else
            ok = fabs(g - w) <= rtol * fabs(w) + atol;
        if (!ok) {
            snprintf(msg, MSG_LEN,
                     "output %d element %zu: got %.9g, want %.9g (tolerance %.3g, K=%.0f)", output,
                     i, g, w, rtol * fabs(w) + atol, k);
            return false;
        }
    }
    return true;
}

/* Imports with the given inputs bound as constants. */
static sieve_status import_case(sieve_context *ctx, const void *model, size_t size,
                                const model_desc *d, const tensor_file *inputs, int n_inputs,
                                bool bind_floats, sieve_model **out)
{
    const char *names[MAX_IO];
    const void *data[MAX_IO];
    size_t sizes[MAX_IO];
    int n = 0;
    bool kept_one = false;
    for (int i = 0; i < n_inputs && i < d->n_inputs; i++) {
        bool bind = !d->input_is_float[i];
        if (!bind && bind_floats) {
            bind = kept_one;
            kept_one = true;
        }
        if (!bind)
            continue;
        names[n] = d->input_names[i];
        data[n] = inputs[i].bytes;
        sizes[n] = inputs[i].size;
        n++;
    }
    sieve_onnx_options opt = {n, names, data, sizes};
    return sieve_onnx_import_memory(ctx, model, size, &opt, out);
}

/* Runs one data set; returns its outcome with a message. */
static outcome run_data_set(sieve_context *ctx, const char *dir, const void *model_bytes,
                            size_t model_size, const model_desc *d, char *msg)
{
    tensor_file inputs[MAX_IO], outputs[MAX_IO];
    int n_in = 0, n_out = 0;
    char path[PATH_LEN];
    outcome result = OUT_FAIL;
    sieve_model *model = NULL;
    sieve_exec *exec = NULL;
    float *got = NULL;

    for (;;) {
        char file[32];
        snprintf(file, sizeof(file), "input_%d.pb", n_in);
        struct stat st;
        if (n_in == MAX_IO || !path_join(path, sizeof(path), dir, file) || stat(path, &st) != 0)
            break;
        sieve_status loaded = load_tensor(ctx, path, &inputs[n_in], msg);
        if (loaded != SIEVE_OK) {
            free_tensor(&inputs[n_in]);
            result = loaded == SIEVE_ERR_UNSUPPORTED ? OUT_UNSUPPORTED : OUT_FAIL;
            goto done;
        }
        n_in++;
    }
    for (;;) {
        char file[32];
        snprintf(file, sizeof(file), "output_%d.pb", n_out);
        struct stat st;
        if (n_out == MAX_IO || !path_join(path, sizeof(path), dir, file) || stat(path, &st) != 0)
            break;
        sieve_status loaded = load_tensor(ctx, path, &outputs[n_out], msg);
        if (loaded != SIEVE_OK) {
            free_tensor(&outputs[n_out]);
            result = loaded == SIEVE_ERR_UNSUPPORTED ? OUT_UNSUPPORTED : OUT_FAIL;
            goto done;
        }
        n_out++;
    }

    sieve_status st = import_case(ctx, model_bytes, model_size, d, inputs, n_in, false, &model);
    if (st == SIEVE_ERR_UNSUPPORTED) {
        char first[MSG_LEN];
        snprintf(first, sizeof(first), "%s", sieve_context_error(ctx));
        st = import_case(ctx, model_bytes, model_size, d, inputs, n_in, true, &model);
        if (st == SIEVE_ERR_UNSUPPORTED) {
            set_msg(msg, "%s", first);
            result = OUT_UNSUPPORTED;
            goto done;
        }
    }
    if (st != SIEVE_OK) {
        set_msg(msg, "import: %s", sieve_context_error(ctx));
        goto done;
    }

    /* Model inputs are the graph inputs left unbound, in graph order. */
    int n_model_in = sieve_model_input_count(model);
    sieve_shape shapes[MAX_IO];
    int feed[MAX_IO];
    for (int i = 0; i < n_model_in && i < MAX_IO; i++) {
        sieve_tensor_info info;
        sieve_model_tensor(model, sieve_model_input(model, i), &info);
        feed[i] = -1;
        for (int k = 0; k < d->n_inputs && k < n_in; k++)
            if (strcmp(d->input_names[k], info.name) == 0)
                feed[i] = k;
        if (feed[i] < 0) {
            set_msg(msg, "model input '%s' has no data in %s", info.name, dir);
            goto done;
        }
        shapes[i] = inputs[feed[i]].shape;
    }
    sieve_exec_options eo = {.threads = 1, .input_shapes = shapes};
    if (sieve_exec_create(model, &eo, &exec) != SIEVE_OK) {
        set_msg(msg, "exec create: %s", sieve_context_error(ctx));
        goto done;
    }
    for (int i = 0; i < n_model_in; i++) {
        const tensor_file *t = &inputs[feed[i]];
        if (sieve_exec_set_input(exec, i, t->values, t->n) != SIEVE_OK) {
            set_msg(msg, "set input %d: %s", i, sieve_context_error(ctx));
            goto done;
        }
    }
    if (sieve_exec_run(exec) != SIEVE_OK) {
        set_msg(msg, "run: %s", sieve_context_error(ctx));
        goto done;
    }
    if (sieve_model_output_count(model) != n_out) {
        set_msg(msg, "%d outputs, %d expected", sieve_model_output_count(model), n_out);
        goto done;
    }
    double k = longest_reduction(model, exec);
    for (int j = 0; j < n_out; j++) {
        sieve_shape s;
        char a[128], b[128];
        sieve_exec_tensor_shape(exec, sieve_model_output(model, j), &s);
        if (!same_shape(&s, &outputs[j].shape)) {
            set_msg(msg, "output %d has shape %s, want %s", j, shape_text(&s, a, sizeof(a)),
                    shape_text(&outputs[j].shape, b, sizeof(b)));
            goto done;
        }
        free(got);
        got = malloc(outputs[j].n ? outputs[j].n * sizeof(float) : 1);
        if (!got || sieve_exec_get_output(exec, j, got, outputs[j].n) != SIEVE_OK) {
            set_msg(msg, "get output %d: %s", j, sieve_context_error(ctx));
            goto done;
        }
        if (!compare(got, outputs[j].values, outputs[j].n, k, msg, j))
            goto done;
    }
    result = OUT_PASS;
done:
    free(got);
    sieve_exec_free(exec);
    sieve_model_free(model);
    for (int i = 0; i < n_in; i++)
        free_tensor(&inputs[i]);
    for (int i = 0; i < n_out; i++)
        free_tensor(&outputs[i]);
    return result;
}

/* Runs every data set of one case; reports whether the case uses only
 * supported ops and which ops it uses. */
static outcome run_case(sieve_context *ctx, const char *dir, bool *family, char *ops, char *msg)
{
    char path[PATH_LEN];
    void *model = NULL;
    size_t size = 0;
    model_desc d;
    *family = false;
    snprintf(ops, MSG_LEN, "?");
    if (!path_join(path, sizeof(path), dir, "model.onnx") || !read_file(path, &model, &size)) {
        set_msg(msg, "cannot read %s", path);
        return OUT_FAIL;
    }
    if (!describe_model(model, size, &d, msg)) {
        free(model);
        return OUT_FAIL;
    }
    *family = d.supported_family;
    snprintf(ops, MSG_LEN, "%s", d.ops);
    if (!d.tensors_only) {
        set_msg(msg, "sequence, optional or map values (sieve graphs hold tensors)");
        free_desc(&d);
        free(model);
        return OUT_UNSUPPORTED;
    }
    struct dirent **sets = NULL;
    int n_sets = scandir(dir, &sets, only_data_sets, alphasort);
    outcome result = OUT_PASS;
    if (n_sets <= 0) {
        set_msg(msg, "no test_data_set_* in %s", dir);
        result = OUT_FAIL;
    }
    for (int i = 0; i < n_sets; i++) {
        if (result == OUT_PASS) {
            char sub[PATH_LEN];
            if (path_join(sub, sizeof(sub), dir, sets[i]->d_name))
                result = run_data_set(ctx, sub, model, size, &d, msg);
            else
                result = OUT_FAIL;
        }
        free(sets[i]);
    }
    free(sets);
    free_desc(&d);
    free(model);
    return result;
}

static const char *allow_listed(const char *name)
{
    for (size_t i = 0; i < sizeof(known_unsupported) / sizeof(known_unsupported[0]); i++)
        if (fnmatch(known_unsupported[i].pattern, name, 0) == 0)
            return known_unsupported[i].why;
    return NULL;
}

typedef struct tally {
    int pass, fail, unsupported, unexpected_unsupported;
} tally;

static void run_suite(sieve_context *ctx, const char *root, const char *suite, const options *opt,
                      tally *t)
{
    char dir[PATH_LEN];
    if (!path_join(dir, sizeof(dir), root, suite))
        return;
    struct dirent **cases = NULL;
    int n = scandir(dir, &cases, only_cases, alphasort);
    tally local = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        const char *name = cases[i]->d_name;
        if (opt->filter && !strstr(name, opt->filter)) {
            free(cases[i]);
            continue;
        }
        char path[PATH_LEN], msg[MSG_LEN] = "", ops[MSG_LEN];
        if (!path_join(path, sizeof(path), dir, name))
            continue;
        bool family;
        outcome o = run_case(ctx, path, &family, ops, msg);
        const char *why = NULL;
        if (o == OUT_PASS) {
            local.pass++;
        } else if (o == OUT_FAIL) {
            local.fail++;
        } else {
            local.unsupported++;
            if (family && !(why = allow_listed(name)))
                local.unexpected_unsupported++;
        }
        bool problem = o == OUT_FAIL || (o == OUT_UNSUPPORTED && family && !why);
        if (opt->verbose || problem) {
            printf("%-11s %s/%s [%s]",
                   o == OUT_PASS   ? "PASS"
                   : o == OUT_FAIL ? "FAIL"
                                   : "UNSUPPORTED",
                   suite, name, ops);
            if (o != OUT_PASS)
                printf(": %s", msg);
            if (o == OUT_UNSUPPORTED && family)
                printf(why ? " [allow-listed: %s]"
                           : " [UNEXPECTED: supported ops, not allow-listed]",
                       why);
            printf("\n");
        }
        free(cases[i]);
    }
    free(cases);
    printf("%s: %d passed, %d failed, %d unsupported (%d of them with only supported ops and "
           "not allow-listed)\n",
           suite, local.pass, local.fail, local.unsupported, local.unexpected_unsupported);
    t->pass += local.pass;
    t->fail += local.fail;
    t->unsupported += local.unsupported;
    t->unexpected_unsupported += local.unexpected_unsupported;
}

int main(int argc, char **argv)
{
    options opt = {false, NULL};
    const char *root = getenv("SIEVE_ONNX_TESTDATA");
    if (!root || !root[0])
        root = DEFAULT_ROOT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            opt.verbose = true;
        } else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            opt.filter = argv[++i];
        } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            rtol = atof(argv[++i]);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [-v] [-k SUBSTRING] [-r RTOL] [ROOT]\n", argv[0]);
            return 2;
        } else {
            root = argv[i];
        }
    }
    if (!is_dir(root)) {
        printf("ONNX backend test data not found at %s (install libonnx-testdata); skipping\n",
               root);
        return 77;
    }
    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx)
        return 1;
    tally t = {0, 0, 0, 0};
    run_suite(ctx, root, "node", &opt, &t);
    run_suite(ctx, root, "pytorch-converted", &opt, &t);
    sieve_context_destroy(ctx);
    printf("total: %d passed, %d failed, %d unsupported\n", t.pass, t.fail, t.unsupported);
    return t.fail > 0 || t.unexpected_unsupported > 0 ? 1 : 0;
}
