/* sieve run — runs a model on raw tensors (NumPy .npy or ONNX TensorProto
 * .pb files), writes every graph output as <name>.npy and measures latency
 * in the manner of TensorFlow Lite's benchmark_model (median/min/mean of
 * repeated runs). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "npy.h"

static const char run_usage[] =
    "usage: sieve run MODEL.sieve --input FILE [--input NAME=FILE ...]\n"
    "                 [--output-dir DIR] [--variant NAME] [--threads N] [--repeat N]\n"
    "                 [--warmup N] [--json]\n"
    "\n"
    "Runs the model on raw input tensors and writes each graph output as\n"
    "DIR/<output name>.npy (float32, C order).\n"
    "\n"
    "Inputs are NumPy .npy files (float32, float64, int64, int32 or uint8; C order)\n"
    "or ONNX TensorProto .pb files (as in the ONNX backend test data); the file's\n"
    "contents, not its extension, decide which. Values are converted to float32.\n"
    "'--input FILE' feeds the graph inputs not named elsewhere, in order;\n"
    "'--input NAME=FILE' feeds the graph input NAME. Every graph input needs one.\n"
    "FILE '-' is standard input.\n"
    "A tensor with as many elements as the model's declared input shape is\n"
    "reshaped to it; otherwise its own shape is used (e.g. another batch size).\n"
    "\n"
    "options:\n"
    "  -i, --input [NAME=]FILE  an input tensor (repeat for several inputs)\n"
    "  -o, --output-dir DIR     where to write the outputs (created if missing;\n"
    "                           default '.'). In file names, characters other than\n"
    "                           letters, digits, '.', '_' and '-' become '_'\n"
    "  --variant NAME           run the named variant of the package (see\n"
    "                           'sieve info'; default: the model's own formats)\n"
    "  -t, --threads N          worker threads (default 1)\n"
    "  -r, --repeat N           run N times and report the median, min and mean\n"
    "                           latency of the runs in ms (default 1)\n"
    "  --warmup N               untimed runs before the timed ones (default 0)\n"
    "  --json                   print one JSON object: inputs, outputs, latency_ms\n"
    "  -h, --help               show this help\n"
    "\n"
    "Latency is wall-clock time (CLOCK_MONOTONIC) of sieve_exec_run alone: model\n"
    "loading, preparation and input conversion are not included.\n";

enum {
    OPT_INPUT,
    OPT_OUTPUT_DIR,
    OPT_VARIANT,
    OPT_THREADS,
    OPT_REPEAT,
    OPT_WARMUP,
    OPT_JSON,
    OPT_HELP
};

static const cli_option run_options[] = {
    {OPT_INPUT, "input", 'i', true},     {OPT_OUTPUT_DIR, "output-dir", 'o', true},
    {OPT_VARIANT, "variant", 0, true},   {OPT_THREADS, "threads", 't', true},
    {OPT_REPEAT, "repeat", 'r', true},   {OPT_WARMUP, "warmup", 0, true},
    {OPT_JSON, "json", 0, false},        {OPT_HELP, "help", 'h', false},
};

#define MAX_INPUT_ARGS 256
#define MAX_THREADS 1024
#define MAX_REPEAT 1000000L

typedef struct run_input {
    const char *file;
    const char *name;       /* graph input name */
    const char *kind;       /* "npy" or "onnx" */
    const char *dtype;      /* npy element type, NULL for onnx */
    float *values;          /* float32 values (malloc'd) */
    size_t count;
    sieve_shape file_shape; /* shape in the file */
    sieve_shape shape;      /* shape given to the executor */
} run_input;

typedef struct run_output {
    const char *name;
    char *path;
    sieve_shape shape;
} run_output;

/* ---- inputs ------------------------------------------------------------------------ */

