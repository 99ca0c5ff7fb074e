/* libsieve — Speculative Inference on the Edge with Versatile Exportation.
 * Umbrella header: include this one. */
#ifndef SIEVE_SIEVE_H
#define SIEVE_SIEVE_H

#include "cfloat.h"
#include "dataset.h"
#include "detector.h"
#include "explore.h"
#include "image.h"
#include "model.h"
#include "status.h"

#define SIEVE_VERSION_STRING "0.1.0"

#endif
