/* hpmond — logging. Only the daemon's shell logs; lib/ returns errors and the caller says them once. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;

/* Parses --log-target's argument. */
int log_target_from_string(const char *s) {
        if (strcmp(s, "auto") == 0)
                return LOG_TARGET_AUTO;
        if (strcmp(s, "journal") == 0)
                return LOG_TARGET_JOURNAL;
        if (strcmp(s, "stderr") == 0 || strcmp(s, "console") == 0)
                return LOG_TARGET_STDERR;
        return -EINVAL;
}

/* Chooses where messages go. "auto" means the journal when systemd connected stderr to it
 * (JOURNAL_STREAM is set), so fields like PRIORITY and CODE_LINE survive. */
void log_setup(enum log_target t, int max_level) {
        if (t == LOG_TARGET_AUTO)
                t = getenv("JOURNAL_STREAM") ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
        log_target = t;
        log_max_level = max_level;
}

/* Formats and sends one message; %m in the format names `error`. Returns -abs(error). */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        char msg[2048], lbuf[16];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > log_max_level)
                return -error;

        errno = error;
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        if (log_target == LOG_TARGET_JOURNAL) {
                snprintf(lbuf, sizeof(lbuf), "%d", line);
                if (error > 0)
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "ERRNO=%d", error,
                                        "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf, "CODE_FUNC=%s", func,
                                        "SYSLOG_IDENTIFIER=hpmond", NULL);
                else
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level,
                                        "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf, "CODE_FUNC=%s", func,
                                        "SYSLOG_IDENTIFIER=hpmond", NULL);
        } else
                fprintf(stderr, "<%d>%s\n", level, msg);

        errno = saved;
        return -error;
}
