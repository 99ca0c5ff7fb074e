/* sieve import — converts an ONNX model into a .sieve model file, adding
 * class labels, image preprocessing and metadata. The file is written
 * under a temporary name and renamed, so a failure never leaves half a
 * model behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char import_usage[] =
    "usage: sieve import MODEL.onnx -o OUT.sieve [--labels FILE]\n"
    "                    [--mean M[,M2,M3]] [--std S[,S2,S3]] [--scale F]\n"
    "                    [--meta KEY=VALUE ...]\n"
    "\n"
    "Converts an ONNX model (as exported by PyTorch, TensorFlow or Keras) into a\n"
    "libsieve model file with fp32 weights, folding batch normalization.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.sieve  the file to write (required); written as OUT.sieve.tmp\n"
    "                          and renamed when complete\n"
    "  --labels FILE           class labels, one per line in output order; leading\n"
    "                          and trailing blanks are trimmed, empty lines at the\n"
    "                          end ignored\n"
    "  --mean M[,M2,M3]        per-channel mean (one value applies to every channel)\n"
    "  --std S[,S2,S3]         per-channel standard deviation, non-zero\n"
    "  --scale F               pixel scale, e.g. 0.00392157 for 1/255\n"
    "  --meta KEY=VALUE        metadata to store (repeatable; later values win)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Preprocessing: images are fed as x = (pixel * scale - mean[c]) / std[c] with\n"
    "pixel values 0..255. Channels, height and width come from the first graph\n"
    "input's shape [N, C, H, W] (C at most 4). Defaults: --scale 1/255, --mean 0,\n"
    "--std 1, i.e. pixels mapped to [0, 1]. For other input shapes preprocessing\n"
    "is not stored, and --mean/--std/--scale are an error.\n"
    "\n"
    "Metadata 'source' (the ONNX file's name) and 'importer' are always stored.\n";

enum { OPT_OUTPUT, OPT_LABELS, OPT_MEAN, OPT_STD, OPT_SCALE, OPT_META, OPT_HELP };

static const cli_option import_options[] = {
    {OPT_OUTPUT, "output", 'o', true}, {OPT_LABELS, "labels", 0, true},
    {OPT_MEAN, "mean", 0, true},       {OPT_STD, "std", 0, true},
    {OPT_SCALE, "scale", 0, true},     {OPT_META, "meta", 0, true},
    {OPT_HELP, "help", 'h', false},
};

#define MAX_META 256

typedef struct import_args {
    const char *onnx_path, *out_path, *labels_path;
    float mean[4], std[4], scale;
    int n_mean, n_std;
    bool has_scale;
    const char *meta[MAX_META];
    int n_meta;
} import_args;

/* ---- labels -------------------------------------------------------------------------- */

typedef struct label_list {
    char *text; /* the file, split in place */
    char **labels;
    int count;
} label_list;

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* One label per line, trimmed; an empty line before the last label is an
 * error (it would shift every following class index). */