static int to_sieve_shape(const npy_array *a, sieve_shape *shape, char *err, size_t err_len)
{
    if (a->rank > SIEVE_MAX_RANK) {
        snprintf(err, err_len, "rank %d is more than the %d dimensions libsieve supports",
                 a->rank, SIEVE_MAX_RANK);
        return -1;
    }
    memset(shape, 0, sizeof(*shape));
    shape->rank = a->rank;
    memcpy(shape->dims, a->dims, (size_t)a->rank * sizeof(int64_t));
    return 0;
}

/* Reads one input file into `in`; prints "sieve run: FILE: ..." on error. */
static int load_input(const char *cmd, sieve_context *ctx, const char *file, run_input *in)
{
    void *data;
    size_t size;
    char err[512];
    if (cli_read_file(file, &data, &size, err, sizeof(err)) != 0) {
        cli_error(cmd, file, "%s", err);
        return -1;
    }
    int rc = 0;
    in->file = file;
    if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) {
        npy_array a;
        in->kind = "npy";
        if (npy_parse(data, size, &a, err, sizeof(err)) != 0 ||
            to_sieve_shape(&a, &in->file_shape, err, sizeof(err)) != 0) {
            npy_free(&a);
            cli_error(cmd, file, "%s", err);
            rc = -1;
        } else {
            in->dtype = npy_dtype_name(a.dtype);
            in->values = a.data;
            in->count = a.count;
        }
    } else {
        /* Not .npy: an ONNX TensorProto. Ask its size, then decode. */
        in->kind = "onnx";
        size_t n = 0;
        sieve_status st =
            sieve_onnx_read_tensor(ctx, data, size, &in->file_shape, NULL, 0, &n, NULL, 0);
        if (st == SIEVE_OK) {
            in->values = n <= SIZE_MAX / sizeof(float) ? malloc(n ? n * sizeof(float) : 1) : NULL;
            if (!in->values) {
                cli_error(cmd, file, "out of memory for %zu values", n);
                rc = -1;
            } else {
                st = sieve_onnx_read_tensor(ctx, data, size, &in->file_shape, in->values, n,
                                            &in->count, NULL, 0);
            }
        }
        if (rc == 0 && st != SIEVE_OK) {
            if (st == SIEVE_ERR_FORMAT)
                cli_error(cmd, file, "neither a NumPy .npy file nor an ONNX TensorProto (%s)",
                          sieve_context_error(ctx));
            else
                cli_error_status(cmd, file, ctx, st);
            rc = -1;
        }
    }
    free(data);
    return rc;
}

static int find_graph_input(const sieve_model *model, const char *name, size_t len)
{
    for (int i = 0; i < sieve_model_input_count(model); i++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(model, sieve_model_input(model, i), &ti) == SIEVE_OK &&
            strlen(ti.name) == len && strncmp(ti.name, name, len) == 0)
            return i;
    }
    return -1;
}

static void print_input_names(const sieve_model *model)
{
    for (int i = 0; i < sieve_model_input_count(model); i++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(model, sieve_model_input(model, i), &ti) == SIEVE_OK)
            fprintf(stderr, "%s'%s'", i ? ", " : "", ti.name);
    }
}

/* Maps the --input arguments to graph inputs: NAME=FILE where NAME is a
 * graph input, else FILE fills the next graph input not named. */
