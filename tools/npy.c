/* sieve CLI — NumPy .npy reader and writer (see npy.h). */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* np.save pads the header so the data starts on a 64-byte boundary and
 * leaves room for the first dimension to grow to 21 digits
 * (numpy/lib/format.py: ARRAY_ALIGN, GROWTH_AXIS_MAX_DIGITS). */
#define NPY_ARRAY_ALIGN 64
#define NPY_GROWTH_AXIS_MAX_DIGITS 21

typedef struct npy_dtype_traits {
    char kind;
    unsigned size;
    const char *name;
} npy_dtype_traits;

static const npy_dtype_traits npy_dtypes[NPY_DTYPE_COUNT] = {
#define NPY_X_TRAITS(id, k, s, n) [NPY_##id] = {.kind = k, .size = s, .name = n},
    NPY_DTYPE_LIST(NPY_X_TRAITS)
#undef NPY_X_TRAITS
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int npy_fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *npy_dtype_name(npy_dtype dtype)
{
    return (unsigned)dtype < NPY_DTYPE_COUNT ? npy_dtypes[dtype].name : "unknown";
}

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* ---- header parsing -------------------------------------------------------
 * The header is a Python literal written by repr(); we accept exactly the
 * dict np.save writes (keys in any order, either quote style, optional
 * trailing commas) and nothing that would need Python to evaluate. */

typedef struct npy_cursor {
    const char *p, *end, *start;
    char *err;
    size_t err_len;
} npy_cursor;

static void skip_space(npy_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int expect_char(npy_cursor *c, char ch, const char *what)
{
    skip_space(c);
    if (c->p >= c->end || *c->p != ch)
        return npy_fail(c->err, c->err_len, "malformed header: expected '%c' %s at byte %td", ch,
                        what, c->p - c->start);
    c->p++;
    return 0;
}

/* A quoted string without escapes; *text points into the header. */
static int parse_string(npy_cursor *c, const char **text, size_t *len)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return npy_fail(c->err, c->err_len, "malformed header: expected a string at byte %td",
                        c->p - c->start);
    char quote = *c->p++;
    const char *begin = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return npy_fail(c->err, c->err_len, "malformed header: bad string at byte %td",
                            c->p - c->start);
        c->p++;
    }
    if (c->p >= c->end)
        return npy_fail(c->err, c->err_len, "malformed header: unterminated string");
    *text = begin;
    *len = (size_t)(c->p - begin);
    c->p++;
    return 0;
}

static bool take_word(npy_cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

static int parse_descr(npy_cursor *c, npy_dtype *dtype, bool *big_endian)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '[')
        return npy_fail(c->err, c->err_len, "structured dtypes are not supported");
    const char *s;
    size_t len;
    if (parse_string(c, &s, &len) != 0)
        return -1;
    /* descr is [byte order] kind size, e.g. "<f4", "|u1". */
    size_t i = 0;
    char order = '=';
    if (len > 0 && strchr("<>|=", s[0]) != NULL)
        order = s[i++];
    char kind = i < len ? s[i++] : '\0';
    unsigned size = 0;
    bool digits = false;
    while (i < len && s[i] >= '0' && s[i] <= '9' && size < 1000) {
        size = size * 10 + (unsigned)(s[i++] - '0');
        digits = true;
    }
    for (int d = 0; digits && i == len && d < NPY_DTYPE_COUNT; d++) {
        if (npy_dtypes[d].kind == kind && npy_dtypes[d].size == size) {
            *dtype = (npy_dtype)d;
            *big_endian = order == '>' || (order != '<' && !host_is_little_endian());
            return 0;
        }
    }
    return npy_fail(c->err, c->err_len,
                    "unsupported dtype '%.*s' (supported: float32, float64, int64, int32, uint8)",
                    (int)(len > 32 ? 32 : len), s);
}

static int parse_bool(npy_cursor *c, bool *value)
{
    skip_space(c);
    if (take_word(c, "True"))
        *value = true;
    else if (take_word(c, "False"))
        *value = false;
    else
        return npy_fail(c->err, c->err_len,
                        "malformed header: 'fortran_order' must be True or False");
    return 0;
}

static int parse_dim(npy_cursor *c, int64_t *dim)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return npy_fail(c->err, c->err_len,
                        "malformed header: shape entries must be non-negative integers "
                        "(byte %td)",
                        c->p - c->start);
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int digit = *c->p++ - '0';
        if (v > (INT64_MAX - digit) / 10)
            return npy_fail(c->err, c->err_len, "shape dimension does not fit in 64 bits");
        v = v * 10 + digit;
    }
    *dim = v;
    return 0;
}

