/* sieve info — what a .sieve model holds and what running it costs:
 * layers, tensors and their storage formats, parameter and weight bytes,
 * MACs, and the executor's activation memory plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char info_usage[] =
    "usage: sieve info MODEL.sieve [--json]\n"
    "\n"
    "Shows what a model holds and what one inference costs:\n"
    "  layers   name, op, output shape, parameters, multiply-accumulates (MACs)\n"
    "  tensors  name, role, shape, storage format (fp32 or custom float\n"
    "           cf(eE,mM,bB) / unsigned ucf(...)), bytes\n"
    "  totals   parameters, weight bytes and their share of fp32 storage,\n"
    "           MACs per inference, activation memory planned by the executor\n"
    "           (peak with buffers reused by tensor lifetime, and the sum\n"
    "           without reuse)\n"
    "  and the class labels, image preprocessing, metadata and variants (named\n"
    "  sets of storage formats, e.g. exact / accurate / approximate) it carries.\n"
    "An edge package (sieve explore) also shows each variant's format of every\n"
    "tensor (one column per variant), its average bits per weight and per\n"
    "activation element, weight bytes vs fp32, and its detector calibration:\n"
    "score, temperature, threshold, replay fraction and accuracy with replay\n"
    "on the calibration data against the original's.\n"
    "\n"
    "Shapes, MACs and memory come from preparing the model with the input\n"
    "shapes it declares; if that fails the reason is shown instead.\n"
    "\n"
    "options:\n"
    "  --json      print one JSON object instead of tables\n"
    "  -h, --help  show this help\n";

/* Metadata keys shown (the API looks values up by key). */
static const char *const known_metadata[] = {"source", "importer", "description", "variant"};

enum { OPT_JSON, OPT_HELP };

static const cli_option info_options[] = {
    {OPT_JSON, "json", 0, false},
    {OPT_HELP, "help", 'h', false},
};

static const char *role_name(sieve_tensor_role role)
{
    switch (role) {
    case SIEVE_TENSOR_INPUT:
        return "input";
    case SIEVE_TENSOR_CONSTANT:
        return "constant";
    case SIEVE_TENSOR_ACTIVATION:
        return "activation";
    }
    return "unknown";
}

/* Everything info prints, gathered once for both output styles. */
typedef struct model_summary {
    const char *path;
    const sieve_model *model;
    const sieve_exec *exec;  /* NULL when preparing failed */
    const char *prepare_error; /* why exec is NULL */
    uint64_t params, weight_bytes; /* over constant tensors */
    int n_variants;
    int64_t *variant_weight_bytes; /* per variant; -1 if it cannot be extracted */
    sieve_model **variants;        /* extracted (NULL if that failed) */
    double *variant_bits;          /* per variant: bits per weight, per activation */
} model_summary;

/* Shape after prepare when available, else the declared one; rank -1 for
 * an activation whose shape is unknown because preparing failed. */
static sieve_shape tensor_shape(const model_summary *s, int t, const sieve_tensor_info *ti)
{
    sieve_shape shape = ti->shape;
    if (s->exec)
        sieve_exec_tensor_shape(s->exec, t, &shape);
    else if (ti->role == SIEVE_TENSOR_ACTIVATION)
        shape.rank = -1;
    return shape;
}

/* Stored bytes of a constant, planned bytes otherwise; -1 when unknown. */
static int64_t tensor_bytes(const model_summary *s, int t, const sieve_tensor_info *ti)
{
    if (ti->role == SIEVE_TENSOR_CONSTANT)
        return (int64_t)ti->bytes;
    sieve_shape shape = tensor_shape(s, t, ti);
    int64_t n = shape.rank >= 0 ? sieve_shape_numel(&shape) : -1;
    return n > 0 ? (int64_t)sieve_format_bytes(&ti->format, (size_t)n) : -1;
}

static const char *shape_str(const sieve_shape *shape, char *buf, size_t len)
{
    if (shape->rank < 0) {
        snprintf(buf, len, "?");
        return buf;
    }
    return cli_shape_str(shape, buf, len);
}

