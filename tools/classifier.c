/* sieve CLI — image classification helpers shared by classify and eval. */
#include "classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int classifier_open(classifier *c, const char *cmd, const char *path, int threads)
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
    return CLI_EXIT_OK;
}

void classifier_close(classifier *c)
{
    sieve_exec_free(c->exec);
    sieve_model_free(c->model);
    sieve_context_destroy(c->ctx);
    free(c->input);
    free(c->probs);
    memset(c, 0, sizeof(*c));
}

sieve_status classifier_run(classifier *c)
{
    sieve_status st = sieve_exec_set_input(c->exec, 0, c->input, c->input_n);
    if (st == SIEVE_OK)
        st = sieve_exec_run(c->exec);
    if (st == SIEVE_OK)
        st = sieve_exec_get_output(c->exec, 0, c->probs, c->classes);
    if (st != SIEVE_OK || c->has_softmax)
        return st;
    /* logits -> probabilities, numerically stable */
    float top = c->probs[0];
    for (size_t i = 1; i < c->classes; i++)
        top = fmaxf(top, c->probs[i]);
    double sum = 0;
    for (size_t i = 0; i < c->classes; i++)
        sum += c->probs[i] = expf(c->probs[i] - top);
    for (size_t i = 0; i < c->classes; i++)
        c->probs[i] = (float)(c->probs[i] / sum);
    return SIEVE_OK;
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
