/* sieve explore — design the speculative CNNs of a model: per-tensor custom
 * float formats, the exact / accurate / approximate variants, the
 * misspeculation detector's calibration, and the edge package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sieve/explore.h>

#include "cli.h"

#define DEFAULT_DATA "idx:/usr/share/datasets/fashion-mnist/train[50000:60000]"

static const char usage[] =
    "usage: sieve explore ORIGINAL.sieve -o PACKAGE.sieve [--data SPEC] [--target F]\n"
    "                     [--test SPEC] [--report FILE.md|FILE.json] [--threads N]\n"
    "                     [--subset N] [--sweep-margin Z] [--margin Z]\n"
    "                     [--select-margin Z] [--max-replay F] [--narrow N] [--strip]\n"
    "                     [--json] [--quiet]\n"
    "\n"
    "Searches a custom float format for every weight and activation tensor of\n"
    "the model (SIEVE paper, section IV-A), combines them into three variants\n"
    "  exact        per tensor, the format moving the original's outputs least\n"
    "  accurate     formats keeping 100% of the original's accuracy, whose\n"
    "               detector replays at most 10% of inputs (--max-replay)\n"
    "  approximate  formats keeping 99.9% of it, replaying at most 20%\n"
    "The validation data is halved (even- and odd-numbered items). On the first\n"
    "half, accurate and approximate take the fewest bits that meet their goal,\n"
    "chosen jointly by pricing how far each format moves the original's output\n"
    "distribution; the second half confirms the replay limit (raising the\n"
    "price until it holds) and calibrates the misspeculation detector of each\n"
    "variant (confidence score, threshold -> replay fraction and accuracy with\n"
    "replay).\n"
    "The edge package holds the graph once, the original's tensors and the\n"
    "three variants with their calibration.\n"
    "Only the validation data is used for any decision; --test data is\n"
    "measured and reported, never used to choose.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   the edge package to write (required)\n"
    "  --data SPEC         validation data (default " DEFAULT_DATA ")\n"
    "  --target F          accuracy with replay the detector's threshold must\n"
    "                      reach, as a fraction of the original's (default 1.0)\n"
    "  --margin Z          ... with Z standard errors to spare on the calibration\n"
    "                      half, so that it holds on unseen inputs too (default\n"
    "                      1.645, one-sided 95%; 0: at face value)\n"
    "  --sweep-margin Z    a format ends its tensor's mantissa sweep once its\n"
    "                      accuracy on the subset falls below 99.8% of the\n"
    "                      original's by more than Z standard errors of their\n"
    "                      difference (default 1.645; 0: at face value)\n"
    "  --select-margin Z   a combination meets its threshold on the first half\n"
    "                      with Z standard errors of its difference to the\n"
    "                      original to spare; negative, a tolerance (default\n"
    "                      -1.645: fails only when significantly below; 0: at\n"
    "                      face value)\n"
    "  --max-replay F      the most the accurate variant's detector may replay\n"
    "                      (default 0.10; approximate: twice that, at most 1;\n"
    "                      1: no limit)\n"
    "  --narrow N          after the price search, try up to N times one\n"
    "                      tensor one format narrower (activations, then\n"
    "                      weights, largest first; passes repeat until one keeps\n"
    "                      none), keeping each step that still meets the goal\n"
    "                      on the first half and the replay limit on the second\n"
    "                      (default 48; 0: none)\n"
    "  --test SPEC         also measure accuracy, alone and with replay, on SPEC\n"
    "  --report FILE       write a report: Markdown (.md) or JSON (.json)\n"
    "  --threads N         worker threads (default: all online CPUs)\n"
    "  --subset N          items of the per-tensor sweeps (default 2000, drawn\n"
    "                      from the first half; 0: all of it); variants are\n"
    "                      always checked on the whole first half\n"
    "  --strip             make the package's own tensors the accurate variant's\n"
    "                      (no fp32 original inside: for shipping to devices)\n"
    "  --json              print the results as one JSON object on stdout\n"
    "  --quiet             no progress on stderr\n"
    "  -h, --help          show this help\n"
    "\n"
    "SPEC: idx:PREFIX, idx:PREFIX[START:END] or an image folder (see sieve eval).\n";

enum {
    OPT_OUTPUT,
    OPT_DATA,
    OPT_TARGET,
    OPT_TEST,
    OPT_REPORT,
    OPT_THREADS,
    OPT_SUBSET,
    OPT_MARGIN,
    OPT_SELECT_MARGIN,
    OPT_SWEEP_MARGIN,
    OPT_MAX_REPLAY,
    OPT_NARROW,
    OPT_STRIP,
    OPT_JSON,
    OPT_QUIET,
    OPT_HELP
};

static const cli_option options[] = {
    {OPT_OUTPUT, "output", 'o', true}, {OPT_DATA, "data", 0, true},
    {OPT_TARGET, "target", 0, true},   {OPT_TEST, "test", 0, true},
    {OPT_REPORT, "report", 0, true},   {OPT_THREADS, "threads", 0, true},
    {OPT_SUBSET, "subset", 0, true},   {OPT_MARGIN, "margin", 0, true},
    {OPT_SELECT_MARGIN, "select-margin", 0, true}, {OPT_SWEEP_MARGIN, "sweep-margin", 0, true},
    {OPT_MAX_REPLAY, "max-replay", 0, true}, {OPT_NARROW, "narrow", 0, true},
    {OPT_STRIP, "strip", 0, false},
    {OPT_JSON, "json", 0, false},      {OPT_QUIET, "quiet", 0, false},
    {OPT_HELP, "help", 'h', false},
};

typedef struct progress_state {
    double t0;
} progress_state;

static void print_progress(void *user, double fraction, const char *message)
{
    progress_state *p = user;
    fprintf(stderr, "[%6.1f s %3.0f%%] %s\n", (cli_now_ms() - p->t0) / 1000, 100 * fraction,
            message);
}

static const char *fmt_str(const sieve_format *f, char *buf, size_t len)
{
    return sieve_format_str(f, buf, len);
}

static cJSON *result_json(const char *model, const char *data, const char *test,
                          const char *package, const sieve_explore_options *eo,
                          const sieve_explore_result *r)
{
    char buf[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "data", data);
    cJSON *goals = cJSON_AddObjectToObject(o, "options");
    cJSON_AddNumberToObject(goals, "sweep_margin", eo->sweep_z);
    cJSON_AddNumberToObject(goals, "select_margin", eo->select_z);
    cJSON_AddNumberToObject(goals, "target", eo->target);
    cJSON_AddNumberToObject(goals, "margin", eo->target_z);
    cJSON_AddNumberToObject(goals, "max_replay_accurate", eo->replay_max[SIEVE_VARIANT_ACCURATE]);
    cJSON_AddNumberToObject(goals, "max_replay_approximate",
                            eo->replay_max[SIEVE_VARIANT_APPROXIMATE]);
    cJSON_AddNumberToObject(goals, "narrow_tries", eo->narrow_tries);
    if (test)
        cJSON_AddStringToObject(o, "test", test);
    cJSON_AddStringToObject(o, "package", package);
    cJSON_AddNumberToObject(o, "validation_items", (double)r->n_validation);
    cJSON_AddNumberToObject(o, "subset_items", (double)r->n_subset);
    cJSON_AddNumberToObject(o, "original_val_accuracy", r->original_val_accuracy);
    cJSON_AddNumberToObject(o, "calibration_items", (double)r->n_calibration);
    cJSON_AddNumberToObject(o, "original_calibration_accuracy",
                            r->original_calibration_accuracy);
    if (r->original_test_accuracy >= 0)
        cJSON_AddNumberToObject(o, "original_test_accuracy", r->original_test_accuracy);
    cJSON_AddNumberToObject(o, "search_seconds", r->wall_ms / 1000);
    cJSON_AddNumberToObject(o, "evaluations", (double)r->evaluations);
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON *vars = cJSON_AddObjectToObject(o, "variants");
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        cJSON *j = cJSON_AddObjectToObject(vars, sieve_variant_kind_name((sieve_variant_kind)v));
        cJSON_AddNumberToObject(j, "weight_bits", var->weight_bits);
        cJSON_AddNumberToObject(j, "activation_bits", var->activation_bits);
        cJSON_AddNumberToObject(j, "weight_bytes", (double)var->weight_bytes);
        cJSON_AddNumberToObject(j, "weight_bytes_fp32", (double)var->weight_bytes_fp32);
        cJSON_AddNumberToObject(j, "activation_bytes", (double)var->activation_bytes);
        cJSON_AddNumberToObject(j, "activation_bytes_fp32", (double)var->activation_bytes_fp32);
        cJSON_AddNumberToObject(j, "backoffs", var->n_backoffs);
        cJSON_AddNumberToObject(j, "price", var->price);
        cJSON_AddNumberToObject(j, "val_accuracy", var->val_accuracy);
        cJSON_AddStringToObject(j, "score", sieve_score_kind_name(var->score));
        cJSON_AddNumberToObject(j, "temperature", var->temperature);
        cJSON *auc = cJSON_AddObjectToObject(j, "auc");
        for (int k = 0; k < SIEVE_SCORE_KIND_COUNT; k++)
            cJSON_AddNumberToObject(auc, sieve_score_kind_name((sieve_score_kind)k), var->auc[k]);
        cJSON_AddNumberToObject(j, "threshold", var->threshold);
        cJSON_AddNumberToObject(j, "val_replay_fraction", var->replay_fraction);
        cJSON_AddNumberToObject(j, "val_accuracy_with_replay", var->accuracy_with_replay);
        if (var->test_accuracy >= 0) {
            cJSON_AddNumberToObject(j, "test_accuracy", var->test_accuracy);
            cJSON_AddNumberToObject(j, "test_accuracy_with_replay", var->test_accuracy_with_replay);
            cJSON_AddNumberToObject(j, "test_replay_fraction", var->test_replay_fraction);
        }
    }
    cJSON *tensors = cJSON_AddArrayToObject(o, "tensors");
    for (int i = 0; i < r->n_tensors; i++) {
        const sieve_explore_tensor *t = &r->tensors[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", t->name);
        cJSON_AddStringToObject(j, "role", t->role == SIEVE_TENSOR_CONSTANT ? "weight"
                                           : t->role == SIEVE_TENSOR_INPUT ? "input"
                                                                           : "activation");
        cJSON_AddNumberToObject(j, "elements", (double)t->numel);
        cJSON_AddBoolToObject(j, "non_negative", t->non_negative);
        cJSON_AddNumberToObject(j, "exp_lo", t->exp_lo);
        cJSON_AddNumberToObject(j, "exp_hi", t->exp_hi);
        cJSON_AddNumberToObject(j, "e_max", t->e_max);
        cJSON_AddNumberToObject(j, "bias_max", t->bias_max);
        for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
            cJSON *c = cJSON_AddObjectToObject(j, sieve_variant_kind_name((sieve_variant_kind)v));
            cJSON_AddStringToObject(c, "format", fmt_str(&t->choice[v], buf, sizeof(buf)));
            cJSON_AddNumberToObject(c, "alone_accuracy", t->choice_accuracy[v]);
            cJSON_AddNumberToObject(c, "backoff_steps", t->backed_off[v]);
            cJSON_AddBoolToObject(c, "carried", t->carried[v]);
        }
        cJSON *cands = cJSON_AddArrayToObject(j, "explored");
        for (int k = 0; k < t->n_candidates; k++) {
            const sieve_explore_candidate *c = &t->candidates[k];
            cJSON *cj = cJSON_CreateObject();
            cJSON_AddStringToObject(cj, "format", fmt_str(&c->format, buf, sizeof(buf)));
            cJSON_AddNumberToObject(cj, "coverage", c->coverage);
            cJSON_AddNumberToObject(cj, "agreement", c->agreement);
            if (c->complete)
                cJSON_AddNumberToObject(cj, "accuracy", c->accuracy);
            else
                cJSON_AddStringToObject(cj, "accuracy", "stopped early");
            cJSON_AddItemToArray(cands, cj);
        }
        cJSON_AddItemToArray(tensors, j);
    }
    return o;
}

/* The report's marker after a tensor's format in variant v. */
static const char *mark(const sieve_explore_tensor *t, int v)
{
    return t->backed_off[v] ? (t->carried[v] ? "*=" : "*") : t->carried[v] ? "=" : "";
}