static uint64_t constant_bytes(const sieve_model *m)
{
    uint64_t bytes = 0;
    for (int t = 0; t < sieve_model_tensor_count(m); t++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(m, t, &ti) == SIEVE_OK && ti.role == SIEVE_TENSOR_CONSTANT)
            bytes += ti.bytes;
    }
    return bytes;
}

/* Returns -1 when out of memory. */
static int summarize(model_summary *s)
{
    s->params = 0;
    s->weight_bytes = constant_bytes(s->model);
    for (int t = 0; t < sieve_model_tensor_count(s->model); t++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(s->model, t, &ti) != SIEVE_OK || ti.role != SIEVE_TENSOR_CONSTANT)
            continue;
        int64_t numel = sieve_shape_numel(&ti.shape);
        s->params += numel > 0 ? (uint64_t)numel : 0;
    }
    /* A variant's weight size is that of the standalone model it extracts to. */
    s->n_variants = sieve_model_variant_count(s->model);
    size_t nv = (size_t)s->n_variants + 1;
    s->variant_weight_bytes = calloc(nv, sizeof(int64_t));
    s->variants = calloc(nv, sizeof(sieve_model *));
    s->variant_bits = calloc(2 * nv, sizeof(double));
    if (!s->variant_weight_bytes || !s->variants || !s->variant_bits)
        return -1;
    for (int v = 0; v < s->n_variants; v++) {
        s->variant_weight_bytes[v] = -1;
        if (sieve_model_extract_variant(s->model, v, &s->variants[v]) != SIEVE_OK)
            continue;
        s->variant_weight_bytes[v] = (int64_t)constant_bytes(s->variants[v]);
        /* element-weighted average widths; activation sizes from the plan */
        double bits[2] = {0, 0}, elems[2] = {0, 0};
        for (int t = 0; t < sieve_model_tensor_count(s->variants[v]); t++) {
            sieve_tensor_info ti;
            if (sieve_model_tensor(s->variants[v], t, &ti) != SIEVE_OK)
                continue;
            sieve_shape shape = tensor_shape(s, t, &ti);
            int64_t n = shape.rank >= 0 ? sieve_shape_numel(&shape) : -1;
            if (n <= 0)
                continue;
            int k = ti.role == SIEVE_TENSOR_CONSTANT ? 0 : 1;
            bits[k] += (double)n * sieve_format_width(&ti.format);
            elems[k] += (double)n;
        }
        for (int k = 0; k < 2; k++)
            s->variant_bits[2 * v + k] = elems[k] > 0 ? bits[k] / elems[k] : -1;
    }
    return 0;
}

static double ratio_vs_fp32(const model_summary *s, uint64_t bytes)
{
    return s->params ? (double)bytes / ((double)s->params * 4.0) : 0.0;
}

/* ---- JSON ------------------------------------------------------------------------ */

static cJSON *json_shape(const sieve_shape *shape)
{
    if (shape->rank < 0)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < shape->rank; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape->dims[i]));
    return a;
}

static cJSON *json_tensor_names(const sieve_model *m, const int *idx, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        sieve_tensor_info ti;
        if (idx[i] >= 0 && sieve_model_tensor(m, idx[i], &ti) == SIEVE_OK)
            cJSON_AddItemToArray(a, cJSON_CreateString(ti.name));
        else
            cJSON_AddItemToArray(a, cJSON_CreateNull());
    }
    return a;
}

