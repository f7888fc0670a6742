/* hpctl mute — no alerts of one kind (or of any kind) for a headset, until unmuted. */
#include "busclient.h"
#include "cmd.h"

static int cmd_mute_exec(const struct cmd_entry *self, struct cmd_args *args);

const struct cmd_entry cmd_mute_entry = {
        .name = "mute",
        .usage = "ADDRESS [KIND]",
        .summary = "stop alerts of one kind (or every kind) for a headset",
        .shortopts = "",
        .longopts = NULL,
        .min_args = 1,
        .max_args = 2,
        .exec = cmd_mute_exec,
};

/* Mute(ADDRESS, KIND) on hpmond; polkit may ask the user to authenticate. */
static int cmd_mute_exec(const struct cmd_entry *self, struct cmd_args *args) {
        return busclient_set_muted(args->argv[0], args->argc > 1 ? args->argv[1] : NULL, true) < 0 ? CMD_EXIT_FAILURE : 0;
}