static void print_markdown(FILE *f, const char *model, const char *data, const char *test,
                           const char *package, const sieve_explore_options *eo,
                           const sieve_explore_result *r)
{
    char a[32], b[32], c[32];
    fprintf(f, "# sieve explore: %s\n\n", cli_basename(model));
    fprintf(f,
            "- validation: `%s` (%zu items, halved: the %zu even-numbered ones choose the "
            "formats, per-tensor sweeps on %zu of them; the %zu odd-numbered ones calibrate the "
            "detectors)\n",
            data, r->n_validation, r->n_validation - r->n_calibration, r->n_subset,
            r->n_calibration);
    if (test)
        fprintf(f, "- test: `%s` (%zu items)\n", test, r->n_test);
    fprintf(f, "- package: `%s`\n", package);
    fprintf(f,
            "- goals: sweep margin %.4g, select margin %.4g, detector target %.4g with margin "
            "%.4g, replay at most %.0f %% (accurate) / %.0f %% (approximate), %d narrowing tries\n",
            eo->sweep_z, eo->select_z, eo->target, eo->target_z,
            100 * eo->replay_max[SIEVE_VARIANT_ACCURATE],
            100 * eo->replay_max[SIEVE_VARIANT_APPROXIMATE], eo->narrow_tries);
    fprintf(f, "- search wall time: %.1f s on %d thread%s, %zu evaluations\n", r->wall_ms / 1000,
            r->threads, r->threads == 1 ? "" : "s", r->evaluations);
    fprintf(f, "- original accuracy: validation %.4f (calibration half %.4f)",
            r->original_val_accuracy, r->original_calibration_accuracy);
    if (r->original_test_accuracy >= 0)
        fprintf(f, ", test %.4f", r->original_test_accuracy);
    fprintf(f, "\n\n## Variants\n\n");
    fprintf(f, "| variant | bits/weight | bits/activation | weights vs fp32 | activations vs "
               "fp32 | widened | val acc | cal acc + replay | cal replay | score (AUC) | T | "
               "threshold |%s\n",
            r->original_test_accuracy >= 0 ? " test acc | test acc + replay | test replay |" : "");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|%s\n",
            r->original_test_accuracy >= 0 ? "---|---|---|" : "");
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        fprintf(f,
                "| %s | %.2f | %.2f | %.3f | %.3f | %d | %.4f | %.4f | %.2f%% | %s (%.3f) | %.2f | "
                "%.4g |",
                sieve_variant_kind_name((sieve_variant_kind)v), var->weight_bits,
                var->activation_bits,
                var->weight_bytes_fp32 ? (double)var->weight_bytes / (double)var->weight_bytes_fp32
                                       : 0,
                var->activation_bytes_fp32
                    ? (double)var->activation_bytes / (double)var->activation_bytes_fp32
                    : 0,
                var->n_backoffs, var->val_accuracy, var->accuracy_with_replay,
                100 * var->replay_fraction, sieve_score_kind_name(var->score),
                var->auc[var->score], (double)var->temperature, (double)var->threshold);
        if (var->test_accuracy >= 0)
            fprintf(f, " %.4f | %.4f | %.2f%% |", var->test_accuracy,
                    var->test_accuracy_with_replay, 100 * var->test_replay_fraction);
        fputc('\n', f);
    }
    fprintf(f, "\nDetector AUC (correct vs correctable outputs) per score:\n\n");
    fprintf(f, "| variant | max_prob | margin | neg_entropy | correct | correctable | "
               "uncorrectable | compensating |\n|---|---|---|---|---|---|---|---|\n");
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        fprintf(f, "| %s | %.3f | %.3f | %.3f | %zu | %zu | %zu | %zu |\n",
                sieve_variant_kind_name((sieve_variant_kind)v), var->auc[0], var->auc[1],
                var->auc[2], var->outcome[0], var->outcome[1], var->outcome[2], var->outcome[3]);
    }
    fprintf(f, "\n## Per-tensor formats\n\n");
    fprintf(f, "Accuracy of the tensor alone in its format (others fp32), normalized to the "
               "original's on the sweep subset; `*` marks a tensor the combination widened past its "
               "own first choice, `=` one whose format is carried from the layer's inputs (max pool, ReLU, "
               "flatten, concat: the output holds their values exactly).\n\n");
    fprintf(f, "| tensor | kind | elements | exponents | e_max/bias | explored | exact | accurate | "
               "approximate |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < r->n_tensors; i++) {
        const sieve_explore_tensor *t = &r->tensors[i];
        const char *kind = t->role == SIEVE_TENSOR_CONSTANT ? "weight"
                           : t->role == SIEVE_TENSOR_INPUT  ? "input"
                                                            : "activation";
        fprintf(f, "| %s | %s%s | %zu | %d..%d | e%d b%d | %d | %s%s (%.4f) | %s%s (%.4f) | %s%s "
                   "(%.4f) |\n",
                t->name, kind, t->non_negative ? ", >= 0" : "", t->numel, t->exp_lo, t->exp_hi,
                t->e_max, t->bias_max, t->n_candidates,
                fmt_str(&t->choice[0], a, sizeof(a)), mark(t, 0), t->choice_accuracy[0],
                fmt_str(&t->choice[1], b, sizeof(b)), mark(t, 1), t->choice_accuracy[1],
                fmt_str(&t->choice[2], c, sizeof(c)), mark(t, 2), t->choice_accuracy[2]);
    }
}