static int assign_inputs(const char *cmd, const sieve_model *model, const char *const *args,
                         int n_args, const char **files)
{
    int n_inputs = sieve_model_input_count(model);
    bool *positional = calloc((size_t)n_args + 1, sizeof(bool));
    if (!positional) {
        cli_error(cmd, NULL, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int a = 0; a < n_args && rc == 0; a++) {
        const char *eq = strchr(args[a], '=');
        int i = eq ? find_graph_input(model, args[a], (size_t)(eq - args[a])) : -1;
        struct stat st;
        if (i < 0 && eq && stat(args[a], &st) != 0) {
            fprintf(stderr, "sieve %s: --input %s: the model has no input named '%.*s' (inputs: ",
                    cmd, args[a], (int)(eq - args[a]), args[a]);
            print_input_names(model);
            fprintf(stderr, ")\n");
            rc = -1;
        } else if (i < 0) {
            positional[a] = true;
        } else if (files[i]) {
            cli_error(cmd, NULL, "input '%.*s' is given twice", (int)(eq - args[a]), args[a]);
            rc = -1;
        } else {
            files[i] = eq + 1;
        }
    }
    int next = 0;
    for (int a = 0; a < n_args && rc == 0; a++) {
        if (!positional[a])
            continue;
        while (next < n_inputs && files[next])
            next++;
        if (next == n_inputs) {
            cli_error(cmd, args[a], "more inputs given than the model's %d", n_inputs);
            rc = -1;
            break;
        }
        files[next++] = args[a];
    }
    for (int i = 0; i < n_inputs && rc == 0; i++) {
        if (!files[i]) {
            sieve_tensor_info ti;
            sieve_model_tensor(model, sieve_model_input(model, i), &ti);
            cli_error(cmd, NULL, "input '%s' is not given (use --input %s=FILE)", ti.name,
                      ti.name);
            rc = -1;
        }
    }
    free(positional);
    return rc;
}

/* The declared shape when the element counts agree (so a flat or squeezed
 * tensor fits), else the file's own shape. */
static sieve_shape executor_shape(const sieve_model *model, int input, const run_input *in)
{
    sieve_tensor_info ti;
    if (sieve_model_tensor(model, sieve_model_input(model, input), &ti) == SIEVE_OK) {
        bool fixed = ti.shape.rank > 0;
        for (int d = 0; d < ti.shape.rank; d++)
            fixed = fixed && ti.shape.dims[d] > 0;
        if (fixed && (size_t)sieve_shape_numel(&ti.shape) == in->count)
            return ti.shape;
    }
    return in->file_shape;
}

/* ---- outputs ----------------------------------------------------------------------- */

/* A file name from a tensor name: "logits/Softmax:0" -> "logits_Softmax_0". */
static void sanitize_name(const char *name, int index, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < len; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && n > 0);
        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, len, "output_%d", index);
}

static char *join_path(const char *dir, const char *file)
{
    size_t a = strlen(dir), b = strlen(file);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + b + 6);
    if (p)
        snprintf(p, a + b + 6, "%s%s%s.npy", dir, slash ? "/" : "", file);
    return p;
}

static bool path_taken(const run_output *outs, int n, const char *path)
{
    for (int j = 0; j < n; j++)
        if (strcmp(outs[j].path, path) == 0)
            return true;
    return false;
}

/* Output file paths, distinct even when sanitized names collide
 * ("a/b" and "a_b" give a_b.npy and a_b_1.npy). */
static int plan_output_paths(const sieve_model *model, const char *dir, run_output *outs, int n)
{
    for (int i = 0; i < n; i++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(model, sieve_model_output(model, i), &ti) != SIEVE_OK)
            return -1;
        outs[i].name = ti.name;
        char base[224], unique[240];
        sanitize_name(ti.name, i, base, sizeof(base));
        snprintf(unique, sizeof(unique), "%s", base);
        for (int k = 1;; k++) {
            outs[i].path = join_path(dir, unique);
            if (!outs[i].path)
                return -1;
            if (!path_taken(outs, i, outs[i].path))
                break;
            free(outs[i].path);
            outs[i].path = NULL;
            snprintf(unique, sizeof(unique), "%s_%d", base, k);
        }
    }
    return 0;
}

/* ---- timing ----------------------------------------------------------------------- */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct latency_stats {
    double median, min, mean, max;
} latency_stats;

static latency_stats summarize_latency(double *ms, long n)
{
    latency_stats s = {0, 0, 0, 0};
    if (n <= 0)
        return s;
    qsort(ms, (size_t)n, sizeof(double), compare_double);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += ms[i];
    s.min = ms[0];
    s.max = ms[n - 1];
    s.mean = sum / (double)n;
    s.median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    return s;
}

