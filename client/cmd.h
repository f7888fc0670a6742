/* hpctl — the command table (tmux's cmd.c): each command is data plus one exec function. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include <systemd/sd-bus.h>

/* The options and operands one invocation of a command was given. */
struct cmd_args {
        const char *values[128];        /* by short option letter; "" for a flag */
        int argc;                       /* operands */
        char **argv;
};

struct cmd_entry {
        const char *name;
        const char *usage;              /* after "hpctl NAME " */
        const char *summary;
        const char *shortopts;          /* getopt spec */
        const struct option *longopts;
        int min_args, max_args;         /* operands; -1: no maximum */
        int (*exec)(const struct cmd_entry *self, struct cmd_args *args);
};

extern const struct cmd_entry *const cmd_table[];
extern const struct cmd_entry cmd_help_entry;     /* also what "hpctl COMMAND --help" runs */

const struct cmd_entry *cmd_find(const char *name, const char **ret_error);
int cmd_parse(const struct cmd_entry *entry, int argc, char **argv, struct cmd_args *ret);
bool cmd_args_has(const struct cmd_args *a, int opt);
const char *cmd_args_get(const struct cmd_args *a, int opt);
bool cmd_wants_help(int argc, char **argv);
void cmd_usage(const struct cmd_entry *entry, FILE *f);

/* Exit codes: 0 done, 1 failed (one line on stderr said why), 2 usage. */
#define CMD_EXIT_FAILURE 1
#define CMD_EXIT_USAGE 2
