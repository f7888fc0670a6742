/* hpctl — rendering. Colour only on a terminal, never with NO_COLOR (no-color.org) or TERM=dumb. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "numeric.h"
#include "render.h"

/* Whether to colour what goes to f. */
bool render_color(FILE *f) {
        const char *term = getenv("TERM"), *no = getenv("NO_COLOR");

        if (no && *no)
                return false;
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(fileno(f));
}

/* An SGR escape when colouring, "" otherwise ("0" resets). */
const char *render_sgr(bool color, const char *code) {
        static char buf[4][16];
        static unsigned next;
        char *b;

        if (!color)
                return "";
        b = buf[next++ % 4];
        snprintf(b, sizeof(buf[0]), "\033[%sm", code);
        return b;
}

/* Local time "YYYY-MM-DD HH:MM:SS", or "-" for 0 (never). */
void render_time(char *buf, size_t size, double unix_s) {
        time_t t = (time_t) unix_s;
        struct tm tm;

        if (unix_s <= 0 || !localtime_r(&t, &tm)) {
                snprintf(buf, size, "-");
                return;
        }
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A rough age: "just now", "5 min ago", "3 h ago", "2 days ago". */
void render_ago(char *buf, size_t size, double now_s, double then_s) {
        double d = now_s - then_s;

        if (then_s <= 0)
                snprintf(buf, size, "never");
        else if (d < -60)
                snprintf(buf, size, "in the future");   /* the clock went back since */
        else if (d < 60)
                snprintf(buf, size, "just now");
        else if (d < 3600)
                snprintf(buf, size, "%.0f min ago", numeric_floor(d / 60));
        else if (d < 2 * 86400)
                snprintf(buf, size, "%.0f h ago", numeric_floor(d / 3600));
        else
                snprintf(buf, size, "%.0f days ago", numeric_floor(d / 86400));
}

/* SGR colour of a level: red when low (≤ 20 %, DESIGN.md's warning level), yellow below half. */
const char *render_level_color(int percentage) {
        if (percentage < 0)
                return "2";
        if (percentage <= 20)
                return "1;31";
        if (percentage < 50)
                return "33";
        return "32";
}

/* Prints levels (0..100, or -1 for no data) as a line of block characters, then '\n'. */
void render_sparkline(FILE *f, const int *levels, size_t n) {
        static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

        for (size_t i = 0; i < n; i++)
                fputs(levels[i] < 0 ? " " : blocks[levels[i] >= 100 ? 7 : levels[i] * 8 / 100], f);
        fputc('\n', f);
}

/* Prints a JSON value on one line and drops it. */
int render_json(FILE *f, struct json_object *o) {
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return fflush(f) == 0 ? 0 : -1;
}

/* Unix seconds as a JSON number written with milliseconds (as in the log), or null for 0 (never). */
struct json_object *render_json_time(double unix_s) {
        char buf[32];

        if (unix_s <= 0)
                return NULL;
        snprintf(buf, sizeof(buf), "%.3f", unix_s);
        return json_object_new_double_s(unix_s, buf);
}

/* A number as JSON, with up to 10 significant digits (0.05, not 0.050000000000000003), or
 * null when it is none (JSON has no infinity or NaN). */
struct json_object *render_json_number(double v) {
        char buf[32];

        if (!isfinite(v))
                return NULL;
        snprintf(buf, sizeof(buf), "%.10g", v);
        return json_object_new_double_s(v, buf);
}
