/* Unit tests of lib/chargelog.c: the line parser, the reader (torn tail, bad lines,
 * unknown events, header) and the appender (header, torn tail cut, short writes). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "chargelog.h"

/* ---- the line parser, table-driven */

struct line_case {
        const char *line;
        int ret;
        int64_t time_ms;
        enum event_kind kind;
        int value;
};

static const struct line_case line_cases[] = {
        { "1788220800.000,connected,1", 0, 1788220800000, EVENT_CONNECTED, 1 },
        { "1788220802.511,battery,80", 0, 1788220802511, EVENT_BATTERY, 80 },
        { "1788220802.5,battery,0", 0, 1788220802500, EVENT_BATTERY, 0 },
        { "1788220802,battery,100", 0, 1788220802000, EVENT_BATTERY, 100 },
        { "1788220802.123456789,battery,7", 0, 1788220802123, EVENT_BATTERY, 7 },
        { "1788220802.511,battery,80\r", 0, 1788220802511, EVENT_BATTERY, 80 },
        { "1788220802.511,battery,101", -ERANGE, 0, 0, 0 },
        /* near the writer's own shape (the fast path): what it does not take, the general parser does */
        { "1788220802.511,battery,080", 0, 1788220802511, EVENT_BATTERY, 80 },
        { "1788220802.511,battery,0000100", 0, 1788220802511, EVENT_BATTERY, 100 },
        { "1788220802.5119,battery,9", 0, 1788220802511, EVENT_BATTERY, 9 },
        { "1788220802.51,connected,0", 0, 1788220802510, EVENT_CONNECTED, 0 },
        { "0.000,connected,0", 0, 0, EVENT_CONNECTED, 0 },
        { "999999999999.999,battery,5", 0, INT64_C(999999999999999), EVENT_BATTERY, 5 },
        { "9999999999999.999,battery,5", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,1000", -ERANGE, 0, 0, 0 },
        { "1788220802.511,connected,10", -ERANGE, 0, 0, 0 },
        { "1788220802.511,batteryx,80", -ENOMSG, 0, 0, 0 },
        { "1788220802.511,connected,", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,8 ", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,+8", -EINVAL, 0, 0, 0 },
        { "1788220802.5a1,battery,8", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,80\r\r", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,-1", -ERANGE, 0, 0, 0 },
        { "1788220802.511,connected,2", -ERANGE, 0, 0, 0 },
        { "1788220802.511,sleep,1", -ENOMSG, 0, 0, 0 },
        { "1788220802.511,ack,3", 0, 1788220802511, EVENT_ACK, 3 },
        { "1788220802.511,ack,10", -ERANGE, 0, 0, 0 },
        { "1788220802.511,ack,-1", -ERANGE, 0, 0, 0 },
        { "1788220802.511,mute,-1", 0, 1788220802511, EVENT_MUTE, -1 },
        { "1788220802.511,unmute,9", 0, 1788220802511, EVENT_UNMUTE, 9 },
        { "1788220802.511,mute,-2", -ERANGE, 0, 0, 0 },
        { "", -EINVAL, 0, 0, 0 },
        { "garbage", -EINVAL, 0, 0, 0 },
        { ",battery,80", -EINVAL, 0, 0, 0 },
        { "1788220802.,battery,80", -EINVAL, 0, 0, 0 },
        { "-5,battery,80", -EINVAL, 0, 0, 0 },
        { "1788220802.511,,80", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,80,extra", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,8x", -EINVAL, 0, 0, 0 },
        { "1788220802.511,Battery,80", -EINVAL, 0, 0, 0 },
        { "1788220802.511;battery;80", -EINVAL, 0, 0, 0 },
        { "99999999999999,battery,80", -EINVAL, 0, 0, 0 },
        { "1788220802.511,battery,99999999999", -EINVAL, 0, 0, 0 },
};

/* Each line of the table parses to its event or fails with its error. */
static void test_parse_line(void **state) {
        for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
                const struct line_case *c = &line_cases[i];
                struct hpevent e = {};
                int r = chargelog_parse_line(c->line, strlen(c->line), &e);

                if (r != c->ret)
                        fail_msg("'%s': got %d, expected %d", c->line, r, c->ret);
                if (r == 0) {
                        assert_int_equal(e.time_ms, c->time_ms);
                        assert_int_equal(e.kind, c->kind);
                        assert_int_equal(e.value, c->value);
                }
        }
}