static int read_labels(const char *cmd, const char *path, label_list *out)
{
    void *data;
    size_t size;
    char err[256];
    memset(out, 0, sizeof(*out));
    if (cli_read_file(path, &data, &size, err, sizeof(err)) != 0) {
        cli_error(cmd, path, "%s", err);
        return -1;
    }
    char *text = realloc(data, size + 1);
    if (!text) {
        free(data);
        cli_error(cmd, path, "out of memory");
        return -1;
    }
    text[size] = '\0';
    if (strlen(text) != size) {
        free(text);
        cli_error(cmd, path, "not a text file (contains a NUL byte)");
        return -1;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    char **labels = calloc(lines, sizeof(char *));
    if (!labels || lines > (size_t)1 << 24) {
        free(text);
        free(labels);
        cli_error(cmd, path, "too many lines");
        return -1;
    }
    int count = 0, first_empty = 0;
    char *line = text;
    for (size_t n = 1; line; n++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        while (is_blank(*line))
            line++;
        size_t len = strlen(line);
        while (len > 0 && is_blank(line[len - 1]))
            line[--len] = '\0';
        if (len == 0) {
            if (!first_empty)
                first_empty = (int)n;
        } else {
            if (first_empty) {
                free(text);
                free(labels);
                cli_error(cmd, path, "line %d is empty (every class needs a label)", first_empty);
                return -1;
            }
            labels[count++] = line;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (count == 0) {
        free(text);
        free(labels);
        cli_error(cmd, path, "no labels in the file");
        return -1;
    }
    out->text = text;
    out->labels = labels;
    out->count = count;
    return 0;
}

static void free_labels(label_list *l)
{
    free(l->text);
    free(l->labels);
}

/* Warns when the label count differs from the classes of the first output. */
static void check_label_count(const char *cmd, sieve_model *model, int n_labels)
{
    sieve_exec *exec = NULL;
    if (sieve_model_output_count(model) < 1 || sieve_exec_create(model, NULL, &exec) != SIEVE_OK)
        return;
    sieve_shape shape;
    sieve_tensor_info ti;
    int t = sieve_model_output(model, 0);
    if (sieve_exec_tensor_shape(exec, t, &shape) == SIEVE_OK && shape.rank > 0 &&
        sieve_model_tensor(model, t, &ti) == SIEVE_OK && shape.dims[shape.rank - 1] != n_labels)
        fprintf(stderr, "sieve %s: warning: %d labels, but output '%s' has %lld classes\n", cmd,
                n_labels, ti.name, (long long)shape.dims[shape.rank - 1]);
    sieve_exec_free(exec);
}

/* ---- preprocessing ----------------------------------------------------------------- */

static int set_preprocess(const char *cmd, sieve_context *ctx, sieve_model *model,
                          const import_args *a)
{
    bool explicit_pre = a->n_mean || a->n_std || a->has_scale;
    sieve_tensor_info ti;
    if (sieve_model_input_count(model) < 1 ||
        sieve_model_tensor(model, sieve_model_input(model, 0), &ti) != SIEVE_OK) {
        if (!explicit_pre)
            return 0;
        cli_error(cmd, a->onnx_path, "--mean/--std/--scale: the model has no input");
        return -1;
    }
    bool image = ti.shape.rank == 4 && ti.shape.dims[1] >= 1 && ti.shape.dims[1] <= 4 &&
                 ti.shape.dims[2] > 0 && ti.shape.dims[3] > 0 && ti.shape.dims[2] <= INT32_MAX &&
                 ti.shape.dims[3] <= INT32_MAX;
    if (!image) {
        if (!explicit_pre)
            return 0;
        char shape[160];
        cli_error(cmd, a->onnx_path,
                  "--mean/--std/--scale need an image input [N, C, H, W] with C <= 4; "
                  "input '%s' is %s",
                  ti.name, cli_shape_str(&ti.shape, shape, sizeof(shape)));
        return -1;
    }
    int channels = (int)ti.shape.dims[1];
    sieve_preprocess pre;
    if (sieve_model_preprocess(model, &pre) != SIEVE_OK) {
        memset(&pre, 0, sizeof(pre));
        pre.scale = 1.0f / 255.0f;
        for (int c = 0; c < 4; c++)
            pre.std[c] = 1.0f;
    }
    pre.channels = channels;
    pre.height = (int)ti.shape.dims[2];
    pre.width = (int)ti.shape.dims[3];
    if (a->has_scale)
        pre.scale = a->scale;
    const struct {
        const char *name;
        const float *values;
        int n;
        float *dst;
    } lists[2] = {{"mean", a->mean, a->n_mean, pre.mean}, {"std", a->std, a->n_std, pre.std}};
    for (int k = 0; k < 2; k++) {
        if (lists[k].n == 0)
            continue;
        if (lists[k].n != 1 && lists[k].n != channels) {
            cli_error(cmd, a->onnx_path, "--%s: %d values for an input with %d channel%s",
                      lists[k].name, lists[k].n, channels, channels == 1 ? "" : "s");
            return -1;
        }
        for (int c = 0; c < channels; c++)
            lists[k].dst[c] = lists[k].values[lists[k].n == 1 ? 0 : c];
    }
    sieve_status st = sieve_model_set_preprocess(model, &pre);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a->onnx_path, ctx, st);
        return -1;
    }
    return 0;
}

/* ---- arguments ------------------------------------------------------------------------ */

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, import_args *a)
{
    const char *cmd = argv[0];
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, import_options,
                    (int)(sizeof(import_options) / sizeof(import_options[0])));
    for (;;) {
        const char *v;
        int id = cli_next(&p, &v);
        if (id == CLI_ARG_END)
            break;
        switch (id) {
        case CLI_ARG_ERROR:
            return CLI_EXIT_USAGE;
        case OPT_HELP:
            fputs(import_usage, stdout);
            return CLI_EXIT_OK;
        case OPT_OUTPUT:
            if (!*v)
                return cli_usage_error(cmd, "--output: empty file name");
            a->out_path = v;
            break;
        case OPT_LABELS:
            a->labels_path = v;
            break;
        case OPT_MEAN:
        case OPT_STD: {
            float *dst = id == OPT_MEAN ? a->mean : a->std;
            int n = cli_parse_float_list(v, dst, 4);
            if (n < 0)
                return cli_usage_error(cmd, "--%s: expected 1 to 4 comma-separated numbers, got '%s'",
                                       id == OPT_MEAN ? "mean" : "std", v);
            if (id == OPT_STD) {
                for (int c = 0; c < n; c++)
                    if (dst[c] == 0.0f)
                        return cli_usage_error(cmd, "--std: values must be non-zero");
                a->n_std = n;
            } else {
                a->n_mean = n;
            }
            break;
        }
        case OPT_SCALE:
            if (!cli_option_float(cmd, "scale", v, &a->scale))
                return CLI_EXIT_USAGE;
            if (a->scale == 0.0f)
                return cli_usage_error(cmd, "--scale: must be non-zero");
            a->has_scale = true;
            break;
        case OPT_META: {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v)
                return cli_usage_error(cmd, "--meta: expected KEY=VALUE, got '%s'", v);
            if (a->n_meta == MAX_META)
                return cli_usage_error(cmd, "more than %d --meta options", MAX_META);
            a->meta[a->n_meta++] = v;
            break;
        }
        case CLI_ARG_POSITIONAL:
            if (a->onnx_path)
                return cli_usage_error(cmd, "unexpected argument '%s'", v);
            a->onnx_path = v;
            break;
        }
    }
    if (!a->onnx_path)
        return cli_usage_error(cmd, "missing MODEL.onnx");
    if (!a->out_path)
        return cli_usage_error(cmd, "missing -o OUT.sieve");
    if (strcmp(a->onnx_path, a->out_path) == 0)
        return cli_usage_error(cmd, "the output would overwrite the ONNX model");
    return -1;
}

