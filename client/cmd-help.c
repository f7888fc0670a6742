/* hpctl help — the commands, or one command's usage. */
#include <stdio.h>

#include "cmd.h"

static int cmd_help_exec(const struct cmd_entry *self, struct cmd_args *args);

const struct cmd_entry cmd_help_entry = {
        .name = "help",
        .usage = "[COMMAND]",
        .summary = "show the commands, or how to use one",
        .shortopts = "",
        .longopts = NULL,
        .min_args = 0,
        .max_args = 1,
        .exec = cmd_help_exec,
};

/* Lists every command with its usage and summary. */
static int cmd_help_exec(const struct cmd_entry *self, struct cmd_args *args) {
        const char *error;

        if (args->argc == 1) {
                const struct cmd_entry *e = cmd_find(args->argv[0], &error);

                if (!e) {
                        fprintf(stderr, "hpctl: %s '%s' (see hpctl help)\n", error, args->argv[0]);
                        return CMD_EXIT_USAGE;
                }
                cmd_usage(e, stdout);
                printf("%s\n", e->summary);
                return 0;
        }
        printf("usage: hpctl [--help] [--version] COMMAND [ARGS]\n\n"
               "Shows what hpmond knows about your Bluetooth headsets' batteries.\n\n"
               "Commands (a unique prefix is enough):\n");
        for (const struct cmd_entry *const *e = cmd_table; *e; e++)
                printf("  %-8s %-34s %s\n", (*e)->name, (*e)->usage, (*e)->summary);
        printf("\nWithout a command, hpctl runs status. See hpctl(1).\n");
        return 0;
}