/* ---- reporting --------------------------------------------------------------------- */

static cJSON *json_shape(const sieve_shape *shape)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < shape->rank; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)shape->dims[i]));
    return a;
}

static int print_json(const char *model_path, const char *variant, const run_input *ins, int n_in,
                      const run_output *outs, int n_out, int threads, long warmup, long repeat,
                      const latency_stats *lat)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", model_path);
    if (variant)
        cJSON_AddStringToObject(root, "variant", variant);
    else
        cJSON_AddNullToObject(root, "variant");
    cJSON *inputs = cJSON_AddArrayToObject(root, "inputs");
    for (int i = 0; i < n_in; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ins[i].name);
        cJSON_AddStringToObject(o, "file", ins[i].file);
        cJSON_AddStringToObject(o, "kind", ins[i].kind);
        if (ins[i].dtype)
            cJSON_AddStringToObject(o, "dtype", ins[i].dtype);
        cJSON_AddItemToObject(o, "shape", json_shape(&ins[i].shape));
        cJSON_AddItemToArray(inputs, o);
    }
    cJSON *outputs = cJSON_AddArrayToObject(root, "outputs");
    for (int i = 0; i < n_out; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", outs[i].name);
        cJSON_AddStringToObject(o, "file", outs[i].path);
        cJSON_AddItemToObject(o, "shape", json_shape(&outs[i].shape));
        cJSON_AddItemToArray(outputs, o);
    }
    cJSON_AddNumberToObject(root, "threads", threads);
    cJSON_AddNumberToObject(root, "warmup", (double)warmup);
    cJSON_AddNumberToObject(root, "runs", (double)repeat);
    cJSON *l = cJSON_AddObjectToObject(root, "latency_ms");
    cJSON_AddNumberToObject(l, "median", lat->median);
    cJSON_AddNumberToObject(l, "min", lat->min);
    cJSON_AddNumberToObject(l, "mean", lat->mean);
    cJSON_AddNumberToObject(l, "max", lat->max);
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return -1;
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

static void print_human(const char *variant, const run_input *ins, int n_in,
                        const run_output *outs, int n_out, long repeat, const latency_stats *lat)
{
    char shape[160];
    if (variant)
        printf("variant %s\n", variant);
    for (int i = 0; i < n_in; i++)
        printf("input  %s <- %s %s (%s%s%s)\n", ins[i].name, ins[i].file,
               cli_shape_str(&ins[i].shape, shape, sizeof(shape)), ins[i].kind,
               ins[i].dtype ? " " : "", ins[i].dtype ? ins[i].dtype : "");
    for (int i = 0; i < n_out; i++)
        printf("output %s -> %s %s\n", outs[i].name, outs[i].path,
               cli_shape_str(&outs[i].shape, shape, sizeof(shape)));
    if (repeat == 1)
        printf("latency: %.3f ms\n", lat->median);
    else
        printf("latency over %ld runs: median %.3f ms, min %.3f ms, mean %.3f ms\n", repeat,
               lat->median, lat->min, lat->mean);
}

/* Replaces *model by the standalone model of its variant `name`. */
static int use_variant(const char *cmd, sieve_context *ctx, const char *path, const char *name,
                       sieve_model **model)
{
    int v = sieve_model_find_variant(*model, name);
    if (v < 0) {
        int n = sieve_model_variant_count(*model);
        fprintf(stderr, "sieve %s: %s: no variant '%s' (%s", cmd, path, name,
                n ? "variants: " : "the model has none");
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%s'%s'", i ? ", " : "", sieve_model_variant_name(*model, i));
        fprintf(stderr, ")\n");
        return -1;
    }
    sieve_model *variant = NULL;
    sieve_status st = sieve_model_extract_variant(*model, v, &variant);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, path, ctx, st);
        return -1;
    }
    sieve_model_free(*model);
    *model = variant;
    return 0;
}