static void print_summary(const sieve_explore_result *r)
{
    printf("original: validation accuracy %.4f", r->original_val_accuracy);
    if (r->original_test_accuracy >= 0)
        printf(", test %.4f", r->original_test_accuracy);
    printf("; search %.1f s on %d thread%s\n", r->wall_ms / 1000, r->threads,
           r->threads == 1 ? "" : "s");
    printf("%-12s %9s %9s %9s %9s %9s %9s", "variant", "bits/w", "bits/act", "size", "val acc",
           "+replay", "replay");
    if (r->original_test_accuracy >= 0)
        printf(" %9s %9s %9s", "test acc", "+replay", "replay");
    putchar('\n');
    for (int v = 0; v < SIEVE_VARIANT_KIND_COUNT; v++) {
        const sieve_explore_variant *var = &r->variants[v];
        printf("%-12s %9.2f %9.2f %8.1f%% %9.4f %9.4f %8.2f%%",
               sieve_variant_kind_name((sieve_variant_kind)v), var->weight_bits,
               var->activation_bits,
               var->weight_bytes_fp32
                   ? 100.0 * (double)var->weight_bytes / (double)var->weight_bytes_fp32
                   : 0,
               var->val_accuracy, var->accuracy_with_replay, 100 * var->replay_fraction);
        if (var->test_accuracy >= 0)
            printf(" %9.4f %9.4f %8.2f%%", var->test_accuracy, var->test_accuracy_with_replay,
                   100 * var->test_replay_fraction);
        putchar('\n');
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int cmd_explore(int argc, char **argv)
{
    const char *cmd = "explore";
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, options, (int)(sizeof(options) / sizeof(options[0])));
    const char *model_path = NULL, *output = NULL, *data = DEFAULT_DATA, *test = NULL,
               *report = NULL, *value;
    long threads = sysconf(_SC_NPROCESSORS_ONLN), subset = 2000, narrow = 48;
    float target = 1.0f, margin = 1.645f, select_margin = -1.645f,
          sweep_margin = 1.645f, max_replay = 0.10f;
    bool strip = false, json = false, quiet = false;
    int opt;
    while ((opt = cli_next(&p, &value)) != CLI_ARG_END) {
        switch (opt) {
        case CLI_ARG_POSITIONAL:
            if (model_path)
                return cli_usage_error(cmd, "unexpected argument '%s'", value);
            model_path = value;
            break;
        case OPT_OUTPUT:
            output = value;
            break;
        case OPT_DATA:
            data = value;
            break;
        case OPT_TARGET:
            if (!cli_option_float(cmd, "target", value, &target))
                return CLI_EXIT_USAGE;
            if (!(target > 0 && target <= 2))
                return cli_usage_error(cmd, "--target must be in (0, 2], e.g. 1.0 or 0.99");
            break;
        case OPT_MARGIN:
            if (!cli_option_float(cmd, "margin", value, &margin))
                return CLI_EXIT_USAGE;
            if (!(margin >= 0 && margin <= 10))
                return cli_usage_error(cmd, "--margin must be in [0, 10]");
            break;
        case OPT_SELECT_MARGIN:
            if (!cli_option_float(cmd, "select-margin", value, &select_margin))
                return CLI_EXIT_USAGE;
            if (!(select_margin >= -10 && select_margin <= 10))
                return cli_usage_error(cmd, "--select-margin must be in [-10, 10]");
            break;
        case OPT_SWEEP_MARGIN:
            if (!cli_option_float(cmd, "sweep-margin", value, &sweep_margin))
                return CLI_EXIT_USAGE;
            if (!(sweep_margin >= 0 && sweep_margin <= 10))
                return cli_usage_error(cmd, "--sweep-margin must be in [0, 10]");
            break;
        case OPT_MAX_REPLAY:
            if (!cli_option_float(cmd, "max-replay", value, &max_replay))
                return CLI_EXIT_USAGE;
            if (!(max_replay > 0 && max_replay <= 1))
                return cli_usage_error(cmd, "--max-replay must be in (0, 1], e.g. 0.1");
            break;
        case OPT_NARROW:
            if (!cli_option_long(cmd, "narrow", value, 0, 10000, &narrow))
                return CLI_EXIT_USAGE;
            break;
        case OPT_TEST:
            test = value;
            break;
        case OPT_REPORT:
            if (!ends_with(value, ".md") && !ends_with(value, ".json"))
                return cli_usage_error(cmd, "--report FILE must end in .md or .json");
            report = value;
            break;
        case OPT_THREADS:
            if (!cli_option_long(cmd, "threads", value, 1, 256, &threads))
                return CLI_EXIT_USAGE;
            break;
        case OPT_SUBSET:
            if (!cli_option_long(cmd, "subset", value, 0, 1L << 30, &subset))
                return CLI_EXIT_USAGE;
            break;
        case OPT_STRIP:
            strip = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (!model_path || !output)
        return cli_usage_error(cmd, "expected ORIGINAL.sieve and -o PACKAGE.sieve");
    if (threads < 1)
        threads = 1;

    sieve_context_options co = {NULL, (int)threads};
    sieve_context *ctx = sieve_context_create(&co);
    if (!ctx) {
        cli_error(cmd, NULL, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_FAILURE;
    sieve_model *model = NULL, *package = NULL;
    sieve_dataset *val = NULL, *test_ds = NULL;
    sieve_explore_result *result = NULL;
    progress_state ps = {cli_now_ms()};
    sieve_explore_options eo;
    sieve_explore_options_default(&eo);
    eo.threads = (int)threads;
    eo.subset = (size_t)subset;
    eo.target = target;
    eo.target_z = margin;
    eo.select_z = select_margin;
    eo.sweep_z = sweep_margin;
    eo.replay_max[SIEVE_VARIANT_ACCURATE] = max_replay;
    eo.replay_max[SIEVE_VARIANT_APPROXIMATE] = max_replay < 0.5f ? 2.0 * max_replay : 1.0;
    eo.narrow_tries = (int)narrow;
    eo.data_name = data;
    if (!quiet) {
        eo.progress = print_progress;
        eo.progress_user = &ps;
    }
    sieve_status st = sieve_model_load_file(ctx, model_path, &model);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, NULL, ctx, st);
        goto done;
    }
    if ((st = sieve_dataset_open(ctx, data, &val)) != SIEVE_OK ||
        (test && (st = sieve_dataset_open(ctx, test, &test_ds)) != SIEVE_OK)) {
        cli_error_status(cmd, NULL, ctx, st);
        goto done;
    }
    if ((st = sieve_explore(ctx, model, val, &eo, &result)) != SIEVE_OK) {
        cli_error_status(cmd, model_path, ctx, st);
        goto done;
    }
    if (test_ds && (st = sieve_explore_test(ctx, model, result, test_ds, &eo)) != SIEVE_OK) {
        cli_error_status(cmd, test, ctx, st);
        goto done;
    }
    if ((st = sieve_explore_package(ctx, model, result, strip, &package)) != SIEVE_OK ||
        (st = sieve_model_save_file(ctx, package, output)) != SIEVE_OK) {
        cli_error_status(cmd, output, ctx, st);
        goto done;
    }
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) {
            cli_error(cmd, report, "cannot write the report");
            goto done;
        }
        if (ends_with(report, ".json")) {
            cJSON *o = result_json(model_path, data, test, output, &eo, result);
            char *text = cJSON_Print(o);
            fputs(text ? text : "{}", f);
            fputc('\n', f);
            cJSON_free(text);
            cJSON_Delete(o);
        } else {
            print_markdown(f, model_path, data, test, output, &eo, result);
        }
        if (fclose(f) != 0) {
            cli_error(cmd, report, "error writing the report");
            goto done;
        }
    }
    if (json) {
        cJSON *o = result_json(model_path, data, test, output, &eo, result);
        char *text = cJSON_PrintUnformatted(o);
        puts(text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(o);
    } else {
        print_summary(result);
        printf("wrote %s%s\n", output, strip ? " (stripped: base tensors are the accurate variant)"
                                             : "");
    }
    rc = CLI_EXIT_OK;
done:
    sieve_model_free(package);
    sieve_explore_result_free(ctx, result);
    sieve_dataset_free(test_ds);
    sieve_dataset_free(val);
    sieve_model_free(model);
    sieve_context_destroy(ctx);
    return rc;
}
