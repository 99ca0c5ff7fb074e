/* libsieve — labelled datasets named by one SPEC syntax:
 *   idx:PREFIX             PREFIX-images-idx3-ubyte[.gz] + PREFIX-labels-idx1-ubyte[.gz]
 *                          (e.g. idx:/usr/share/datasets/fashion-mnist/t10k)
 *   idx:PREFIX[START:END]  a slice (either bound may be omitted)
 *   DIR                    an ImageFolder: DIR/<class>/<image>, classes sorted by name */
#ifndef SIEVE_DATASET_H
#define SIEVE_DATASET_H

#include <stddef.h>

#include "model.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sieve_dataset sieve_dataset;

sieve_status sieve_dataset_open(sieve_context *ctx, const char *spec, sieve_dataset **out);
void sieve_dataset_free(sieve_dataset *ds);
size_t sieve_dataset_count(const sieve_dataset *ds);
/* Number of classes (largest label + 1, or the number of class folders). */
int sieve_dataset_class_count(const sieve_dataset *ds);
/* Class folder name, or NULL for idx data. */
const char *sieve_dataset_class_name(const sieve_dataset *ds, int label);
/* Item i preprocessed for a model (see sieve_image_preprocess); n must be
 * channels * height * width. `label` may be NULL. */
sieve_status sieve_dataset_get(sieve_dataset *ds, size_t i, const sieve_preprocess *pre,
                               float *dst, size_t n, int *label);

#ifdef __cplusplus
}
#endif
#endif
