/* sieve eval — top-1 accuracy and throughput of a model on labelled data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "classifier.h"
#include "cli.h"

static const char usage[] =
    "usage: sieve eval MODEL.sieve --data SPEC [--variant NAME|none] [--limit N] [--json]\n"
    "                  [--threads N]\n"
    "\n"
    "Runs the model on every item of a labelled dataset and prints its top-1\n"
    "accuracy and images per second. An edge package (sieve explore) speculates\n"
    "with its accurate variant and replays on its original every input the\n"
    "variant's detector does not trust, as sieve classify does; the replay\n"
    "fraction is printed too.\n"
    "\n"
    "SPEC names labelled data as everywhere in sieve:\n"
    "  idx:PREFIX              PREFIX-images-idx3-ubyte[.gz] + PREFIX-labels-idx1-ubyte[.gz]\n"
    "                          e.g. idx:/usr/share/datasets/fashion-mnist/t10k\n"
    "  idx:PREFIX[START:END]   a slice, e.g. the validation split\n"
    "                          idx:/usr/share/datasets/fashion-mnist/train[50000:60000]\n"
    "  DIR                     an image folder DIR/<class>/<image>\n"
    "\n"
    "options:\n"
    "  --data SPEC   the labelled data (required)\n"
    "  --variant V   the package variant that speculates (default accurate);\n"
    "                none: the package's original alone\n"
    "  --limit N     only the first N items\n"
    "  --json        print one JSON object with the results\n"
    "  --threads N   worker threads (default 1)\n";

enum { OPT_DATA, OPT_VARIANT, OPT_LIMIT, OPT_JSON, OPT_THREADS, OPT_HELP };

static const cli_option options[] = {
    {OPT_DATA, "data", 0, true},   {OPT_VARIANT, "variant", 0, true},
    {OPT_LIMIT, "limit", 0, true},
    {OPT_JSON, "json", 0, false},  {OPT_THREADS, "threads", 0, true},
    {OPT_HELP, "help", 'h', false},
};

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, options, (int)(sizeof(options) / sizeof(options[0])));
    const char *model_path = NULL, *spec = NULL, *variant = NULL, *value;
    long limit = -1, threads = 1;
    bool json = false;
    int opt;
    while ((opt = cli_next(&p, &value)) != CLI_ARG_END) {
        switch (opt) {
        case CLI_ARG_POSITIONAL:
            if (model_path)
                return cli_usage_error(cmd, "unexpected argument '%s'", value);
            model_path = value;
            break;
        case OPT_DATA:
            spec = value;
            break;
        case OPT_VARIANT:
            variant = value;
            break;
        case OPT_LIMIT:
            if (!cli_option_long(cmd, "limit", value, 1, 1L << 30, &limit))
                return CLI_EXIT_USAGE;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_THREADS:
            if (!cli_option_long(cmd, "threads", value, 1, 256, &threads))
                return CLI_EXIT_USAGE;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (!model_path || !spec)
        return cli_usage_error(cmd, "expected MODEL.sieve and --data SPEC");
    classifier c;
    int rc = classifier_open(&c, cmd, model_path, (int)threads, variant);
    sieve_dataset *ds = NULL;
    if (rc == CLI_EXIT_OK) {
        sieve_status st = sieve_dataset_open(c.ctx, spec, &ds);
        if (st != SIEVE_OK) {
            cli_error_status(cmd, NULL, c.ctx, st);
            rc = CLI_EXIT_FAILURE;
        }
    }
    if (rc != CLI_EXIT_OK) {
        classifier_close(&c);
        return rc;
    }
    size_t n = sieve_dataset_count(ds);
    if (limit > 0 && (size_t)limit < n)
        n = (size_t)limit;
    if (n == 0) {
        cli_error(cmd, spec, "no labelled items to evaluate");
        sieve_dataset_free(ds);
        classifier_close(&c);
        return CLI_EXIT_FAILURE;
    }
    /* An image folder's labels are its sorted class folder names: map them
     * to the model's classes by name when every folder names one. */
    int n_classes = sieve_dataset_class_count(ds);
    int *label_map = calloc((size_t)n_classes + 1, sizeof(int));
    bool by_name = label_map && sieve_dataset_class_name(ds, 0) != NULL;
    for (int k = 0; label_map && k < n_classes; k++) {
        label_map[k] = k;
        const char *folder = sieve_dataset_class_name(ds, k);
        int found = -1;
        for (int j = 0; folder && j < sieve_model_label_count(c.model); j++)
            if (strcmp(folder, sieve_model_label(c.model, j)) == 0)
                found = j;
        if (found < 0)
            by_name = false;
        else if (by_name)
            label_map[k] = found;
    }
    if (label_map && sieve_dataset_class_name(ds, 0) && !by_name) {
        for (int k = 0; k < n_classes; k++)
            label_map[k] = k;
        fprintf(stderr, "sieve eval: %s: class folders do not all name model labels; "
                        "folder i (sorted by name) is taken as class i\n", spec);
    }
    size_t correct = 0, done = 0, replayed = 0;
    bool progress = isatty(STDERR_FILENO);
    double t0 = cli_now_ms(), compute_ms = 0;
    for (size_t i = 0; i < n; i++) {
        int label = -1;
        sieve_status st = sieve_dataset_get(ds, i, &c.pre, c.input, c.input_n, &label);
        double t1 = cli_now_ms();
        if (st == SIEVE_OK)
            st = classifier_run(&c);
        compute_ms += cli_now_ms() - t1;
        if (st != SIEVE_OK) {
            cli_error(cmd, NULL, "item %zu: %s", i, sieve_context_error(c.ctx));
            rc = CLI_EXIT_FAILURE;
            break;
        }
        if (label_map && label >= 0 && label < n_classes)
            label = label_map[label];
        correct += classifier_rank(&c, 0) == label;
        replayed += c.where == CLASSIFIER_REPLAYED;
        done++;
        if (progress && (done % 500 == 0 || done == n))
            fprintf(stderr, "\r%zu/%zu  accuracy %.4f", done, n, (double)correct / (double)done);
    }
    if (progress)
        fputc('\n', stderr);
    double wall_ms = cli_now_ms() - t0;
    if (rc == CLI_EXIT_OK) {
        double accuracy = done ? (double)correct / (double)done : 0;
        double replay = done ? (double)replayed / (double)done : 0;
        double ips = compute_ms > 0 ? 1000.0 * (double)done / compute_ms : 0;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", model_path);
            cJSON_AddStringToObject(o, "data", spec);
            cJSON_AddNumberToObject(o, "images", (double)done);
            cJSON_AddNumberToObject(o, "correct", (double)correct);
            cJSON_AddNumberToObject(o, "accuracy", accuracy);
            if (c.variant_name) {
                cJSON_AddStringToObject(o, "variant", c.variant_name);
                cJSON_AddNumberToObject(o, "replay_fraction", replay);
            }
            cJSON_AddNumberToObject(o, "images_per_s", ips);
            cJSON_AddNumberToObject(o, "wall_ms", wall_ms);
            cJSON_AddNumberToObject(o, "threads", (double)threads);
            char *text = cJSON_PrintUnformatted(o);
            puts(text ? text : "{}");
            cJSON_free(text);
            cJSON_Delete(o);
        } else {
            printf("%s on %s: top-1 accuracy %.4f (%zu/%zu), %.1f images/s (model only, %ld "
                   "thread%s)\n",
                   model_path, spec, accuracy, correct, done, ips, threads, threads > 1 ? "s" : "");
            if (c.variant_name)
                printf("  speculation with '%s', replayed on the original: %.2f%% (%zu)\n",
                       c.variant_name, 100 * replay, replayed);
        }
    }
    free(label_map);
    sieve_dataset_free(ds);
    classifier_close(&c);
    return rc;
}