/* A formatted event parses back to itself. */
static void test_format_roundtrip(void **state) {
        const struct hpevent in[] = {
                { 1788220800000, EVENT_CONNECTED, 1 },
                { 1788220802511, EVENT_BATTERY, 80 },
                { 7, EVENT_BATTERY, 0 },
        };
        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                char buf[96];
                struct hpevent out;
                size_t n = chargelog_format_event(buf, sizeof(buf), &in[i]);

                assert_true(n > 0);
                assert_int_equal(buf[n - 1], '\n');
                assert_int_equal(chargelog_parse_line(buf, n - 1, &out), 0);
                assert_memory_equal(&in[i], &out, sizeof(out));
        }
        assert_int_equal(chargelog_format_event((char[8]) {}, 8, &in[1]), 0);
}

/* Random events of every width of seconds (1 to 12 digits, across the eight-digit fast
 * path's edge) parse back to themselves, and a digit turned into anything else is refused. */
static void test_format_roundtrip_random(void **state) {
        uint64_t x = 0x9E3779B97F4A7C15u;

        for (int i = 0; i < 20000; i++) {
                struct hpevent in, out;
                char buf[96];
                int64_t limit = 1;
                size_t n;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                for (int d = (int) (x % 12); d >= 0; d--)
                        limit *= 10;
                in = (struct hpevent) {
                        .time_ms = (int64_t) ((x >> 8) % (uint64_t) limit) * 1000 + (int64_t) (x % 1000),
                        .kind = x & 1 ? EVENT_BATTERY : EVENT_CONNECTED,
                        .value = x & 1 ? (int) ((x >> 20) % 101) : (int) ((x >> 20) & 1),
                };
                n = chargelog_format_event(buf, sizeof(buf), &in);
                assert_true(n > 0);
                assert_int_equal(chargelog_parse_line(buf, n - 1, &out), 0);
                assert_memory_equal(&in, &out, sizeof(out));
                /* change one byte of the seconds: a non-digit is refused, a digit read as one */
                {
                        char c = "x/:9"[(x >> 50) % 4];

                        buf[(x >> 40) % (size_t) (strchr(buf, '.') - buf)] = c;
                        if (c != '9')
                                assert_int_equal(chargelog_parse_line(buf, n - 1, &out), -EINVAL);
                        else {
                                assert_int_equal(chargelog_parse_line(buf, n - 1, &out), 0);
                                assert_int_equal(out.time_ms / 1000, strtoll(buf, NULL, 10));
                        }
                }
        }
}

/* ---- the reader */

/* What a read collected. */
struct collected {
        struct hpevent events[64];
        size_t n_events;
        unsigned problem_lines[16];
        enum chargelog_problem problems[16];
        size_t n_problems;
        char name[64];
};

static int collect_event(void *userdata, const struct hpevent *e) {
        struct collected *c = userdata;

        if (c->n_events < 64)
                c->events[c->n_events++] = *e;
        return 0;
}

static void collect_meta(void *userdata, const char *key, size_t kl, const char *value, size_t vl) {
        struct collected *c = userdata;

        if (kl == 4 && memcmp(key, "name", 4) == 0)
                snprintf(c->name, sizeof(c->name), "%.*s", (int) vl, value);
}

static void collect_problem(void *userdata, unsigned line, enum chargelog_problem p, const char *text) {
        struct collected *c = userdata;

        assert_non_null(text);
        if (c->n_problems < 16) {
                c->problem_lines[c->n_problems] = line;
                c->problems[c->n_problems++] = p;
        }
}

static const struct chargelog_handler collect_handler = {
        .event = collect_event,
        .meta = collect_meta,
        .problem = collect_problem,
};

