/* A program outside the tree that finds the installed libsieve with
 * find_package(sieve) or pkg-config and loads a model. */
#include <stdio.h>

#include <sieve/sieve.h>

int main(int argc, char **argv)
{
    sieve_context *ctx = sieve_context_create(NULL);
    sieve_model *model = NULL;
    if (!ctx || argc < 2 || sieve_model_load_file(ctx, argv[1], &model) != SIEVE_OK) {
        fprintf(stderr, "consumer: %s\n", ctx ? sieve_context_error(ctx) : "no context");
        return 1;
    }
    printf("%s: %d layers\n", argv[1], sieve_model_layer_count(model));
    sieve_model_free(model);
    sieve_context_destroy(ctx);
    return 0;
}
