/* hpctl — the client of hpmond: finds the command in the table and runs it. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* Parses the command line, finds the command (or status by default) and runs it. */
int main(int argc, char *argv[]) {
        static char *default_argv[3] = { NULL, (char *) "status", NULL };
        const struct cmd_entry *entry;
        struct cmd_args args;
        const char *error;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                argv[1] = (char *) "help";
        } else if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
                printf("hpctl " PACKAGE_VERSION "\n");
                return 0;
        } else if (argc >= 2 && argv[1][0] == '-') {
                fprintf(stderr, "hpctl: unknown option '%s' (see hpctl help)\n", argv[1]);
                return CMD_EXIT_USAGE;
        }
        if (argc < 2) {
                /* without a command, show the status */
                default_argv[0] = argv[0];
                argc = 2;
                argv = default_argv;
        }

        entry = cmd_find(argv[1], &error);
        if (!entry) {
                fprintf(stderr, "hpctl: %s '%s' (see hpctl help)\n", error, argv[1]);
                return CMD_EXIT_USAGE;
        }
        if (cmd_wants_help(argc - 1, argv + 1)) {
                /* "hpctl COMMAND --help" is "hpctl help COMMAND" */
                struct cmd_args help = { .argc = 1, .argv = argv + 1 };

                return cmd_help_entry.exec(&cmd_help_entry, &help);
        }
        if (cmd_parse(entry, argc - 1, argv + 1, &args) < 0) {
                cmd_usage(entry, stderr);
                return CMD_EXIT_USAGE;
        }
        return entry->exec(entry, &args);
}
