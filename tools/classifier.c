/* sieve CLI — image classification helpers shared by classify and eval. */
#include "classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Opens the speculative variant of a package (see classifier_open). */
static int open_variant(classifier *c, const char *cmd, const char *path, int threads,
                        const char *name)
{
    int n = sieve_model_variant_count(c->model);
    const char *base = sieve_model_metadata(c->model, "sieve.package.base");
    if (name && strcmp(name, "none") == 0)
        return CLI_EXIT_OK;
    if (n == 0 || !base || strcmp(base, "original") != 0) {
        if (!name)
            return CLI_EXIT_OK; /* a plain model, or a stripped package: run it as is */
        cli_error(cmd, path, "has no original to replay on (%s), cannot speculate with '%s'",
                  n == 0 ? "not an edge package" : "stripped package", name);
        return CLI_EXIT_FAILURE;
    }
    int v = sieve_model_find_variant(c->model, name ? name : "accurate");
    if (v < 0) {
        cli_error(cmd, path, "has no variant '%s'", name ? name : "accurate");
        return CLI_EXIT_FAILURE;
    }
    sieve_status st = sieve_detector_from_calibration(
        c->ctx, sieve_model_variant_calibration(c->model, v), &c->detector);
    if (st == SIEVE_OK)
        st = sieve_model_extract_variant(c->model, v, &c->variant);
    sieve_exec_options eo = {.threads = threads};
    if (st == SIEVE_OK)
        st = sieve_exec_create(c->variant, &eo, &c->variant_exec);
    if (st != SIEVE_OK) {
        cli_error(cmd, path, "variant '%s': %s", sieve_model_variant_name(c->model, v),
                  sieve_context_error(c->ctx));
        return CLI_EXIT_FAILURE;
    }
    c->variant_name = sieve_model_variant_name(c->model, v);
    c->logits = malloc(c->classes * sizeof(float));
    c->scratch = malloc(c->classes * sizeof(float));
    if (!c->logits || !c->scratch) {
        cli_error(cmd, path, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

int classifier_open(classifier *c, const char *cmd, const char *path, int threads,
                    const char *variant)
{
    memset(c, 0, sizeof(*c));
    sieve_context_options o = {NULL, threads};
    c->ctx = sieve_context_create(&o);
    if (!c->ctx) {
        cli_error(cmd, NULL, "out of memory");
        return CLI_EXIT_FAILURE;
    }
    sieve_status st = sieve_model_load_file(c->ctx, path, &c->model);
    if (st != SIEVE_OK) {
        cli_error_status(cmd, NULL, c->ctx, st);
        return CLI_EXIT_FAILURE;
    }
    if (sieve_model_preprocess(c->model, &c->pre) != SIEVE_OK || c->pre.channels < 1) {
        cli_error(cmd, path, "model has no image preprocessing (import it with --mean/--std)");
        return CLI_EXIT_FAILURE;
    }
    sieve_tensor_info in;
    if (sieve_model_input_count(c->model) != 1 || sieve_model_output_count(c->model) < 1 ||
        sieve_model_tensor(c->model, sieve_model_input(c->model, 0), &in) != SIEVE_OK) {
        cli_error(cmd, path, "model must have one image input");
        return CLI_EXIT_FAILURE;
    }
    if (in.shape.rank != 4 || in.shape.dims[0] != 1 || in.shape.dims[1] != c->pre.channels ||
        in.shape.dims[2] != c->pre.height || in.shape.dims[3] != c->pre.width) {
        char buf[96];
        cli_error(cmd, path, "model input '%s' has shape %s, expected [1, %d, %d, %d] for images",
                  in.name, cli_shape_str(&in.shape, buf, sizeof(buf)), c->pre.channels,
                  c->pre.height, c->pre.width);
        return CLI_EXIT_FAILURE;
    }
    c->input_n = (size_t)c->pre.channels * c->pre.height * c->pre.width;
    sieve_exec_options eo = {.threads = threads};
    if ((st = sieve_exec_create(c->model, &eo, &c->exec)) != SIEVE_OK) {
        cli_error_status(cmd, path, c->ctx, st);
        return CLI_EXIT_FAILURE;
    }
    sieve_shape out;
    sieve_exec_tensor_shape(c->exec, sieve_model_output(c->model, 0), &out);
    c->classes = (size_t)sieve_shape_numel(&out);
    /* does the layer producing output 0 already give probabilities? */
    sieve_layer_info li;
    for (int l = 0; l < sieve_model_layer_count(c->model); l++)
        if (sieve_model_layer(c->model, l, &li) == SIEVE_OK &&
            li.outputs[0] == sieve_model_output(c->model, 0))
            c->has_softmax = strcmp(li.op, "softmax") == 0;
    c->input = malloc(c->input_n * sizeof(float));
    c->probs = malloc((c->classes ? c->classes : 1) * sizeof(float));
    if (!c->input || !c->probs || c->classes < 1) {
        cli_error(cmd, path, c->classes < 1 ? "model has an empty output" : "out of memory");
        return CLI_EXIT_FAILURE;
    }
    return open_variant(c, cmd, path, threads, variant);
}

void classifier_close(classifier *c)
{
    sieve_exec_free(c->variant_exec);
    sieve_model_free(c->variant);
    free(c->logits);
    free(c->scratch);
    sieve_exec_free(c->exec);
    sieve_model_free(c->model);
    sieve_context_destroy(c->ctx);
    free(c->input);
    free(c->probs);
    memset(c, 0, sizeof(*c));
}

/* Output 0 of `e` for c->input into `out`; SIEVE_OK or the run's status. */
static sieve_status run_exec(classifier *c, sieve_exec *e, float *out)
{
    sieve_status st = sieve_exec_set_input(e, 0, c->input, c->input_n);
    if (st == SIEVE_OK)
        st = sieve_exec_run(e);
    if (st == SIEVE_OK)
        st = sieve_exec_get_output(e, 0, out, c->classes);
    return st;
}

/* Class scores -> probabilities in c->probs: a softmax of logits
 * (numerically stable), or a copy when the scores are probabilities. */
static void to_probs(classifier *c, const float *scores, bool are_probs)
{
    if (are_probs) {
        if (scores != c->probs)
            memcpy(c->probs, scores, c->classes * sizeof(float));
        return;
    }
    float top = scores[0];
    for (size_t i = 1; i < c->classes; i++)
        top = fmaxf(top, scores[i]);
    double sum = 0;
    for (size_t i = 0; i < c->classes; i++)
        sum += c->probs[i] = expf(scores[i] - top);
    for (size_t i = 0; i < c->classes; i++)
        c->probs[i] = (float)(c->probs[i] / sum);
}

sieve_status classifier_run(classifier *c)
{
    sieve_status st;
    if (c->variant_exec) {
        if ((st = run_exec(c, c->variant_exec, c->logits)) != SIEVE_OK)
            return st;
        if (c->has_softmax) /* the detector reads logits: log p is one up to a constant */
            for (size_t i = 0; i < c->classes; i++)
                c->logits[i] = logf(fmaxf(c->logits[i], 1e-30f));
        c->score = sieve_detector_score(&c->detector, c->logits, c->classes, c->scratch);
        if (c->score >= c->detector.threshold) {
            c->where = CLASSIFIER_SPECULATED;
            to_probs(c, c->logits, false);
            return SIEVE_OK;
        }
        c->where = CLASSIFIER_REPLAYED;
    } else {
        c->where = CLASSIFIER_MODEL;
    }
    if ((st = run_exec(c, c->exec, c->probs)) != SIEVE_OK)
        return st;
    to_probs(c, c->probs, c->has_softmax);
    return SIEVE_OK;
}

const char *classifier_where_name(classifier_where where)
{
    /* DESIGN.md's classify contract: device | cloud | device+replay (the
     * package's original stands in for the cloud here) */
    return where == CLASSIFIER_REPLAYED ? "device+replay" : "device";
}

int classifier_rank(const classifier *c, int k)
{
    /* selection by repeated scan: K is small */
    int chosen[64];
    int n_chosen = 0;
    if (k < 0 || k >= (int)c->classes || k >= 64)
        return -1;
    for (int r = 0; r <= k; r++) {
        int best = -1;
        for (size_t i = 0; i < c->classes; i++) {
            bool taken = false;
            for (int j = 0; j < n_chosen; j++)
                taken |= chosen[j] == (int)i;
            if (!taken && (best < 0 || c->probs[i] > c->probs[best]))
                best = (int)i;
        }
        chosen[n_chosen++] = best;
    }
    return chosen[k];
}

const char *classifier_label(const classifier *c, int index, char *buf, size_t len)
{
    const char *label = sieve_model_label(c->model, index);
    if (label)
        return label;
    snprintf(buf, len, "class %d", index);
    return buf;
}
