/* libsieve — labelled datasets: idx (MNIST / Fashion-MNIST) files, plain or
 * gzipped, and ImageFolder directories. Gzip is inflated with stb_image's
 * zlib decoder, so no further dependency is needed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "common.h"
#include "pixels.h"
#include "sieve/dataset.h"
#include "sieve/image.h"

#define IDX_MAX_BYTES ((size_t)1 << 31)

struct sieve_dataset {
    sieve_context *ctx;
    /* idx */
    uint8_t *images; /* count x rows x cols, owned by stb (free) */
    uint8_t *labels; /* count, owned by stb (free) */
    size_t images_size, labels_size;
    size_t first, count;
    int rows, cols;
    /* ImageFolder */
    char **paths;
    int *path_labels;
    size_t n_paths;
    char **classes;
    int n_classes;
    float *scratch; /* rows*cols floats: one idx image as pixels */
};

static sieve_status read_file(sieve_context *ctx, const char *path, uint8_t **out, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: %s", path, strerror(errno));
    size_t end = 0;
    sieve_status fst = sieve_file_size(ctx, f, path, &end);
    if (fst == SIEVE_OK && end > IDX_MAX_BYTES)
        fst = sieve_fail(ctx, SIEVE_ERR_IO, "%s: too large for a dataset file", path);
    if (fst != SIEVE_OK) {
        fclose(f);
        return fst;
    }
    uint8_t *buf = malloc(end + 1);
    if (!buf) {
        fclose(f);
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, end, f);
    fclose(f);
    if (got != end) {
        free(buf);
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: short read", path);
    }
    *out = buf;
    *size = got;
    return SIEVE_OK;
}

/* Inflates a gzip member (RFC 1952) in place of `*data`. */
static sieve_status gunzip(sieve_context *ctx, const char *path, uint8_t **data, size_t *size)
{
    const uint8_t *p = *data;
    size_t n = *size, at = 10;
    if (n < 18 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: not a gzip file", path);
    uint8_t flags = p[3];
    if (flags & 4) { /* FEXTRA */
        if (at + 2 > n)
            return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: truncated gzip header", path);
        at += 2 + (size_t)(p[at] | p[at + 1] << 8);
    }
    for (int bit = 8; bit <= 16; bit <<= 1) /* FNAME, FCOMMENT */
        if (flags & bit) {
            while (at < n && p[at])
                at++;
            at++;
        }
    if (flags & 2)
        at += 2;
    if (at >= n - 8)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: truncated gzip header", path);
    uint32_t isize = (uint32_t)p[n - 4] | (uint32_t)p[n - 3] << 8 | (uint32_t)p[n - 2] << 16 |
                     (uint32_t)p[n - 1] << 24;
    int out_len = 0;
    /* stb's bit reader looks ahead: hand it the 8-byte trailer as well */
    char *out = stbi_zlib_decode_noheader_malloc((const char *)p + at, (int)(n - at), &out_len);
    if (!out || out_len < 0 || (uint32_t)out_len != isize) {
        free(out);
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: corrupt gzip data", path);
    }
    free(*data);
    *data = (uint8_t *)out;
    *size = (size_t)out_len;
    return SIEVE_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Opens PREFIX-<kind>-idxN-ubyte or the same with .gz. */
static sieve_status load_idx(sieve_context *ctx, const char *prefix, const char *kind,
                             uint8_t **data, size_t *size)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s-%s.gz", prefix, kind) >= (int)sizeof(path))
        return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset prefix too long");
    struct stat st;
    bool gz = stat(path, &st) == 0;
    if (!gz)
        snprintf(path, sizeof(path), "%s-%s", prefix, kind);
    sieve_status s = read_file(ctx, path, data, size);
    if (s == SIEVE_OK && gz && (s = gunzip(ctx, path, data, size)) != SIEVE_OK) {
        free(*data);
        *data = NULL;
    }
    return s;
}

static sieve_status open_idx(sieve_dataset *ds, const char *spec)
{
    sieve_context *ctx = ds->ctx;
    char prefix[4096];
    long long start = 0, end = -1;
    snprintf(prefix, sizeof(prefix), "%s", spec);
    char *br = strrchr(prefix, '[');
    if (br && prefix[strlen(prefix) - 1] == ']') {
        char *colon = strchr(br, ':');
        if (!colon)
            return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset '%s': slice must be [START:END]", spec);
        char *q;
        if (colon > br + 1) {
            start = strtoll(br + 1, &q, 10);
            if (q != colon || start < 0)
                return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset '%s': bad slice start", spec);
        }
        if (colon[1] != ']') {
            end = strtoll(colon + 1, &q, 10);
            if (*q != ']' || end < 0)
                return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset '%s': bad slice end", spec);
        }
        *br = 0;
    }
    sieve_status s = load_idx(ctx, prefix, "images-idx3-ubyte", &ds->images, &ds->images_size);
    if (s == SIEVE_OK)
        s = load_idx(ctx, prefix, "labels-idx1-ubyte", &ds->labels, &ds->labels_size);
    if (s != SIEVE_OK)
        return s;
    if (ds->images_size < 16 || be32(ds->images) != 0x803 || ds->labels_size < 8 ||
        be32(ds->labels) != 0x801)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "dataset '%s': bad idx magic numbers", spec);
    uint32_t n = be32(ds->images + 4), rows = be32(ds->images + 8), cols = be32(ds->images + 12);
    if (be32(ds->labels + 4) != n)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "dataset '%s': %u images but %u labels", spec, n,
                          be32(ds->labels + 4));
    if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 ||
        (uint64_t)n * rows * cols > ds->images_size - 16 || n > ds->labels_size - 8)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "dataset '%s': idx sizes exceed the file", spec);
    if (end < 0 || end > (long long)n)
        end = n;
    if (start > end)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset '%s': empty slice [%lld:%lld] of %u", spec,
                          start, end, n);
    ds->first = (size_t)start;
    ds->count = (size_t)(end - start);
    ds->rows = (int)rows;
    ds->cols = (int)cols;
    int max_label = 0;
    for (uint32_t i = 0; i < n; i++)
        max_label = SIEVE_MAX(max_label, ds->labels[8 + i]);
    ds->n_classes = max_label + 1;
    ds->scratch = malloc((size_t)rows * cols * sizeof(float));
    if (!ds->scratch)
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "dataset '%s': out of memory", spec);
    return SIEVE_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of `dir` that are directories (want_dirs) or
 * regular files. */