static int set_metadata(const char *cmd, sieve_context *ctx, sieve_model *model,
                        const import_args *a)
{
    char key[256];
    sieve_status st = sieve_model_set_metadata(model, "source", cli_basename(a->onnx_path));
    if (st == SIEVE_OK)
        st = sieve_model_set_metadata(model, "importer", "sieve import " SIEVE_VERSION_STRING);
    for (int i = 0; i < a->n_meta && st == SIEVE_OK; i++) {
        const char *eq = strchr(a->meta[i], '=');
        size_t len = (size_t)(eq - a->meta[i]);
        if (len >= sizeof(key)) {
            cli_usage_error(cmd, "--meta: key longer than %zu bytes", sizeof(key) - 1);
            return -1;
        }
        memcpy(key, a->meta[i], len);
        key[len] = '\0';
        st = sieve_model_set_metadata(model, key, eq + 1);
    }
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a->onnx_path, ctx, st);
        return -1;
    }
    return 0;
}

/* ---- the command -------------------------------------------------------------------- */

int cmd_import(int argc, char **argv)
{
    const char *cmd = argv[0];
    import_args a;
    memset(&a, 0, sizeof(a));
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    rc = CLI_EXIT_FAILURE;

    label_list labels = {NULL, NULL, 0};
    sieve_model *model = NULL;
    sieve_context *ctx = sieve_context_create(NULL);
    if (!ctx) {
        cli_error(cmd, NULL, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    /* Labels first: a typo in their path should not cost an import. */
    if (a.labels_path && read_labels(cmd, a.labels_path, &labels) != 0)
        goto done;

    sieve_status st = sieve_onnx_import_file(ctx, a.onnx_path, NULL, &model);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a.onnx_path, ctx, st);
        goto done;
    }
    if (labels.count) {
        st = sieve_model_set_labels(model, (const char *const *)labels.labels, labels.count);
        if (st != SIEVE_OK) {
            cli_error_status(cmd, a.labels_path, ctx, st);
            goto done;
        }
        check_label_count(cmd, model, labels.count);
    }
    if (set_preprocess(cmd, ctx, model, &a) != 0 || set_metadata(cmd, ctx, model, &a) != 0)
        goto done;

    /* the library writes OUT.tmp and renames it: a failure leaves nothing */
    st = sieve_model_save_file(ctx, model, a.out_path);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, a.out_path, ctx, st);
        goto done;
    }

    uint64_t params = 0, weight_bytes = 0;
    for (int t = 0; t < sieve_model_tensor_count(model); t++) {
        sieve_tensor_info ti;
        if (sieve_model_tensor(model, t, &ti) == SIEVE_OK && ti.role == SIEVE_TENSOR_CONSTANT) {
            int64_t e = sieve_shape_numel(&ti.shape);
            params += e > 0 ? (uint64_t)e : 0;
            weight_bytes += ti.bytes;
        }
    }
    struct stat sb;
    uint64_t file_bytes = stat(a.out_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    char pbuf[48], wbuf[48], fbuf[48];
    int n_layers = sieve_model_layer_count(model);
    printf("%s -> %s: %d layer%s, %s parameters, weights %s, file %s\n",
           a.onnx_path, a.out_path, n_layers, n_layers == 1 ? "" : "s",
           cli_amount_str(params, false, pbuf, sizeof(pbuf)),
           cli_amount_str(weight_bytes, true, wbuf, sizeof(wbuf)),
           cli_amount_str(file_bytes, true, fbuf, sizeof(fbuf)));
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;

done:
    free_labels(&labels);
    sieve_model_free(model);
    sieve_context_destroy(ctx);
    return rc;
}
