/* hpctl — command lookup and argument parsing, shared by every cmd-*.c. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_alerts_entry;
extern const struct cmd_entry cmd_ack_entry;
extern const struct cmd_entry cmd_mute_entry;
extern const struct cmd_entry cmd_unmute_entry;
extern const struct cmd_entry cmd_history_entry;
extern const struct cmd_entry cmd_monitor_entry;
extern const struct cmd_entry cmd_analyze_entry;
extern const struct cmd_entry cmd_notify_entry;

/* Every command hpctl has, in the order help lists them. */
const struct cmd_entry *const cmd_table[] = {
        &cmd_status_entry,
        &cmd_alerts_entry,
        &cmd_ack_entry,
        &cmd_mute_entry,
        &cmd_unmute_entry,
        &cmd_history_entry,
        &cmd_monitor_entry,
        &cmd_analyze_entry,
        &cmd_notify_entry,
        &cmd_help_entry,
        NULL,
};

/* Finds a command by its name or a unique prefix of it (tmux's cmd_find). */
const struct cmd_entry *cmd_find(const char *name, const char **ret_error) {
        const struct cmd_entry *found = NULL;
        size_t n = strlen(name);

        for (const struct cmd_entry *const *e = cmd_table; *e; e++) {
                if (strcmp((*e)->name, name) == 0)
                        return *e;
                if (n > 0 && strncmp((*e)->name, name, n) == 0) {
                        if (found) {
                                *ret_error = "ambiguous command";
                                return NULL;
                        }
                        found = *e;
                }
        }
        if (!found)
                *ret_error = "unknown command";
        return found;
}

/* Parses a command's options and operands as its entry describes them. */
int cmd_parse(const struct cmd_entry *entry, int argc, char **argv, struct cmd_args *ret) {
        int opt, at = 1;

        memset(ret, 0, sizeof(*ret));
        optind = 0;     /* glibc: full re-initialisation */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, entry->shortopts, entry->longopts, NULL)) >= 0) {
                if (opt == '?' || opt == ':' || opt <= 0 || opt >= 128) {
                        if (optopt && optopt < 128 && strchr(entry->shortopts, optopt))
                                fprintf(stderr, "hpctl %s: option -%c needs a value\n", entry->name, optopt);
                        else if (optopt > ' ' && optopt < 127 && optopt != '-')
                                /* one letter of a cluster ("-jx"): that letter */
                                fprintf(stderr, "hpctl %s: unknown option '-%c'\n", entry->name, optopt);
                        else    /* getopt stopped inside a word (no long options: "--x" reads as
                                 * short ones) leaves optind on it, not after it */
                                fprintf(stderr, "hpctl %s: unknown option '%s'\n", entry->name,
                                        optind - 1 >= at ? argv[optind - 1] : argv[at < argc ? at : argc - 1]);
                        return -1;
                }
                at = optind;
                ret->values[opt] = optarg ? optarg : "";
        }
        ret->argc = argc - optind;
        ret->argv = argv + optind;
        if (ret->argc < entry->min_args || (entry->max_args >= 0 && ret->argc > entry->max_args)) {
                fprintf(stderr, "hpctl %s: %s\n", entry->name,
                        ret->argc < entry->min_args ? "missing argument" : "too many arguments");
                return -1;
        }
        return 0;
}

/* Whether an option was given. */
bool cmd_args_has(const struct cmd_args *a, int opt) {
        return opt > 0 && opt < 128 && a->values[opt];
}

/* An option's value, or NULL. */
const char *cmd_args_get(const struct cmd_args *a, int opt) {
        return opt > 0 && opt < 128 ? a->values[opt] : NULL;
}

/* Whether the command's words ask for its help: "--help" before any "--". */
bool cmd_wants_help(int argc, char **argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--help") == 0)
                        return true;
        return false;
}

/* Prints one command's usage line. */
void cmd_usage(const struct cmd_entry *entry, FILE *f) {
        fprintf(f, "usage: hpctl %s %s\n", entry->name, entry->usage);
}