/* A temporary directory per test, removed with everything in it. */
static int setup_dir(void **state) {
        char *dir = strdup("/tmp/test-chargelog.XXXXXX");

        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown_dir(void **state) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *) *state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

/* Writes content to DIR/name. */
static char *write_file(const char *dir, const char *name, const char *content, size_t len) {
        char *path;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(content, 1, len, f), len);
        fclose(f);
        return path;
}

/* Reads a file through the collecting handler. */
static int read_collect(const char *path, struct collected *c, struct chargelog_stats *st) {
        memset(c, 0, sizeof(*c));
        return chargelog_read_file(path, &collect_handler, c, st);
}

static const char good_log[] =
        "# hpmon charge log v1\n"
        "# address=AA:BB:CC:DD:EE:FF\n"
        "# name=WH-1000XM4\n"
        "time,event,value\n"
        "1788220800.000,connected,1\n"
        "1788220802.511,battery,80\n"
        "1788224400.113,battery,70\n"
        "1788230000.000,connected,0\n";

/* The DESIGN.md example reads as four events with its name. */
static void test_read_good(void **state) {
        struct chargelog_stats st;
        struct collected c;
        char *p = write_file(*state, "good.csv", good_log, strlen(good_log));

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 4);
        assert_int_equal(c.n_problems, 0);
        assert_string_equal(c.name, "WH-1000XM4");
        assert_false(st.torn);
        assert_int_equal(st.good_size, (off_t) strlen(good_log));
        assert_int_equal(c.events[2].time_ms, 1788224400113);
        assert_int_equal(c.events[3].kind, EVENT_CONNECTED);
        free(p);
}

/* A last line without '\n' is torn: ignored, reported in stats, not as a problem. */
static void test_read_torn_tail(void **state) {
        static const char torn[] = "time,event,value\n1788220800.000,battery,80\n1788220801.000,batt";
        struct chargelog_stats st;
        struct collected c;
        char *p = write_file(*state, "torn.csv", torn, strlen(torn));

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 1);
        assert_int_equal(c.n_problems, 0);
        assert_true(st.torn);
        assert_int_equal(st.good_size, (off_t) (strchr(torn + 17, '\n') - torn + 1));
        free(p);
}

/* Bad lines are reported with their line numbers and skipped; the rest is read. */
static void test_read_bad_lines(void **state) {
        static const char bad[] =
                "time,event,value\n"                    /* 1 */
                "1788220800.000,battery,80\n"           /* 2 */
                "this is not a line\n"                  /* 3 */
                "1788220801.000,battery,250\n"          /* 4 */
                "\x01\x02\xff\n"                        /* 5 */
                "1788220802.000,battery,75\n"           /* 6 */
                "\n"                                    /* 7: blank, fine */
                "1788220803.000,sleep,1\n"              /* 8: unknown event */
                "1788220804.000,battery,74\n";          /* 9 */
        struct chargelog_stats st;
        struct collected c;
        char *p = write_file(*state, "bad.csv", bad, strlen(bad));

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 3);
        assert_int_equal(c.events[2].value, 74);
        assert_int_equal(c.n_problems, 4);
        assert_int_equal(c.problem_lines[0], 3);
        assert_int_equal(c.problems[0], CHARGELOG_BAD_LINE);
        assert_int_equal(c.problem_lines[1], 4);
        assert_int_equal(c.problems[1], CHARGELOG_BAD_VALUE);
        assert_int_equal(c.problem_lines[2], 5);
        assert_int_equal(c.problem_lines[3], 8);
        assert_int_equal(c.problems[3], CHARGELOG_UNKNOWN_EVENT);
        assert_int_equal(st.skipped, 4);
        assert_int_equal(st.lines, 9);
        free(p);
}

/* A log without its header says so once and is still read; a repeated header is fine. */
static void test_read_header(void **state) {
        static const char noheader[] = "# name=x\n1788220800.000,battery,80\n1788220801.000,battery,79\n"
                                       "time,event,value\n1788220802.000,battery,78\n";
        struct chargelog_stats st;
        struct collected c;
        char *p = write_file(*state, "nohdr.csv", noheader, strlen(noheader));

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 3);
        assert_int_equal(c.n_problems, 1);
        assert_int_equal(c.problems[0], CHARGELOG_MISSING_HEADER);
        assert_int_equal(c.problem_lines[0], 2);
        assert_int_equal(st.skipped, 0);
        free(p);
}