/* ---- the command -------------------------------------------------------------------- */

typedef struct run_args {
    const char *model_path;
    const char *input_args[MAX_INPUT_ARGS];
    int n_input_args;
    const char *output_dir;
    const char *variant; /* NULL: the model's own formats */
    long threads, repeat, warmup;
    bool json;
} run_args;

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, run_args *a)
{
    const char *cmd = argv[0];
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, run_options,
                    (int)(sizeof(run_options) / sizeof(run_options[0])));
    for (;;) {
        const char *v;
        int id = cli_next(&p, &v);
        if (id == CLI_ARG_END)
            break;
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_HELP:
            fputs(run_usage, stdout);
            return CLI_EXIT_OK;
        case OPT_INPUT:
            if (a->n_input_args == MAX_INPUT_ARGS)
                return cli_usage_error(cmd, "more than %d --input options", MAX_INPUT_ARGS);
            if (!*v)
                return cli_usage_error(cmd, "--input: empty file name");
            a->input_args[a->n_input_args++] = v;
            break;
        case OPT_OUTPUT_DIR:
            if (!*v)
                return cli_usage_error(cmd, "--output-dir: empty directory name");
            a->output_dir = v;
            break;
        case OPT_VARIANT:
            a->variant = v;
            break;
        case OPT_THREADS:
            if (!cli_option_long(cmd, "threads", v, 1, MAX_THREADS, &a->threads))
                return CLI_EXIT_USAGE;
            break;
        case OPT_REPEAT:
            if (!cli_option_long(cmd, "repeat", v, 1, MAX_REPEAT, &a->repeat))
                return CLI_EXIT_USAGE;
            break;
        case OPT_WARMUP:
            if (!cli_option_long(cmd, "warmup", v, 0, MAX_REPEAT, &a->warmup))
                return CLI_EXIT_USAGE;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case CLI_ARG_POSITIONAL:
            if (a->model_path)
                return cli_usage_error(cmd, "unexpected argument '%s' (inputs go after --input)",
                                       v);
            a->model_path = v;
            break;
        }
    }
    if (!a->model_path)
        return cli_usage_error(cmd, "missing MODEL.sieve");
    if (a->n_input_args == 0)
        return cli_usage_error(cmd, "missing --input FILE");
    return -1;
}

