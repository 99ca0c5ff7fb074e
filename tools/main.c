/* sieve — the command-line tool: dispatches to one subcommand per file
 * (tools/cmd_<name>.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Listed in `sieve --help` in this order. To add a subcommand, write
 * tools/cmd_<name>.c, declare it in cli.h and add a line here. */
static const cli_command commands[] = {
    {"import", "convert an ONNX model into a .sieve model file", cmd_import},
    {"info", "show a model's layers, tensors, sizes and memory plan", cmd_info},
    {"run", "run a model on raw tensors (.npy, ONNX .pb) and save its outputs", cmd_run},
    {"classify", "label images (PNG, JPEG, BMP, PGM/PPM) with a model", cmd_classify},
    {"eval", "top-1 accuracy and images/s of a model on labelled data", cmd_eval},
    {"explore", "search custom float formats, build and calibrate the edge package", cmd_explore},
    /* Slot for: profile, serve (DESIGN.md section 3). */
};

#define N_COMMANDS ((int)(sizeof(commands) / sizeof(commands[0])))

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: sieve <command> [options]\n"
            "       sieve <command> --help\n"
            "       sieve --help | --version\n"
            "\n"
            "libsieve %s: speculative CNN inference on the edge.\n"
            "\n"
            "commands:\n",
            SIEVE_VERSION_STRING);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "Exit status: 0 on success, 1 when a command fails (unreadable or\n"
                 "invalid file, model error), 2 on a bad command line.\n");
}

static void print_command_names(FILE *out)
{
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "%s%s", i ? ", " : "", commands[i].name);
}

static const cli_command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 ||
        (strcmp(first, "help") == 0 && argc == 2)) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("sieve %s\n", SIEVE_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    /* "sieve help CMD" is "sieve CMD --help". */
    if (strcmp(first, "help") == 0) {
        const cli_command *cmd = find_command(argv[2]);
        if (cmd) {
            char help[] = "--help";
            char *help_argv[] = {argv[2], help, NULL};
            return cmd->run(2, help_argv);
        }
        first = argv[2];
    }
    const cli_command *cmd = find_command(first);
    if (!cmd) {
        if (first[0] == '-')
            fprintf(stderr, "sieve: unknown option '%s'; commands: ", first);
        else
            fprintf(stderr, "sieve: unknown command '%s'; commands: ", first);
        print_command_names(stderr);
        fprintf(stderr, " (see 'sieve --help')\n");
        return CLI_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