/* A line longer than the read buffer is skipped as malformed; reading goes on after it. */
static void test_read_enormous_line(void **state) {
        size_t big = 3u << 20, hl = strlen("time,event,value\n");
        char *content = malloc(big + 64), *p;
        struct chargelog_stats st;
        struct collected c;

        memcpy(content, "time,event,value\n", hl);
        memset(content + hl, '7', big);
        content[hl + big] = '\n';
        strcpy(content + hl + big + 1, "1788220802.000,battery,78\n");
        p = write_file(*state, "big.csv", content, strlen(content));

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 1);
        assert_int_equal(c.events[0].value, 78);
        assert_true(c.n_problems >= 1);
        assert_int_equal(c.problems[0], CHARGELOG_BAD_LINE);
        assert_false(st.torn);
        free(content);
        free(p);
}

/* An over-long last line without '\n' is torn like any other: not a problem, not in good_size
 * or in the line count (found by tests/fuzz/fuzz-chargelog). */
static void test_read_enormous_torn_tail(void **state) {
        static const char head[] = "time,event,value\n1788220802.000,battery,78\n";
        size_t big = 3u << 20, hl = strlen(head);
        char *content = malloc(hl + big), *p;
        struct chargelog_stats st;
        struct collected c;

        memcpy(content, head, hl);
        memset(content + hl, '7', big);
        p = write_file(*state, "bigtorn.csv", content, hl + big);

        assert_int_equal(read_collect(p, &c, &st), 0);
        assert_int_equal(c.n_events, 1);
        assert_int_equal(c.n_problems, 0);
        assert_true(st.torn);
        assert_int_equal(st.good_size, hl);
        assert_int_equal(st.lines, 2);
        assert_int_equal(st.skipped, 0);
        free(content);
        free(p);
}

/* A missing file is an error, not an empty log. */
static void test_read_missing(void **state) {
        struct collected c;
        char path[256];

        snprintf(path, sizeof(path), "%s/none.csv", (char *) *state);
        assert_int_equal(read_collect(path, &c, NULL), -ENOENT);
}

/* ---- the appender */

