/* sieve CLI — shared helpers of the subcommands: the command table entry,
 * option parsing, number parsing, error reporting and small formatters.
 *
 * The tools use only the public API (<sieve/sieve.h>) so that they double
 * as examples of it. */
#ifndef SIEVE_TOOLS_CLI_H
#define SIEVE_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sieve/sieve.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Exit status of every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* the command ran but failed: bad file, bad model, I/O */
    CLI_EXIT_USAGE = 2,   /* bad command line */
};

/* ---- subcommands ------------------------------------------------------------
 * Each takes argv[0] = its own name and returns an exit status. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `sieve --help` */
    int (*run)(int argc, char **argv);
} cli_command;

int cmd_classify(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* ---- option parsing ---------------------------------------------------------
 * Long options "--name VALUE" / "--name=VALUE", short options "-x VALUE" /
 * "-xVALUE", flags without values, options in any order and repeated as
 * often as the caller accepts, "--" ends the options, and "-" alone is a
 * positional argument. A value is taken verbatim even when it starts with
 * '-' (so "--mean -0.5" works). */

typedef struct cli_option {
    int id;           /* what cli_next returns for this option (>= 0) */
    const char *name; /* long name without "--" */
    char short_name;  /* 0: none */
    bool has_value;
} cli_option;

enum {
    CLI_ARG_END = -1,        /* no more arguments */
    CLI_ARG_POSITIONAL = -2, /* *value is a positional argument */
    CLI_ARG_ERROR = -3,      /* a usage error was printed */
};

typedef struct cli_parser {
    const char *cmd; /* subcommand name, for messages */
    int argc;
    char **argv;
    int next;
    const cli_option *options;
    int n_options;
    bool only_positional; /* after "--" */
} cli_parser;

/* Parses argv[1..argc) (argv[0] is the subcommand name). */
void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv,
                     const cli_option *options, int n_options);
/* Next option id, CLI_ARG_POSITIONAL or CLI_ARG_END; *value receives the
 * option's value (NULL for flags) or the positional argument. On a usage
 * error prints one line to stderr and returns CLI_ARG_ERROR. */
int cli_next(cli_parser *p, const char **value);

/* ---- numbers: the whole text must be consumed ----------------------------- */

bool cli_parse_long(const char *text, long min, long max, long *out);
/* Finite floats only. */
bool cli_parse_float(const char *text, float *out);
/* Comma-separated finite floats, at most `max`; returns the count or -1. */
int cli_parse_float_list(const char *text, float *out, int max);

/* The same, printing "sieve CMD: --OPTION: ..." on failure. */
bool cli_option_long(const char *cmd, const char *option, const char *text, long min, long max,
                     long *out);
bool cli_option_float(const char *cmd, const char *option, const char *text, float *out);

/* ---- errors -------------------------------------------------------------------
 * One line on stderr: "sieve CMD: FILE: PROBLEM" (FILE omitted when NULL). */

void cli_error(const char *cmd, const char *file, const char *fmt, ...) CLI_PRINTF(3, 4);
/* The problem is the context's last error message, else the status text. */
void cli_error_status(const char *cmd, const char *file, const sieve_context *ctx,
                      sieve_status status);
/* A usage error: the message plus a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* ---- files ------------------------------------------------------------------ */

/* Reads a whole file ("-": standard input) into malloc'd memory (free with
 * free()). Returns 0, or -1 with a reason (e.g. "No such file or
 * directory") in err. */
int cli_read_file(const char *path, void **data, size_t *size, char *err, size_t err_len);
/* Creates a directory and its missing parents (like mkdir -p). */
int cli_make_dirs(const char *path, char *err, size_t err_len);
/* Last path component ("a/b/m.onnx" -> "m.onnx"). */
const char *cli_basename(const char *path);

/* ---- formatting ----------------------------------------------------------- */

/* "[1, 3, 224, 224]"; "[]" for a scalar. Returns buf. */
const char *cli_shape_str(const sieve_shape *shape, char *buf, size_t len);
/* "512 B", "1.5 KiB", "3.2 MiB", ... Returns buf. */
const char *cli_bytes_str(uint64_t bytes, char *buf, size_t len);
/* "1234567" -> "1.23 M" style short count (k, M, G). Returns buf. */
const char *cli_count_str(uint64_t n, char *buf, size_t len);

/* The exact value with a short form when that helps: "3274 (3.27k)", or
 * with bytes set "1280 bytes (1.25 KiB)"; just "690" or "576 bytes" when
 * small. Returns buf. */
const char *cli_amount_str(uint64_t v, bool bytes, char *buf, size_t len);

/* Monotonic clock in milliseconds, for latency measurements. */
double cli_now_ms(void);

#endif