static cJSON *json_io(const model_summary *s, bool outputs)
{
    cJSON *a = cJSON_CreateArray();
    int n = outputs ? sieve_model_output_count(s->model) : sieve_model_input_count(s->model);
    for (int i = 0; a && i < n; i++) {
        int t = outputs ? sieve_model_output(s->model, i) : sieve_model_input(s->model, i);
        sieve_tensor_info ti;
        if (sieve_model_tensor(s->model, t, &ti) != SIEVE_OK)
            continue;
        sieve_shape shape = tensor_shape(s, t, &ti);
        char fmt[48];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ti.name);
        cJSON_AddItemToObject(o, "shape", json_shape(&shape));
        cJSON_AddStringToObject(o, "format", sieve_format_str(&ti.format, fmt, sizeof(fmt)));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *build_json(const model_summary *s)
{
    const sieve_model *m = s->model;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", s->path);
    cJSON_AddItemToObject(root, "inputs", json_io(s, false));
    cJSON_AddItemToObject(root, "outputs", json_io(s, true));
    if (s->prepare_error)
        cJSON_AddStringToObject(root, "prepare_error", s->prepare_error);

    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int i = 0; i < sieve_model_layer_count(m); i++) {
        sieve_layer_info li;
        if (sieve_model_layer(m, i, &li) != SIEVE_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", li.name);
        cJSON_AddStringToObject(o, "op", li.op);
        cJSON_AddItemToObject(o, "inputs", json_tensor_names(m, li.inputs, li.n_inputs));
        cJSON_AddItemToObject(o, "outputs", json_tensor_names(m, li.outputs, li.n_outputs));
        sieve_tensor_info out;
        if (li.n_outputs > 0 && sieve_model_tensor(m, li.outputs[0], &out) == SIEVE_OK) {
            sieve_shape shape = tensor_shape(s, li.outputs[0], &out);
            cJSON_AddItemToObject(o, "output_shape", json_shape(&shape));
        }
        cJSON_AddNumberToObject(o, "params", (double)li.params);
        if (s->exec)
            cJSON_AddNumberToObject(o, "macs", (double)sieve_exec_layer_macs(s->exec, i));
        else
            cJSON_AddNullToObject(o, "macs");
        cJSON_AddItemToArray(layers, o);
    }

    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int t = 0; t < sieve_model_tensor_count(m); t++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(m, t, &ti) != SIEVE_OK)
            continue;
        sieve_shape shape = tensor_shape(s, t, &ti);
        char fmt[48];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ti.name);
        cJSON_AddStringToObject(o, "role", role_name(ti.role));
        cJSON_AddBoolToObject(o, "is_output", ti.is_output);
        cJSON_AddItemToObject(o, "shape", json_shape(&shape));
        cJSON_AddStringToObject(o, "format", sieve_format_str(&ti.format, fmt, sizeof(fmt)));
        if (s->n_variants > 0) {
            cJSON *vf = cJSON_AddObjectToObject(o, "variant_formats");
            for (int v = 0; v < s->n_variants; v++) {
                sieve_tensor_info vi;
                if (s->variants[v] && sieve_model_tensor(s->variants[v], t, &vi) == SIEVE_OK)
                    cJSON_AddStringToObject(vf, sieve_model_variant_name(m, v),
                                            sieve_format_str(&vi.format, fmt, sizeof(fmt)));
            }
        }
        int64_t bytes = tensor_bytes(s, t, &ti);
        if (bytes >= 0)
            cJSON_AddNumberToObject(o, "bytes", (double)bytes);
        else
            cJSON_AddNullToObject(o, "bytes");
        cJSON_AddItemToArray(tensors, o);
    }

    cJSON *totals = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(totals, "layers", sieve_model_layer_count(m));
    cJSON_AddNumberToObject(totals, "parameters", (double)s->params);
    cJSON_AddNumberToObject(totals, "weight_bytes", (double)s->weight_bytes);
    cJSON_AddNumberToObject(totals, "weight_bytes_fp32", (double)s->params * 4.0);
    cJSON_AddNumberToObject(totals, "weight_ratio_vs_fp32", ratio_vs_fp32(s, s->weight_bytes));
    if (s->exec) {
        cJSON_AddNumberToObject(totals, "macs", (double)sieve_exec_macs(s->exec));
        cJSON_AddNumberToObject(totals, "activation_peak_bytes",
                                (double)sieve_exec_arena_bytes(s->exec));
        cJSON_AddNumberToObject(totals, "activation_no_reuse_bytes",
                                (double)sieve_exec_activation_bytes_total(s->exec));
    } else {
        cJSON_AddNullToObject(totals, "macs");
        cJSON_AddNullToObject(totals, "activation_peak_bytes");
        cJSON_AddNullToObject(totals, "activation_no_reuse_bytes");
    }

    int n_labels = sieve_model_label_count(m);
    cJSON_AddNumberToObject(root, "label_count", n_labels);
    cJSON *labels = cJSON_AddArrayToObject(root, "labels");
    for (int i = 0; i < n_labels; i++) {
        const char *label = sieve_model_label(m, i);
        cJSON_AddItemToArray(labels, cJSON_CreateString(label ? label : ""));
    }

    sieve_preprocess pre;
    if (sieve_model_preprocess(m, &pre) == SIEVE_OK) {
        cJSON *p = cJSON_AddObjectToObject(root, "preprocess");
        cJSON_AddNumberToObject(p, "channels", pre.channels);
        cJSON_AddNumberToObject(p, "height", pre.height);
        cJSON_AddNumberToObject(p, "width", pre.width);
        cJSON_AddNumberToObject(p, "scale", pre.scale);
        int nc = pre.channels > 0 ? pre.channels : 1;
        cJSON *mean = cJSON_AddArrayToObject(p, "mean");
        cJSON *std = cJSON_AddArrayToObject(p, "std");
        for (int c = 0; c < nc && c < 4; c++) {
            cJSON_AddItemToArray(mean, cJSON_CreateNumber(pre.mean[c]));
            cJSON_AddItemToArray(std, cJSON_CreateNumber(pre.std[c]));
        }
    } else {
        cJSON_AddNullToObject(root, "preprocess");
    }

    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (size_t k = 0; k < sizeof(known_metadata) / sizeof(known_metadata[0]); k++) {
        const char *v = sieve_model_metadata(m, known_metadata[k]);
        if (v)
            cJSON_AddStringToObject(meta, known_metadata[k], v);
    }

    cJSON *variants = cJSON_AddArrayToObject(root, "variants");
    for (int v = 0; v < s->n_variants; v++) {
        cJSON *o = cJSON_CreateObject();
        const char *calibration = sieve_model_variant_calibration(m, v);
        cJSON_AddStringToObject(o, "name", sieve_model_variant_name(m, v));
        if (s->variant_weight_bytes[v] >= 0) {
            cJSON_AddNumberToObject(o, "weight_bytes", (double)s->variant_weight_bytes[v]);
            cJSON_AddNumberToObject(o, "weight_ratio_vs_fp32",
                                    ratio_vs_fp32(s, (uint64_t)s->variant_weight_bytes[v]));
        } else {
            cJSON_AddNullToObject(o, "weight_bytes");
            cJSON_AddNullToObject(o, "weight_ratio_vs_fp32");
        }
        for (int k = 0; k < 2; k++) {
            const char *key = k ? "activation_bits" : "weight_bits";
            if (s->variant_bits[2 * v + k] >= 0)
                cJSON_AddNumberToObject(o, key, s->variant_bits[2 * v + k]);
            else
                cJSON_AddNullToObject(o, key);
        }
        cJSON_AddNumberToObject(o, "calibration_bytes",
                                calibration ? (double)strlen(calibration) : 0.0);
        cJSON *cal = calibration && *calibration ? cJSON_Parse(calibration) : NULL;
        if (cal) {
            cJSON_DeleteItemFromObject(cal, "curve"); /* the summary, not the whole curve */
            cJSON_AddItemToObject(o, "calibration", cal);
        } else {
            cJSON_AddNullToObject(o, "calibration");
        }
        cJSON_AddItemToArray(variants, o);
    }
    return root;
}