int cmd_run(int argc, char **argv)
{
    const char *cmd = argv[0];
    run_args a;
    memset(&a, 0, sizeof(a));
    a.output_dir = ".";
    a.threads = 1;
    a.repeat = 1;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = CLI_EXIT_FAILURE;

    sieve_context_options copts = {.allocator = NULL, .threads = (int)a.threads};
    sieve_context *ctx = sieve_context_create(&copts);
    sieve_model *model = NULL;
    sieve_exec_options eopts;
    sieve_exec *exec = NULL;
    run_input *ins = NULL;
    run_output *outs = NULL;
    const char **files = NULL;
    sieve_shape *shapes = NULL;
    double *ms = NULL;
    float *values = NULL;
    int n_in = 0, n_out = 0;
    latency_stats lat;
    char err[512];
    if (!ctx) {
        cli_error(cmd, NULL, "out of memory");
        return CLI_EXIT_FAILURE;
    }

    sieve_status st = sieve_model_load_file(ctx, a.model_path, &model);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a.model_path, ctx, st);
        goto done;
    }
    if (a.variant && use_variant(cmd, ctx, a.model_path, a.variant, &model) != 0)
        goto done;
    n_in = sieve_model_input_count(model);
    n_out = sieve_model_output_count(model);
    ins = calloc((size_t)n_in + 1, sizeof(*ins));
    files = calloc((size_t)n_in + 1, sizeof(*files));
    shapes = calloc((size_t)n_in + 1, sizeof(*shapes));
    outs = calloc((size_t)n_out + 1, sizeof(*outs));
    ms = calloc((size_t)a.repeat, sizeof(double));
    if (!ins || !files || !shapes || !outs || !ms) {
        cli_error(cmd, NULL, "out of memory");
        goto done;
    }
    if (assign_inputs(cmd, model, a.input_args, a.n_input_args, files) != 0)
        goto done;
    for (int i = 0; i < n_in; i++) {
        if (load_input(cmd, ctx, files[i], &ins[i]) != 0)
            goto done;
        sieve_tensor_info ti;
        sieve_model_tensor(model, sieve_model_input(model, i), &ti);
        ins[i].name = ti.name;
        ins[i].shape = shapes[i] = executor_shape(model, i, &ins[i]);
    }

    memset(&eopts, 0, sizeof(eopts)); /* later fields keep their defaults */
    eopts.threads = (int)a.threads;
    eopts.input_shapes = shapes;
    st = sieve_exec_create(model, &eopts, &exec);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a.model_path, ctx, st);
        goto done;
    }

    /* Inputs are set once: the executor keeps them for every run. */
    for (int i = 0; i < n_in; i++) {
        st = sieve_exec_set_input(exec, i, ins[i].values, ins[i].count);
        if (st != SIEVE_OK) {
            cli_error_status(cmd, ins[i].file, ctx, st);
            goto done;
        }
    }
    /* Warm-up, then timed runs. */
    for (long r = -a.warmup; r < a.repeat; r++) {
        double t0 = cli_now_ms();
        st = sieve_exec_run(exec);
        double t1 = cli_now_ms();
        if (st != SIEVE_OK) {
            cli_error_status(cmd, a.model_path, ctx, st);
            goto done;
        }
        if (r >= 0)
            ms[r] = t1 - t0;
    }
    lat = summarize_latency(ms, a.repeat);

    if (cli_make_dirs(a.output_dir, err, sizeof(err)) != 0) {
        cli_error(cmd, a.output_dir, "%s", err);
        goto done;
    }
    if (plan_output_paths(model, a.output_dir, outs, n_out) != 0) {
        cli_error(cmd, NULL, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_out; i++) {
        sieve_exec_tensor_shape(exec, sieve_model_output(model, i), &outs[i].shape);
        int64_t n = sieve_shape_numel(&outs[i].shape);
        if (n <= 0 || (uint64_t)n > SIZE_MAX / sizeof(float)) {
            cli_error(cmd, a.model_path, "output '%s' has no usable shape", outs[i].name);
            goto done;
        }
        free(values);
        values = malloc((size_t)n * sizeof(float));
        if (!values) {
            cli_error(cmd, NULL, "out of memory for output '%s'", outs[i].name);
            goto done;
        }
        st = sieve_exec_get_output(exec, i, values, (size_t)n);
        if (st != SIEVE_OK) {
            cli_error_status(cmd, a.model_path, ctx, st);
            goto done;
        }
        if (npy_write_file(outs[i].path, values, outs[i].shape.dims, outs[i].shape.rank, err,
                           sizeof(err)) != 0) {
            cli_error(cmd, outs[i].path, "%s", err);
            goto done;
        }
    }

    if (a.json) {
        if (print_json(a.model_path, a.variant, ins, n_in, outs, n_out, (int)a.threads, a.warmup, a.repeat,
                       &lat) != 0) {
            cli_error(cmd, NULL, "out of memory building JSON");
            goto done;
        }
    } else {
        print_human(a.variant, ins, n_in, outs, n_out, a.repeat, &lat);
    }
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;

done:
    free(values);
    for (int i = 0; ins && i < n_in; i++)
        free(ins[i].values);
    for (int i = 0; outs && i < n_out; i++)
        free(outs[i].path);
    free(ins);
    free(outs);
    free(files);
    free(shapes);
    free(ms);
    sieve_exec_free(exec);
    sieve_model_free(model);
    sieve_context_destroy(ctx);
    return rc;
}