static sieve_status list_dir(sieve_context *ctx, const char *dir, bool want_dirs, char ***out,
                             size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return sieve_fail(ctx, SIEVE_ERR_IO, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    sieve_status s = SIEVE_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof(char *));
            if (!grown) {
                s = sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            s = sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (s != SIEVE_OK) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return s;
    }
    if (n)
        qsort(names, n, sizeof(char *), cmp_str);
    *out = names;
    *count = n;
    return SIEVE_OK;
}

static sieve_status open_folder(sieve_dataset *ds, const char *dir)
{
    sieve_context *ctx = ds->ctx;
    size_t n_classes = 0;
    sieve_status s = list_dir(ctx, dir, true, &ds->classes, &n_classes);
    if (s != SIEVE_OK)
        return s;
    ds->n_classes = (int)n_classes;
    if (n_classes == 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: no class sub-folders", dir);
    size_t cap = 0;
    for (size_t c = 0; c < n_classes; c++) {
        char sub[4096];
        if (snprintf(sub, sizeof(sub), "%s/%s", dir, ds->classes[c]) >= (int)sizeof(sub))
            return sieve_fail(ctx, SIEVE_ERR_ARG, "%s: path too long", dir);
        char **files = NULL;
        size_t n_files = 0;
        if ((s = list_dir(ctx, sub, false, &files, &n_files)) != SIEVE_OK)
            return s;
        for (size_t i = 0; i < n_files; i++) {
            if (ds->n_paths == cap) {
                cap = cap ? 2 * cap : 256;
                char **p = realloc(ds->paths, cap * sizeof(char *));
                int *l = realloc(ds->path_labels, cap * sizeof(int));
                if (p)
                    ds->paths = p;
                if (l)
                    ds->path_labels = l;
                if (!p || !l) {
                    for (size_t j = i; j < n_files; j++)
                        free(files[j]);
                    free(files);
                    return sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory", dir);
                }
            }
            size_t len = strlen(sub) + strlen(files[i]) + 2;
            char *path = malloc(len);
            if (path)
                snprintf(path, len, "%s/%s", sub, files[i]);
            free(files[i]);
            if (!path) {
                for (size_t j = i + 1; j < n_files; j++)
                    free(files[j]);
                free(files);
                return sieve_fail(ctx, SIEVE_ERR_NOMEM, "%s: out of memory", dir);
            }
            ds->paths[ds->n_paths] = path;
            ds->path_labels[ds->n_paths] = (int)c;
            ds->n_paths++;
        }
        free(files);
    }
    ds->count = ds->n_paths;
    if (ds->count == 0)
        return sieve_fail(ctx, SIEVE_ERR_FORMAT, "%s: class folders hold no files", dir);
    return SIEVE_OK;
}

sieve_status sieve_dataset_open(sieve_context *ctx, const char *spec, sieve_dataset **out)
{
    if (!ctx || !spec || !out)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset: missing spec or output");
    *out = NULL;
    sieve_dataset *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return sieve_fail(ctx, SIEVE_ERR_NOMEM, "dataset: out of memory");
    ds->ctx = ctx;
    sieve_status s;
    if (strncmp(spec, "idx:", 4) == 0) {
        s = open_idx(ds, spec + 4);
    } else {
        struct stat st;
        if (stat(spec, &st) != 0 || !S_ISDIR(st.st_mode))
            s = sieve_fail(ctx, SIEVE_ERR_ARG,
                           "dataset '%s': neither idx:PREFIX[START:END] nor an image folder", spec);
        else
            s = open_folder(ds, spec);
    }
    if (s != SIEVE_OK) {
        sieve_dataset_free(ds);
        return s;
    }
    *out = ds;
    return SIEVE_OK;
}

void sieve_dataset_free(sieve_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    free(ds->scratch);
    for (size_t i = 0; i < ds->n_paths; i++)
        free(ds->paths[i]);
    free(ds->paths);
    free(ds->path_labels);
    for (int c = 0; ds->classes && c < ds->n_classes; c++)
        free(ds->classes[c]);
    free(ds->classes);
    free(ds);
}

size_t sieve_dataset_count(const sieve_dataset *ds) { return ds ? ds->count : 0; }
int sieve_dataset_class_count(const sieve_dataset *ds) { return ds ? ds->n_classes : 0; }

const char *sieve_dataset_class_name(const sieve_dataset *ds, int label)
{
    if (!ds || !ds->classes || label < 0 || label >= ds->n_classes)
        return NULL;
    return ds->classes[label];
}

sieve_status sieve_dataset_get(sieve_dataset *ds, size_t i, const sieve_preprocess *pre,
                               float *dst, size_t n, int *label)
{
    if (!ds || !pre || !dst)
        return SIEVE_ERR_ARG;
    sieve_context *ctx = ds->ctx;
    if (i >= ds->count)
        return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset: item %zu of %zu", i, ds->count);
    if (ds->paths) {
        if (label)
            *label = ds->path_labels[i];
        return sieve_image_preprocess_file(ctx, ds->paths[i], pre, dst, n);
    }
    size_t k = ds->first + i;
    int h = pre->height, w = pre->width, c = pre->channels;
    for (int ch = 0; ch < c && ch < 4; ch++)
        if (!(pre->std[ch] != 0.0f))
            return sieve_fail(ctx, SIEVE_ERR_ARG, "dataset: std of channel %d is zero", ch);
    if (c < 1 || c > 4 || h < 1 || w < 1 || h > 16384 || w > 16384 || n != (size_t)c * h * w)
        return sieve_fail(ctx, SIEVE_ERR_SHAPE, "dataset: output of %zu values for %dx%dx%d", n, c,
                          h, w);
    const uint8_t *px = ds->images + 16 + k * (size_t)ds->rows * ds->cols;
    size_t hw = (size_t)ds->rows * ds->cols;
    for (size_t p = 0; p < hw; p++)
        ds->scratch[p] = px[p];
    sieve_status st = sieve_pixels_to_input(ctx, ds->scratch, ds->cols, ds->rows, 1, pre, dst);
    if (st != SIEVE_OK)
        return st;
    if (label)
        *label = ds->labels[8 + k];
    return SIEVE_OK;
}
