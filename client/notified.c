/* hpctl notify's memory of shown alerts (see notified.h).
 *
 * The file is a cache the agent owns: one "ID SEVERITY" per line, oldest first, after a
 * comment. It is rewritten whole into a temporary file beside it and renamed over the
 * old one, so a crash leaves the old or the new file, never half of one. Lines that do
 * not parse are dropped (the worst outcome is one alert shown again). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notified.h"

static const char *const notified_levels[] = { "info", "warning", "critical" };

/* $XDG_STATE_HOME/hpmon/notified, by default ~/.local/state/hpmon/notified (XDG base dirs:
 * a relative $XDG_STATE_HOME is invalid and ignored). */
int notified_default_path(char **ret) {
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *p;
        int r;

        if (state && state[0] == '/')
                r = asprintf(&p, "%s/hpmon/notified", state);
        else {
                if (!home || home[0] != '/') {
                        struct passwd *pw = getpwuid(getuid());
                        home = pw ? pw->pw_dir : NULL;
                }
                if (!home || home[0] != '/')
                        return -ENOENT;
                r = asprintf(&p, "%s/.local/state/hpmon/notified", home);
        }
        if (r < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* The index of an id, or -1. */
static ssize_t notified_find(const struct notified *s, const char *id) {
        for (size_t i = s->n; i > 0; i--)
                if (strcmp(s->entries[i - 1].id, id) == 0)
                        return (ssize_t) (i - 1);
        return -1;
}

/* Whether that alert was shown at that severity or a higher one. */
bool notified_seen(const struct notified *s, const char *id, int level) {
        ssize_t i = notified_find(s, id);

        return i >= 0 && s->entries[i].level >= level;
}

/* Remembers an alert shown at a severity, as the newest entry; drops the oldest beyond
 * NOTIFIED_MAX. In memory only: notified_save() writes. */
int notified_add(struct notified *s, const char *id, int level) {
        ssize_t i = notified_find(s, id);
        struct notified_entry e = {};

        if (strlen(id) >= sizeof(e.id) || strpbrk(id, " \t\n") || !*id)
                return -EINVAL;
        snprintf(e.id, sizeof(e.id), "%s", id);
        e.level = level < 0 ? 0 : level > 2 ? 2 : level;
        if (i >= 0) {
                if (s->entries[i].level > e.level)
                        e.level = s->entries[i].level;
                memmove(&s->entries[i], &s->entries[i + 1], (s->n - (size_t) i - 1) * sizeof(e));
                s->n--;
        } else if (s->n >= NOTIFIED_MAX) {
                memmove(&s->entries[0], &s->entries[1], (s->n - 1) * sizeof(e));
                s->n--;
        } else {
                struct notified_entry *grown = realloc(s->entries, (s->n + 1) * sizeof(e));
                if (!grown)
                        return -ENOMEM;
                s->entries = grown;
        }
        s->entries[s->n++] = e;
        return 0;
}

/* Reads the file at path into *s (a missing file is an empty memory); *s keeps the path
 * for notified_save(). -errno only when the file exists and cannot be read. */
int notified_load(struct notified *s, const char *path) {
        char line[NOTIFIED_ID_MAX + 32];
        FILE *f;

        *s = (struct notified) { .path = strdup(path) };
        if (!s->path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fgets(line, sizeof(line), f)) {
                char id[NOTIFIED_ID_MAX], sev[16];
                size_t len = strlen(line);

                if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
                        int c;  /* too long to be ours: skip the rest of it */
                        while ((c = fgetc(f)) != EOF && c != '\n')
                                ;
                        continue;
                }
                if (line[0] == '#' || sscanf(line, "%127s %15s", id, sev) != 2)
                        continue;
                for (int l = 0; l < 3; l++)
                        if (strcmp(sev, notified_levels[l]) == 0) {
                                (void) notified_add(s, id, l);
                                break;
                        }
        }
        fclose(f);
        return 0;
}

/* Makes the directories of path's parent, mode 0700, as mkdir -p does. */
static int notified_mkdir_parents(const char *path) {
        char *p = strdup(path), *slash;

        if (!p)
                return -ENOMEM;
        for (slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST) {
                        int r = -errno;
                        free(p);
                        return r;
                }
                *slash = '/';
        }
        free(p);
        return 0;
}

/* Writes the memory atomically: a temporary file beside it, fsync, rename. */
int notified_save(const struct notified *s) {
        char *tmp = NULL;
        FILE *f = NULL;
        int fd, r;

        r = notified_mkdir_parents(s->path);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.XXXXXX", s->path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                goto fail;
        }
        fprintf(f, "# hpctl notify: alerts already shown, \"ID SEVERITY\", oldest first\n");
        for (size_t i = 0; i < s->n; i++)
                fprintf(f, "%s %s\n", s->entries[i].id, notified_levels[s->entries[i].level]);
        if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
                r = -errno;
                fclose(f);
                goto fail;
        }
        if (fclose(f) != 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, s->path) < 0) {
                r = -errno;
                goto fail;
        }
        free(tmp);
        return 0;
fail:
        (void) unlink(tmp);
        free(tmp);
        return r;
}

/* Frees the memory (not the file). */
void notified_done(struct notified *s) {
        free(s->path);
        free(s->entries);
        *s = (struct notified) {};
}