/* A Python tuple of ints: (), (3,), (2, 3) or (2, 3,). */
static int parse_shape(npy_cursor *c, npy_array *a)
{
    if (expect_char(c, '(', "to open 'shape'") != 0)
        return -1;
    a->rank = 0;
    skip_space(c);
    if (c->p < c->end && *c->p == ')') {
        c->p++;
        return 0;
    }
    bool trailing_comma = false;
    for (;;) {
        if (a->rank == NPY_MAX_RANK)
            return npy_fail(c->err, c->err_len, "shape has more than %d dimensions",
                            NPY_MAX_RANK);
        if (parse_dim(c, &a->dims[a->rank]) != 0)
            return -1;
        a->rank++;
        skip_space(c);
        trailing_comma = false;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            trailing_comma = true;
            skip_space(c);
        }
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            break;
        }
        if (!trailing_comma)
            return npy_fail(c->err, c->err_len,
                            "malformed header: expected ',' or ')' in 'shape' at byte %td",
                            c->p - c->start);
    }
    /* "(3)" is the integer 3 in Python, not a tuple; numpy rejects it too. */
    if (a->rank == 1 && !trailing_comma)
        return npy_fail(c->err, c->err_len, "malformed header: 'shape' is not a tuple");
    return 0;
}

static int parse_header(const char *text, size_t len, npy_array *a, bool *big_endian,
                        char *err, size_t err_len)
{
    npy_cursor c = {.p = text, .end = text + len, .start = text, .err = err, .err_len = err_len};
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    if (expect_char(&c, '{', "at the start of the header") != 0)
        return -1;
    for (;;) {
        skip_space(&c);
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        const char *key;
        size_t key_len;
        if (parse_string(&c, &key, &key_len) != 0)
            return -1;
        if (expect_char(&c, ':', "after a key") != 0)
            return -1;
        bool *seen;
        int rc;
        if (key_len == 5 && memcmp(key, "descr", 5) == 0) {
            seen = &have_descr;
            rc = parse_descr(&c, &a->dtype, big_endian);
        } else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0) {
            seen = &have_order;
            rc = parse_bool(&c, &fortran);
        } else if (key_len == 5 && memcmp(key, "shape", 5) == 0) {
            seen = &have_shape;
            rc = parse_shape(&c, a);
        } else {
            return npy_fail(err, err_len, "malformed header: unexpected key '%.*s'",
                            (int)(key_len > 32 ? 32 : key_len), key);
        }
        if (rc != 0)
            return -1;
        if (*seen)
            return npy_fail(err, err_len, "malformed header: key '%.*s' given twice",
                            (int)key_len, key);
        *seen = true;
        skip_space(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (expect_char(&c, '}', "to close the header") != 0)
            return -1;
        break;
    }
    skip_space(&c);
    if (c.p != c.end)
        return npy_fail(err, err_len, "malformed header: unexpected text after '}'");
    if (!have_descr || !have_order || !have_shape)
        return npy_fail(err, err_len, "malformed header: missing '%s'",
                        !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    if (fortran)
        return npy_fail(err, err_len,
                        "Fortran-order arrays are not supported (save a C-order array, "
                        "e.g. np.save(path, np.ascontiguousarray(a)))");
    return 0;
}

/* ---- element conversion --------------------------------------------------- */

static uint64_t load_uint(const uint8_t *p, unsigned size, bool big_endian)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[big_endian ? size - 1 - i : i] << (8 * i);
    return v;
}

static float element_to_float(const uint8_t *p, npy_dtype dtype, bool big_endian)
{
    uint64_t bits = load_uint(p, npy_dtypes[dtype].size, big_endian);
    switch (dtype) {
    case NPY_FLOAT32: {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        return f;
    }
    case NPY_FLOAT64: {
        double d;
        memcpy(&d, &bits, sizeof(d));
        return (float)d;
    }
    case NPY_INT64: {
        int64_t i;
        memcpy(&i, &bits, sizeof(i));
        return (float)i;
    }
    case NPY_INT32: {
        uint32_t b32 = (uint32_t)bits;
        int32_t i;
        memcpy(&i, &b32, sizeof(i));
        return (float)i;
    }
    case NPY_UINT8:
        return (float)bits;
    case NPY_DTYPE_COUNT:
        break;
    }
    return 0.0f;
}

