/* sieve classify — label images with a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "classifier.h"
#include "cli.h"

static const char usage[] =
    "usage: sieve classify MODEL.sieve IMAGE... [--variant NAME|none] [--top K] [--json]\n"
    "                      [--threads N]\n"
    "\n"
    "Classifies each image (PNG, JPEG, BMP, PGM/PPM, GIF, TGA): converts it to\n"
    "the model's channels, resizes and normalizes it as the model file says,\n"
    "runs the model and prints the label, class index and confidence (the\n"
    "softmax probability of the top class).\n"
    "\n"
    "Given an edge package (models/NAME.pkg.sieve, written by sieve explore), it\n"
    "speculates: the compressed variant answers, its misspeculation detector\n"
    "scores the answer, and an image scoring below the calibrated threshold is\n"
    "replayed on the package's original (the stand-in for the cloud model).\n"
    "\n"
    "options:\n"
    "  --variant V   the package variant that speculates (default accurate);\n"
    "                none: the package's original alone\n"
    "  --top K       also print the K most probable classes (default 1)\n"
    "  --json        print one JSON object per image: image, label, class_index,\n"
    "                confidence, top, where (device, or device+replay when the\n"
    "                original answered), variant (original when not speculating),\n"
    "                elapsed_ms; with a package also score_kind, score, threshold\n"
    "                (or image, error)\n"
    "  --threads N   worker threads (default 1)\n"
    "\n"
    "An image that cannot be read is reported on stderr and the others are\n"
    "still classified; the exit status is then 1.\n";

enum { OPT_VARIANT, OPT_TOP, OPT_JSON, OPT_THREADS, OPT_HELP };

static const cli_option options[] = {
    {OPT_VARIANT, "variant", 0, true},
    {OPT_TOP, "top", 0, true},
    {OPT_JSON, "json", 0, false},
    {OPT_THREADS, "threads", 0, true},
    {OPT_HELP, "help", 'h', false},
};

static void print_result(const classifier *c, const char *image, int top, bool json,
                         double elapsed_ms)
{
    char buf[64];
    int best = classifier_rank(c, 0);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "image", image);
        cJSON_AddStringToObject(o, "label", classifier_label(c, best, buf, sizeof(buf)));
        cJSON_AddNumberToObject(o, "class_index", best);
        cJSON_AddNumberToObject(o, "confidence", c->probs[best]);
        cJSON *arr = cJSON_AddArrayToObject(o, "top");
        for (int k = 0; k < top; k++) {
            int idx = classifier_rank(c, k);
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "label", classifier_label(c, idx, buf, sizeof(buf)));
            cJSON_AddNumberToObject(t, "class_index", idx);
            cJSON_AddNumberToObject(t, "probability", c->probs[idx]);
            cJSON_AddItemToArray(arr, t);
        }
        cJSON_AddStringToObject(o, "where", classifier_where_name(c->where));
        cJSON_AddStringToObject(o, "variant", c->variant_name ? c->variant_name : "original");
        if (c->variant_name) {
            cJSON_AddStringToObject(o, "score_kind", sieve_score_kind_name(c->detector.score));
            cJSON_AddNumberToObject(o, "score", c->score);
            cJSON_AddNumberToObject(o, "threshold", c->detector.threshold);
        }
        cJSON_AddNumberToObject(o, "elapsed_ms", elapsed_ms);
        char *text = cJSON_PrintUnformatted(o);
        puts(text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(o);
        return;
    }
    printf("%s: %s (class %d, confidence %.3f, %.2f ms)\n", image,
           classifier_label(c, best, buf, sizeof(buf)), best, c->probs[best], elapsed_ms);
    if (c->variant_name)
        printf("    %s variant %s: %s %.3f %s threshold %.3f%s\n", c->variant_name,
               c->where == CLASSIFIER_SPECULATED ? "trusted" : "not trusted",
               sieve_score_kind_name(c->detector.score), (double)c->score,
               c->where == CLASSIFIER_SPECULATED ? ">=" : "<", (double)c->detector.threshold,
               c->where == CLASSIFIER_SPECULATED ? "" : ", replayed on the original");
    for (int k = 1; k < top; k++) {
        int idx = classifier_rank(c, k);
        printf("    %d. %s (class %d, %.3f)\n", k + 1, classifier_label(c, idx, buf, sizeof(buf)),
               idx, c->probs[idx]);
    }
}

int cmd_classify(int argc, char **argv)
{
    const char *cmd = "classify";
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, options, (int)(sizeof(options) / sizeof(options[0])));
    const char **positional = calloc((size_t)argc + 1, sizeof(char *));
    int n_pos = 0, opt;
    long top = 1, threads = 1;
    const char *variant = NULL;
    bool json = false;
    const char *value;
    if (!positional)
        return CLI_EXIT_FAILURE;
    while ((opt = cli_next(&p, &value)) != CLI_ARG_END) {
        switch (opt) {
        case CLI_ARG_POSITIONAL:
            positional[n_pos++] = value;
            break;
        case OPT_VARIANT:
            variant = value;
            break;
        case OPT_TOP:
            if (!cli_option_long(cmd, "top", value, 1, 64, &top))
                goto usage_error;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_THREADS:
            if (!cli_option_long(cmd, "threads", value, 1, 256, &threads))
                goto usage_error;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            free(positional);
            return CLI_EXIT_OK;
        default:
            goto usage_error;
        }
    }
    if (n_pos < 2) {
        free(positional);
        return cli_usage_error(cmd, "expected a model and at least one image");
    }
    classifier c;
    int rc = classifier_open(&c, cmd, positional[0], (int)threads, variant);
    if (rc != CLI_EXIT_OK) {
        classifier_close(&c);
        free(positional);
        return rc;
    }
    if (top > (long)c.classes)
        top = (long)c.classes;
    for (int i = 1; i < n_pos; i++) {
        const char *image = positional[i];
        double t0 = cli_now_ms();
        sieve_status st =
            sieve_image_preprocess_file(c.ctx, image, &c.pre, c.input, c.input_n);
        bool decoded = st == SIEVE_OK;
        if (decoded)
            st = classifier_run(&c);
        double elapsed = cli_now_ms() - t0;
        if (st != SIEVE_OK) {
            /* image errors already name the file; model errors do not */
            cli_error(cmd, decoded ? image : NULL, "%s", sieve_context_error(c.ctx));
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "image", image);
                cJSON_AddStringToObject(o, "error", sieve_context_error(c.ctx));
                char *text = cJSON_PrintUnformatted(o);
                puts(text ? text : "{}");
                cJSON_free(text);
                cJSON_Delete(o);
            }
            rc = CLI_EXIT_FAILURE;
            continue;
        }
        print_result(&c, image, (int)top, json, elapsed);
    }
    classifier_close(&c);
    free(positional);
    return rc;
usage_error:
    free(positional);
    return CLI_EXIT_USAGE;
}