/* ---- tables -------------------------------------------------------------------- */

#define MAX_COLS 10 /* 6 + up to 4 variant format columns */
#define CELL 96

typedef void (*row_fn)(const model_summary *s, int row, char cells[MAX_COLS][CELL]);

/* Prints a header and n rows with columns padded to their widest cell;
 * numeric columns (right_align bit set) are right-aligned. */
static void print_table(const model_summary *s, const char *const *header, int cols,
                        unsigned right_align, int n, row_fn fill)
{
    int width[MAX_COLS];
    char cells[MAX_COLS][CELL];
    for (int c = 0; c < cols; c++)
        width[c] = (int)strlen(header[c]);
    for (int r = 0; r < n; r++) {
        fill(s, r, cells);
        for (int c = 0; c < cols; c++) {
            int w = (int)strlen(cells[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (int r = -1; r < n; r++) {
        if (r >= 0)
            fill(s, r, cells);
        printf(" ");
        for (int c = 0; c < cols; c++) {
            const char *text = r < 0 ? header[c] : cells[c];
            bool right = (right_align >> c) & 1u;
            if (c == cols - 1 && !right)
                printf(" %s", text);
            else
                printf(" %*s", right ? width[c] : -width[c], text);
        }
        printf("\n");
    }
}

static void layer_row(const model_summary *s, int i, char cells[MAX_COLS][CELL])
{
    sieve_layer_info li;
    memset(cells, 0, MAX_COLS * CELL);
    if (sieve_model_layer(s->model, i, &li) != SIEVE_OK)
        return;
    snprintf(cells[0], CELL, "%d", i);
    snprintf(cells[1], CELL, "%s", li.name);
    snprintf(cells[2], CELL, "%s", li.op);
    sieve_tensor_info out;
    if (li.n_outputs > 0 && sieve_model_tensor(s->model, li.outputs[0], &out) == SIEVE_OK) {
        sieve_shape shape = tensor_shape(s, li.outputs[0], &out);
        shape_str(&shape, cells[3], CELL);
    }
    snprintf(cells[4], CELL, "%llu", (unsigned long long)li.params);
    if (s->exec)
        snprintf(cells[5], CELL, "%llu", (unsigned long long)sieve_exec_layer_macs(s->exec, i));
    else
        snprintf(cells[5], CELL, "?");
}

static void tensor_row(const model_summary *s, int t, char cells[MAX_COLS][CELL])
{
    sieve_tensor_info ti;
    memset(cells, 0, MAX_COLS * CELL);
    if (sieve_model_tensor(s->model, t, &ti) != SIEVE_OK)
        return;
    sieve_shape shape = tensor_shape(s, t, &ti);
    snprintf(cells[0], CELL, "%d", t);
    snprintf(cells[1], CELL, "%s", ti.name);
    snprintf(cells[2], CELL, "%s%s", role_name(ti.role), ti.is_output ? ", output" : "");
    shape_str(&shape, cells[3], CELL);
    sieve_format_str(&ti.format, cells[4], CELL);
    int64_t bytes = tensor_bytes(s, t, &ti);
    if (bytes >= 0)
        snprintf(cells[5], CELL, "%lld", (long long)bytes);
    else
        snprintf(cells[5], CELL, "?");
    for (int v = 0; v < s->n_variants && 6 + v < MAX_COLS; v++) {
        sieve_tensor_info vi;
        if (s->variants[v] && sieve_model_tensor(s->variants[v], t, &vi) == SIEVE_OK)
            sieve_format_str(&vi.format, cells[6 + v], CELL);
        else
            snprintf(cells[6 + v], CELL, "?");
    }
}

static void variant_row(const model_summary *s, int v, char cells[MAX_COLS][CELL])
{
    memset(cells, 0, MAX_COLS * CELL);
    const char *calibration = sieve_model_variant_calibration(s->model, v);
    snprintf(cells[0], CELL, "%d", v);
    snprintf(cells[1], CELL, "%s", sieve_model_variant_name(s->model, v));
    int64_t bytes = s->variant_weight_bytes[v];
    if (bytes >= 0) {
        cli_amount_str((uint64_t)bytes, true, cells[2], CELL);
        snprintf(cells[3], CELL, "%.1f%%", 100.0 * ratio_vs_fp32(s, (uint64_t)bytes));
    } else {
        snprintf(cells[2], CELL, "?");
        snprintf(cells[3], CELL, "?");
    }
    for (int k = 0; k < 2; k++) {
        double b = s->variant_bits[2 * v + k];
        snprintf(cells[4 + k], CELL, b >= 0 ? "%.2f" : "?", b);
    }
    /* the calibration summary: score (T) >= threshold -> replay, accuracy */
    cJSON *cal = calibration && *calibration ? cJSON_Parse(calibration) : NULL;
    const cJSON *score = cJSON_GetObjectItem(cal, "score");
    const cJSON *temp = cJSON_GetObjectItem(cal, "temperature");
    const cJSON *thr = cJSON_GetObjectItem(cal, "threshold");
    const cJSON *replay = cJSON_GetObjectItem(cal, "replay_fraction");
    const cJSON *acc = cJSON_GetObjectItem(cal, "accuracy_with_replay");
    const cJSON *orig = cJSON_GetObjectItem(cal, "original_accuracy");
    if (cJSON_IsString(score) && cJSON_IsNumber(thr) && cJSON_IsNumber(replay) &&
        cJSON_IsNumber(acc) && cJSON_IsNumber(orig))
        snprintf(cells[6], CELL, "%s (T %.2f) < %.4g: replay %.2f%%, accuracy %.4f (original %.4f)",
                 score->valuestring, cJSON_IsNumber(temp) ? temp->valuedouble : 1.0,
                 thr->valuedouble, 100 * replay->valuedouble, acc->valuedouble,
                 orig->valuedouble);
    else
        snprintf(cells[6], CELL, "%s", calibration && *calibration ? "(unreadable)" : "none");
    cJSON_Delete(cal);
}

static void print_io(const model_summary *s, bool outputs)
{
    int n = outputs ? sieve_model_output_count(s->model) : sieve_model_input_count(s->model);
    printf("%-9s", outputs ? "outputs:" : "inputs:");
    for (int i = 0; i < n; i++) {
        int t = outputs ? sieve_model_output(s->model, i) : sieve_model_input(s->model, i);
        sieve_tensor_info ti;
        if (sieve_model_tensor(s->model, t, &ti) != SIEVE_OK)
            continue;
        sieve_shape shape = tensor_shape(s, t, &ti);
        char sh[CELL], fmt[48];
        printf("%s%s %s %s", i ? ", " : " ", ti.name, shape_str(&shape, sh, sizeof(sh)),
               sieve_format_str(&ti.format, fmt, sizeof(fmt)));
    }
    printf("\n");
}

static void print_human(const model_summary *s)
{
    const sieve_model *m = s->model;
    char a[64], b[64];
    printf("model:   %s\n", s->path);
    print_io(s, false);
    print_io(s, true);
    if (s->prepare_error)
        printf("note:    cannot prepare the model (%s); shapes, MACs and memory unknown\n",
               s->prepare_error);

    int n_layers = sieve_model_layer_count(m);
    printf("\nlayers (%d):\n", n_layers);
    static const char *const layer_header[] = {"#", "name", "op", "output", "params", "MACs"};
    print_table(s, layer_header, 6, 1u << 0 | 1u << 4 | 1u << 5, n_layers, layer_row);

    int n_tensors = sieve_model_tensor_count(m);
    printf("\ntensors (%d):\n", n_tensors);
    const char *tensor_header[MAX_COLS] = {"#", "name", "role", "shape", "format", "bytes"};
    int tensor_cols = 6;
    for (int v = 0; v < s->n_variants && tensor_cols < MAX_COLS; v++)
        tensor_header[tensor_cols++] = sieve_model_variant_name(m, v);
    if (s->n_variants > MAX_COLS - 6)
        printf("(formats of the first %d of %d variants shown; --json has all)\n", MAX_COLS - 6,
               s->n_variants);
    print_table(s, tensor_header, tensor_cols, 1u << 0 | 1u << 5, n_tensors, tensor_row);

    printf("\ntotals:\n");
    printf("  parameters          %s\n", cli_amount_str(s->params, false, a, sizeof(a)));
    printf("  weights             %s\n", cli_amount_str(s->weight_bytes, true, a, sizeof(a)));
    if (s->params)
        printf("  vs fp32             %.1f%% of %s\n", 100.0 * ratio_vs_fp32(s, s->weight_bytes),
               cli_amount_str(s->params * 4, true, b, sizeof(b)));
    if (s->exec) {
        printf("  MACs per inference  %s\n",
               cli_amount_str(sieve_exec_macs(s->exec), false, a, sizeof(a)));
        printf("  activation memory   %s planned peak, %s without reuse\n",
               cli_amount_str(sieve_exec_arena_bytes(s->exec), true, a, sizeof(a)),
               cli_amount_str(sieve_exec_activation_bytes_total(s->exec), true, b, sizeof(b)));
    }

    int n_labels = sieve_model_label_count(m);
    printf("\nlabels:     %d", n_labels);
    for (int i = 0; i < n_labels && i < 5; i++)
        printf("%s%s", i ? ", " : " (", sieve_model_label(m, i));
    printf("%s\n", n_labels > 5 ? ", ...)" : n_labels > 0 ? ")" : "");

    sieve_preprocess pre;
    if (sieve_model_preprocess(m, &pre) == SIEVE_OK) {
        printf("preprocess: %dx%dx%d (channels x height x width), x = (pixel * %g - mean) / std,"
               " mean",
               pre.channels, pre.height, pre.width, (double)pre.scale);
        int nc = pre.channels > 0 && pre.channels <= 4 ? pre.channels : 1;
        for (int c = 0; c < nc; c++)
            printf("%s%g", c ? "," : " ", (double)pre.mean[c]);
        printf(" std");
        for (int c = 0; c < nc; c++)
            printf("%s%g", c ? "," : " ", (double)pre.std[c]);
        printf("\n");
    } else {
        printf("preprocess: none\n");
    }
    printf("metadata:");
    int shown = 0;
    for (size_t k = 0; k < sizeof(known_metadata) / sizeof(known_metadata[0]); k++) {
        const char *v = sieve_model_metadata(m, known_metadata[k]);
        if (v) {
            printf("\n  %s: %s", known_metadata[k], v);
            shown++;
        }
    }
    printf("%s\n", shown ? "" : "   none");

    if (s->n_variants == 0) {
        printf("variants:   none\n");
        return;
    }
    printf("\nvariants (%d):\n", s->n_variants);
    static const char *const variant_header[] = {"#",         "name",     "weights",
                                                 "vs fp32",   "bits/w",   "bits/act",
                                                 "detector calibration"};
    print_table(s, variant_header, 7, 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5,
                s->n_variants, variant_row);
}

int cmd_info(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *path = NULL;
    bool json = false;
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, info_options,
                    (int)(sizeof(info_options) / sizeof(info_options[0])));
    for (;;) {
        const char *value;
        int id = cli_next(&p, &value);
        if (id == CLI_ARG_END)
            break;
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_HELP:
            fputs(info_usage, stdout);
            return CLI_EXIT_OK;
        case OPT_JSON:
            json = true;
            break;
        case CLI_ARG_POSITIONAL:
            if (path)
                return cli_usage_error(cmd, "unexpected argument '%s'", value);
            path = value;
            break;
        }
    }
    if (!path)
        return cli_usage_error(cmd, "missing MODEL.sieve");

    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx) {
        cli_error(cmd, NULL, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    sieve_model *model = NULL;
    sieve_status st = sieve_model_load_file(ctx, path, &model);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, path, ctx, st);
        sieve_context_destroy(ctx);
        return CLI_EXIT_FAILURE;
    }
    model_summary s = {.path = path, .model = model};
    sieve_exec *exec = NULL;
    char prepare_error[512] = "";
    st = sieve_exec_create(model, NULL, &exec);
    if (st != SIEVE_OK) {
        const char *why = sieve_context_error(ctx);
        snprintf(prepare_error, sizeof(prepare_error), "%s", *why ? why : sieve_status_str(st));
        s.prepare_error = prepare_error;
    }
    s.exec = exec;
    int rc = CLI_EXIT_OK;
    if (summarize(&s) != 0) {
        cli_error(cmd, path, "out of memory");
        rc = CLI_EXIT_FAILURE;
    } else if (json) {
        cJSON *root = build_json(&s);
        char *text = root ? cJSON_PrintUnformatted(root) : NULL;
        if (text) {
            printf("%s\n", text);
            cJSON_free(text);
        } else {
            cli_error(cmd, path, "out of memory building JSON");
            rc = CLI_EXIT_FAILURE;
        }
        cJSON_Delete(root);
    } else {
        print_human(&s);
    }
    if (fflush(stdout) != 0) {
        cli_error(cmd, NULL, "cannot write output");
        rc = CLI_EXIT_FAILURE;
    }
    for (int v = 0; v < s.n_variants && s.variants; v++)
        sieve_model_free(s.variants[v]);
    free(s.variants);
    free(s.variant_bits);
    free(s.variant_weight_bytes);
    sieve_exec_free(exec);
    sieve_model_free(model);
    sieve_context_destroy(ctx);
    return rc;
}