int npy_parse(const void *data, size_t size, npy_array *out, char *err, size_t err_len)
{
    const uint8_t *bytes = data;
    npy_array a;
    memset(&a, 0, sizeof(a));
    memset(out, 0, sizeof(*out));

    if (size < NPY_MAGIC_LEN + 2 || memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return npy_fail(err, err_len, "not a NumPy .npy file (bad magic)");
    unsigned major = bytes[6], minor = bytes[7];
    size_t prefix;
    if (major == 1 && minor == 0)
        prefix = 10;
    else if ((major == 2 || major == 3) && minor == 0)
        prefix = 12;
    else
        return npy_fail(err, err_len, "unsupported .npy format version %u.%u", major, minor);
    if (size < prefix)
        return npy_fail(err, err_len, "file ends inside the .npy header");
    size_t header_len = (size_t)load_uint(bytes + 8, (unsigned)(prefix - 8), false);
    if (header_len > size - prefix)
        return npy_fail(err, err_len, "header length %zu runs past the end of the file (%zu bytes)",
                        header_len, size);

    bool big_endian = false;
    if (parse_header((const char *)bytes + prefix, header_len, &a, &big_endian, err, err_len) != 0)
        return -1;

    unsigned elem = npy_dtypes[a.dtype].size;
    size_t count = 1;
    for (int i = 0; i < a.rank; i++) {
        if (a.dims[i] == 0) {
            count = 0;
            break;
        }
    }
    for (int i = 0; count != 0 && i < a.rank; i++) {
        uint64_t d = (uint64_t)a.dims[i];
        if (d > SIZE_MAX / elem / count)
            return npy_fail(err, err_len, "shape is too large: its byte size overflows");
        count *= (size_t)d;
    }
    size_t need = count * elem;
    size_t have = size - prefix - header_len;
    if (have < need)
        return npy_fail(err, err_len, "data truncated: shape needs %zu bytes, file has %zu", need,
                        have);
    if (have > need)
        return npy_fail(err, err_len, "%zu bytes of unexpected data after the array",
                        have - need);
    if (count > SIZE_MAX / sizeof(float))
        return npy_fail(err, err_len, "shape is too large for float32 conversion");

    a.count = count;
    a.data = malloc(count ? count * sizeof(float) : 1);
    if (!a.data)
        return npy_fail(err, err_len, "out of memory for %zu elements", count);
    const uint8_t *src = bytes + prefix + header_len;
    for (size_t i = 0; i < count; i++)
        a.data[i] = element_to_float(src + i * elem, a.dtype, big_endian);
    *out = a;
    return 0;
}

void npy_free(npy_array *array)
{
    if (array) {
        free(array->data);
        array->data = NULL;
        array->count = 0;
    }
}

/* ---- writing ---------------------------------------------------------------- */

int npy_write(FILE *file, const float *values, const int64_t *dims, int rank, char *err,
              size_t err_len)
{
    if (rank < 0 || rank > NPY_MAX_RANK)
        return npy_fail(err, err_len, "rank %d is out of range", rank);
    size_t count = 1;
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return npy_fail(err, err_len, "negative dimension %lld", (long long)dims[i]);
        if (dims[i] == 0)
            empty = true;
    }
    for (int i = 0; !empty && i < rank; i++) {
        if ((uint64_t)dims[i] > SIZE_MAX / sizeof(float) / count)
            return npy_fail(err, err_len, "shape is too large");
        count *= (size_t)dims[i];
    }
    if (empty)
        count = 0;

    /* Same text as np.save: repr() of the dict with sorted keys. */
    char header[NPY_MAX_RANK * 24 + 256];
    size_t len = (size_t)snprintf(header, sizeof(header),
                                  "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < rank; i++)
        len += (size_t)snprintf(header + len, sizeof(header) - len, "%s%lld", i ? ", " : "",
                                (long long)dims[i]);
    len += (size_t)snprintf(header + len, sizeof(header) - len, "%s), }", rank == 1 ? "," : "");
    if (rank > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)dims[0]);
        for (int i = digits; i < NPY_GROWTH_AXIS_MAX_DIGITS; i++)
            header[len++] = ' ';
    }
    /* Version 1.0 has a 2-byte header length; this header always fits. */
    size_t prefix = NPY_MAGIC_LEN + 2 + 2;
    size_t pad = NPY_ARRAY_ALIGN - (prefix + len + 1) % NPY_ARRAY_ALIGN;
    if (pad == NPY_ARRAY_ALIGN)
        pad = 0;
    memset(header + len, ' ', pad);
    len += pad;
    header[len++] = '\n';

    uint8_t start[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(len & 0xff),
                         (uint8_t)(len >> 8)};
    if (fwrite(start, 1, sizeof(start), file) != sizeof(start) ||
        fwrite(header, 1, len, file) != len)
        return npy_fail(err, err_len, "write failed: %s", strerror(errno));

    /* Little-endian float32 whatever the host byte order. */
    uint8_t chunk[4096];
    size_t done = 0;
    while (done < count) {
        size_t n = count - done;
        if (n > sizeof(chunk) / 4)
            n = sizeof(chunk) / 4;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits;
            memcpy(&bits, &values[done + i], 4);
            for (int b = 0; b < 4; b++)
                chunk[4 * i + (size_t)b] = (uint8_t)(bits >> (8 * b));
        }
        if (fwrite(chunk, 4, n, file) != n)
            return npy_fail(err, err_len, "write failed: %s", strerror(errno));
        done += n;
    }
    return 0;
}

int npy_write_file(const char *path, const float *values, const int64_t *dims, int rank,
                   char *err, size_t err_len)
{
    FILE *file = fopen(path, "wb");
    if (!file)
        return npy_fail(err, err_len, "cannot create: %s", strerror(errno));
    int rc = npy_write(file, values, dims, rank, err, err_len);
    if (fclose(file) != 0 && rc == 0)
        rc = npy_fail(err, err_len, "write failed: %s", strerror(errno));
    if (rc != 0)
        remove(path);
    return rc;
}