/* Opens the test directory. */
static int open_dir(void **state) {
        int fd = open(*state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

/* Reads a whole small file. */
static char *slurp(const char *dir, const char *name) {
        char path[256], *buf = calloc(1, 65536);
        int fd;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        n = read(fd, buf, 65535);
        assert_true(n >= 0);
        close(fd);
        return buf;
}

/* A new log gets the header of DESIGN.md, then whole lines; the name is made header-safe. */
static void test_open_creates(void **state) {
        struct chargelog *log;
        bool created = false;
        int dfd = open_dir(state);
        char *content;

        assert_int_equal(chargelog_open(dfd, "AA:BB:CC:DD:EE:FF", "Bad\nName", &log, &created, NULL), 0);
        assert_true(created);
        assert_string_equal(chargelog_address(log), "AA:BB:CC:DD:EE:FF");
        assert_int_equal(chargelog_append(log, &(struct hpevent) { 1788220800000, EVENT_CONNECTED, 1 }), 0);
        assert_int_equal(chargelog_append(log, &(struct hpevent) { 1788220802511, EVENT_BATTERY, 80 }), 0);
        assert_int_equal(chargelog_append_meta(log, "name", "New"), 0);
        assert_int_equal(chargelog_append(log, &(struct hpevent) { 0, 99, 80 }), -EINVAL);
        chargelog_close(log);

        content = slurp(*state, "AA_BB_CC_DD_EE_FF.csv");
        assert_string_equal(content,
                            "# hpmon charge log v1\n# address=AA:BB:CC:DD:EE:FF\n# name=Bad Name\ntime,event,value\n"
                            "1788220800.000,connected,1\n1788220802.511,battery,80\n# name=New\n");
        free(content);

        /* and opening it again keeps it as it is */
        assert_int_equal(chargelog_open(dfd, "AA:BB:CC:DD:EE:FF", "Other", &log, &created, NULL), 0);
        assert_false(created);
        chargelog_close(log);
        close(dfd);
}

/* Opening a log whose last line is torn cuts exactly that line, and appends after it. */
static void test_open_cuts_torn(void **state) {
        static const char torn[] = "time,event,value\n1788220800.000,battery,80\n1788220801.000,batt";
        struct chargelog *log;
        off_t cut = 0;
        int dfd = open_dir(state);
        char *content;

        free(write_file(*state, "AA_BB_CC_DD_EE_FF.csv", torn, strlen(torn)));
        assert_int_equal(chargelog_open(dfd, "AA:BB:CC:DD:EE:FF", NULL, &log, NULL, &cut), 0);
        assert_int_equal(cut, (off_t) strlen("1788220801.000,batt"));
        assert_int_equal(chargelog_append(log, &(struct hpevent) { 1788220802000, EVENT_BATTERY, 79 }), 0);
        chargelog_close(log);
        content = slurp(*state, "AA_BB_CC_DD_EE_FF.csv");
        assert_string_equal(content, "time,event,value\n1788220800.000,battery,80\n1788220802.000,battery,79\n");
        free(content);
        close(dfd);
}

/* A log with no whole line at all is emptied and given its header again. */
static void test_open_no_whole_line(void **state) {
        struct chargelog *log;
        off_t cut = 0;
        int dfd = open_dir(state);
        char *content;

        free(write_file(*state, "AA_BB_CC_DD_EE_FF.csv", "# hpmon char", 12));
        assert_int_equal(chargelog_open(dfd, "AA:BB:CC:DD:EE:FF", "X", &log, NULL, &cut), 0);
        assert_int_equal(cut, 12);
        chargelog_close(log);
        content = slurp(*state, "AA_BB_CC_DD_EE_FF.csv");
        assert_string_equal(content, "# hpmon charge log v1\n# address=AA:BB:CC:DD:EE:FF\n# name=X\ntime,event,value\n");
        free(content);
        close(dfd);
}

/* A write cut short by the file size limit (as by a full disk) leaves no partial line. */
static void test_append_short_write(void **state) {
        struct chargelog *log;
        struct rlimit old, rl;
        struct stat st;
        struct collected c;
        struct chargelog_stats cs;
        char path[256];
        int dfd = open_dir(state), r;

        assert_int_equal(chargelog_open(dfd, "AA:BB:CC:DD:EE:FF", "X", &log, NULL, NULL), 0);
        snprintf(path, sizeof(path), "%s/AA_BB_CC_DD_EE_FF.csv", (char *) *state);
        assert_int_equal(stat(path, &st), 0);

        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        rl = old;
        rl.rlim_cur = (rlim_t) st.st_size + 10;     /* room for 10 bytes of a 26-byte line */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
        r = chargelog_append(log, &(struct hpevent) { 1788220800000, EVENT_BATTERY, 80 });
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_true(r < 0);

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(read_collect(path, &c, &cs), 0);
        assert_false(cs.torn);
        assert_int_equal(cs.good_size, st.st_size);
        assert_int_equal(c.n_events, 0);

        /* and once there is room again, the next line lands whole */
        assert_int_equal(chargelog_append(log, &(struct hpevent) { 1788220801000, EVENT_BATTERY, 79 }), 0);
        assert_int_equal(read_collect(path, &c, &cs), 0);
        assert_int_equal(c.n_events, 1);
        assert_int_equal(c.events[0].value, 79);
        chargelog_close(log);
        close(dfd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_line),
                cmocka_unit_test(test_format_roundtrip),
                cmocka_unit_test(test_format_roundtrip_random),
                cmocka_unit_test_setup_teardown(test_read_good, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_torn_tail, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_bad_lines, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_header, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_enormous_line, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_enormous_torn_tail, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_read_missing, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_open_creates, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_open_cuts_torn, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_open_no_whole_line, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_append_short_write, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests_name("/chargelog", tests, NULL, NULL);
}
