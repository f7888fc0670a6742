/* hpctl unmute — alerts of one kind (or of every kind) for a headset again. */
#include "busclient.h"
#include "cmd.h"

static int cmd_unmute_exec(const struct cmd_entry *self, struct cmd_args *args);

const struct cmd_entry cmd_unmute_entry = {
        .name = "unmute",
        .usage = "ADDRESS [KIND]",
        .summary = "let alerts of one kind (or every kind) through again",
        .shortopts = "",
        .longopts = NULL,
        .min_args = 1,
        .max_args = 2,
        .exec = cmd_unmute_exec,
};

/* Unmute(ADDRESS, KIND) on hpmond; polkit may ask the user to authenticate. */
static int cmd_unmute_exec(const struct cmd_entry *self, struct cmd_args *args) {
        return busclient_set_muted(args->argv[0], args->argc > 1 ? args->argv[1] : NULL, false) < 0 ? CMD_EXIT_FAILURE : 0;
}
