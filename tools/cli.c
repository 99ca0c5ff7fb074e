/* sieve CLI — shared helpers (see cli.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, mkdir */
#endif

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- option parsing --------------------------------------------------------- */

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv,
                     const cli_option *options, int n_options)
{
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->next = 1;
    p->options = options;
    p->n_options = n_options;
    p->only_positional = false;
}

static const cli_option *find_long(const cli_parser *p, const char *name, size_t len)
{
    for (int i = 0; i < p->n_options; i++) {
        const char *o = p->options[i].name;
        if (o && strlen(o) == len && memcmp(o, name, len) == 0)
            return &p->options[i];
    }
    return NULL;
}

static const cli_option *find_short(const cli_parser *p, char c)
{
    for (int i = 0; i < p->n_options; i++)
        if (p->options[i].short_name == c)
            return &p->options[i];
    return NULL;
}

int cli_next(cli_parser *p, const char **value)
{
    *value = NULL;
    if (p->next >= p->argc)
        return CLI_ARG_END;
    const char *arg = p->argv[p->next++];
    if (p->only_positional || arg[0] != '-' || arg[1] == '\0') {
        *value = arg;
        return CLI_ARG_POSITIONAL;
    }
    if (strcmp(arg, "--") == 0) {
        p->only_positional = true;
        return cli_next(p, value);
    }

    const cli_option *opt;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        opt = find_long(p, name, len);
        if (!opt) {
            cli_usage_error(p->cmd, "unknown option '--%.*s'", (int)len, name);
            return CLI_ARG_ERROR;
        }
        if (eq) {
            if (!opt->has_value) {
                cli_usage_error(p->cmd, "option '--%s' takes no value", opt->name);
                return CLI_ARG_ERROR;
            }
            inline_value = eq + 1;
        }
    } else {
        opt = find_short(p, arg[1]);
        if (!opt) {
            cli_usage_error(p->cmd, "unknown option '-%c'", arg[1]);
            return CLI_ARG_ERROR;
        }
        if (arg[2] != '\0') {
            if (!opt->has_value) {
                /* Grouped short flags are not worth the ambiguity here. */
                cli_usage_error(p->cmd, "unknown option '%s'", arg);
                return CLI_ARG_ERROR;
            }
            inline_value = arg + 2;
        }
    }

    if (opt->has_value) {
        if (!inline_value) {
            if (p->next >= p->argc) {
                cli_usage_error(p->cmd, "option '--%s' needs a value", opt->name);
                return CLI_ARG_ERROR;
            }
            inline_value = p->argv[p->next++];
        }
        *value = inline_value;
    }
    return opt->id;
}

/* ---- numbers ------------------------------------------------------------------ */

bool cli_parse_long(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_float(const char *text, float *out)
{
    if (!text || !*text)
        return false;
    char *end;
    float v = strtof(text, &end); /* overflow gives inf, rejected below */
    if (*end != '\0' || end == text || !isfinite(v))
        return false;
    *out = v;
    return true;
}

int cli_parse_float_list(const char *text, float *out, int max)
{
    int n = 0;
    const char *p = text;
    char item[64];
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == max || len == 0 || len >= sizeof(item))
            return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        if (!cli_parse_float(item, &out[n]))
            return -1;
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

bool cli_option_long(const char *cmd, const char *option, const char *text, long min, long max,
                     long *out)
{
    if (cli_parse_long(text, min, max, out))
        return true;
    cli_usage_error(cmd, "--%s: expected an integer from %ld to %ld, got '%s'", option, min, max,
                    text);
    return false;
}

bool cli_option_float(const char *cmd, const char *option, const char *text, float *out)
{
    if (cli_parse_float(text, out))
        return true;
    cli_usage_error(cmd, "--%s: expected a finite number, got '%s'", option, text);
    return false;
}

/* ---- errors --------------------------------------------------------------------- */

static void vreport(const char *cmd, const char *file, const char *fmt, va_list ap)
{
    fprintf(stderr, "sieve %s: ", cmd);
    if (file)
        fprintf(stderr, "%s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *cmd, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, file, fmt, ap);
    va_end(ap);
}

void cli_error_status(const char *cmd, const char *file, const sieve_context *ctx,
                      sieve_status status)
{
    const char *msg = ctx ? sieve_context_error(ctx) : "";
    if (!msg || !*msg)
        msg = sieve_status_str(status);
    /* The library often names the file itself ("m.sieve: not a ..."). */
    size_t n = file ? strlen(file) : 0;
    if (n && strncmp(msg, file, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    cli_error(cmd, file, "%s", msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sieve %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'sieve %s --help')\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* ---- files -------------------------------------------------------------------- */

int cli_read_file(const char *path, void **data, size_t *size, char *err, size_t err_len)
{
    *data = NULL;
    *size = 0;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s", strerror(errno));
        return -1;
    }
    /* Read in growing chunks: works for pipes and /dev/stdin too. */
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        unsigned char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    int saved_errno = errno;
    if (!is_stdin)
        fclose(f);
    if (!buf) {
        snprintf(err, err_len, "out of memory reading the file");
        return -1;
    }
    if (failed) {
        free(buf);
        snprintf(err, err_len, "read failed: %s", strerror(saved_errno));
        return -1;
    }
    *data = buf;
    *size = len;
    return 0;
}

int cli_make_dirs(const char *path, char *err, size_t err_len)
{
    size_t n = strlen(path);
    char *copy = malloc(n + 1);
    if (!copy) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    memcpy(copy, path, n + 1);
    /* Create every prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (copy[i] != '/' && copy[i] != '\0')
            continue;
        char saved = copy[i];
        copy[i] = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "cannot create directory: %s", strerror(errno));
            free(copy);
            return -1;
        }
        copy[i] = saved;
    }
    free(copy);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "not a directory");
        return -1;
    }
    return 0;
}

const char *cli_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- formatting ---------------------------------------------------------------- */

const char *cli_shape_str(const sieve_shape *shape, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < shape->rank && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "",
                                 (long long)shape->dims[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

const char *cli_bytes_str(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.*f %s", v < 10.0 ? 2 : 1, v, units[u]);
    return buf;
}

const char *cli_count_str(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"", "k", "M", "G", "T"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu", (unsigned long long)n);
    else
        snprintf(buf, len, "%.*f%s", v < 10.0 ? 2 : 1, v, units[u]);
    return buf;
}

const char *cli_amount_str(uint64_t v, bool bytes, char *buf, size_t len)
{
    char short_form[32] = "";
    if (bytes && v >= 1024u)
        cli_bytes_str(v, short_form, sizeof(short_form));
    else if (!bytes && v >= 1000u)
        cli_count_str(v, short_form, sizeof(short_form));
    snprintf(buf, len, "%llu%s%s%s%s", (unsigned long long)v, bytes ? " bytes" : "",
             *short_form ? " (" : "", short_form, *short_form ? ")" : "");
    return buf;
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
