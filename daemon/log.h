/* hpmond — logging: the journal's native protocol, or stderr with "<N>" priority prefixes. */
#pragma once

#include <syslog.h>

enum log_target {
        LOG_TARGET_AUTO,        /* journal when started by systemd, stderr otherwise */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
};

int log_target_from_string(const char *s);
void log_setup(enum log_target t, int max_level);
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) __attribute__((format(printf, 6, 7)));

/* Each returns -abs(error) for "return log_error_errno(r, ...)" (systemd's convention). */
#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)
