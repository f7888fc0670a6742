/* Unit tests of lib/introspect.c: the children an Introspect document lists, and the
 * documents it refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test-table.h"

#include "introspect.h"

struct introspect_case {
        const char *name;
        const char *xml;
        size_t size;            /* 0: strlen(xml) */
        int ret;
        const char *children;   /* the names reported, comma-separated */
        unsigned n_invalid;
};

#define DOCTYPE "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n" \
                "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"

/* A document with a NUL inside and its whole size, counted by the compiler, not by hand. */
#define WITH_NUL(doc) doc, sizeof(doc) - 1

static const struct introspect_case cases[] = {
        /* what bluetoothd (BlueZ's gdbus) writes for /org/bluez */
        { "/introspect/ok/bluez", DOCTYPE
          "<node><interface name=\"org.freedesktop.DBus.Introspectable\"><method name=\"Introspect\">"
          "<arg name=\"xml\" type=\"s\" direction=\"out\"/>\n</method></interface>"
          "<interface name=\"org.bluez.AgentManager1\"><method name=\"RegisterAgent\">"
          "<arg name=\"agent\" type=\"o\" direction=\"in\"/>\n<arg name=\"capability\" type=\"s\" direction=\"in\"/>\n"
          "</method></interface><node name=\"hci0\"/><node name=\"hci1\"/></node>",
          0, 2, "hci0,hci1", 0 },
        /* what dbus-python (and so python3-dbusmock) writes, through ElementTree */
        { "/introspect/ok/dbus-python",
          "<?xml version='1.0' encoding='utf8'?>\n<node name=\"/org/bluez/hci0\">\n"
          "  <interface name=\"org.bluez.Adapter1\">\n    <method name=\"RemoveDevice\">\n"
          "      <arg direction=\"in\" type=\"o\" />\n    </method>\n"
          "  <property name=\"Powered\" type=\"b\" access=\"readwrite\" /></interface>\n"
          "  <node name=\"dev_AA_BB_CC_DD_EE_01\" />\n  <node name=\"dev_AA_BB_CC_DD_EE_02\" />\n</node>",
          0, 2, "dev_AA_BB_CC_DD_EE_01,dev_AA_BB_CC_DD_EE_02", 0 },
        /* sd-bus and GDBus: comments, annotations, children in open and close tags */
        { "/introspect/ok/comments",
          DOCTYPE "<!-- GDBus 2.74 -->\n<node>\n <!-- a comment <node name=\"no\"/> -->\n"
          "<interface name=\"x.Y\"><annotation name=\"org.freedesktop.DBus.Deprecated\" value=\"true\"/>"
          "</interface>\n<node name=\"a\"></node ><node name=\"b\">\n</node>\n</node>\n<!-- after -->\n",
          0, 2, "a,b", 0 },
        { "/introspect/ok/empty-root", "<node/>", 0, 0, "", 0 },
        { "/introspect/ok/root-only-name", "<node name=\"/org/bluez\"></node>", 0, 0, "", 0 },
        { "/introspect/ok/single-quotes", "<node><node name='x_1'/></node>", 0, 1, "x_1", 0 },
        { "/introspect/ok/char-refs", "<node><node name=\"h&#99;i&#x30;\"/></node>", 0, 1, "hci0", 0 },
        { "/introspect/ok/cdata", "<node><![CDATA[<node name=\"no\"/>]]><node name=\"yes\"/></node>", 0, 1, "yes", 0 },
        { "/introspect/ok/text-references", "<node>&lt;&gt;&amp;&quot;&apos;&#233;<node name=\"a\"/></node>",
          0, 1, "a", 0 },
        /* nodes nested deeper are not children: they are introspected on their own */
        { "/introspect/ok/nested", "<node><node name=\"a\"><node name=\"b\"/></node><node name=\"c\"/></node>",
          0, 2, "a,c", 0 },
        { "/introspect/ok/spaces", "<node ><node\n\tname = \"a\"\n/></node\n>", 0, 1, "a", 0 },
        /* a child that no object can have is counted, never reported */
        { "/introspect/invalid/names",
          "<node><node name=\"\"/><node name=\"a/b\"/><node name=\"a-b\"/><node/><node name=\"&amp;\"/>"
          "<node name=\"ok\"/><node name=\"\xc3\xa9\"/><node name=\"a b\"/><node name=\"..\"/></node>",
          0, 1, "ok", 8 },
        /* malformed: nothing is reported, not even the children before the fault */
        { "/introspect/bad/empty", "", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/space-only", " \n", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unclosed", "<node><node name=\"a\"/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/mismatched", "<node><node name=\"a\"></nod></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/stray-end", "<node/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/root-not-node", "<interface name=\"a\"/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/two-roots", "<node/><node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/text-before", "x<node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/text-after", "<node/>x", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/twice-named", "<node><node name=\"a\" name=\"b\"/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unquoted", "<node><node name=a/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/no-equals", "<node><node name \"a\"/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/no-space", "<node><node a=\"1\"name=\"b\"/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/lt-in-value", "<node><node name=\"a<\"/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unterminated-value", "<node><node name=\"a/></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/internal-subset", "<!DOCTYPE node [<!ENTITY x \"hci0\">]><node><node name=\"&x;\"/></node>",
          0, -EBADMSG, "", 0 },
        { "/introspect/bad/doctype-after-root", "<node/><!DOCTYPE node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/two-doctypes", "<!DOCTYPE node><!DOCTYPE node><node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unknown-entity", "<node>&nbsp;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unterminated-ref", "<node>&amp</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/nul-ref", "<node>&#0;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/surrogate-ref", "<node>&#xD800;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/fffe-ref", "<node>&#xFFFE;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/long-ref", "<node>&#000000065;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/huge-ref", "<node>&#x110000;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/empty-ref", "<node>&#;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/upper-x-ref", "<node>&#X41;</node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/dashes-in-comment", "<node><!-- a -- b --></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unterminated-comment", "<node><!-- a", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/cdata-outside", "<![CDATA[x]]><node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/cdata-end-in-text", "<node>]]></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/pi-without-target", "<node><?" "?></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/unterminated-pi", "<?xml version='1.0'<node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/declaration", "<!ELEMENT node ANY><node/>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/empty-tag", "<node><></node>", 0, -EBADMSG, "", 0 },
        { "/introspect/bad/nul", WITH_NUL("<node>\0</node>"), -EBADMSG, "", 0 },
        { "/introspect/bad/nul-in-value", WITH_NUL("<node><node name=\"a\0\"/></node>"), -EBADMSG, "", 0 },
        /* the size bounds the read: a document cut short is unclosed */
        { "/introspect/bad/cut", "<node><node name=\"a\"/></node>", 20, -EBADMSG, "", 0 },
};

struct introspect_seen {
        char names[1024];
        int calls, stop_after;
};

/* Collects the names reported; stops with -E2BIG after stop_after calls, if set. */
static int introspect_collect_cb(const char *name, void *userdata) {
        struct introspect_seen *seen = userdata;

        if (seen->stop_after > 0 && seen->calls == seen->stop_after)
                return -E2BIG;
        seen->calls++;
        if (seen->names[0])
                strcat(seen->names, ",");
        strcat(seen->names, name);
        return 0;
}

/* One document: its children, its invalid count, or its refusal. */
static void test_case(void **state) {
        const struct introspect_case *c = *state;
        struct introspect_seen seen = { .names = "" };
        size_t size = c->size ? c->size : strlen(c->xml);
        unsigned n_invalid = 12345;
        int r;

        r = introspect_children(c->xml, size, introspect_collect_cb, &seen, &n_invalid);
        assert_int_equal(r, c->ret);
        assert_string_equal(seen.names, c->children);
        if (r < 0)
                assert_int_equal(n_invalid, 12345);     /* set only on success */
        else {
                assert_int_equal(seen.calls, r);
                assert_int_equal(n_invalid, c->n_invalid);
                /* without a callback (and without a count) the answer is the same */
                assert_int_equal(introspect_children(c->xml, size, NULL, NULL, NULL), r);
        }
}

/* Nesting: INTROSPECT_DEPTH_MAX elements are fine, one more is refused. */
static void test_depth(void **state) {
        char xml[INTROSPECT_DEPTH_MAX * 32 + 64];

        for (int deep = INTROSPECT_DEPTH_MAX; deep <= INTROSPECT_DEPTH_MAX + 1; deep++) {
                size_t n = 0;

                for (int i = 0; i < deep; i++)
                        n += (size_t) snprintf(xml + n, sizeof(xml) - n, "<node name=\"n%d\">", i);
                for (int i = 0; i < deep; i++)
                        n += (size_t) snprintf(xml + n, sizeof(xml) - n, "</node>");
                assert_int_equal(introspect_children(xml, n, NULL, NULL, NULL),
                                 deep <= INTROSPECT_DEPTH_MAX ? 1 : -EBADMSG);
        }
}

/* A name of INTROSPECT_NAME_MAX bytes is a child; one byte more is not. */
static void test_name_max(void **state) {
        char xml[2 * INTROSPECT_NAME_MAX + 64], want[INTROSPECT_NAME_MAX + 1];
        struct introspect_seen seen = { .names = "" };
        unsigned n_invalid;
        int n;

        memset(want, 'a', INTROSPECT_NAME_MAX);
        want[INTROSPECT_NAME_MAX] = '\0';
        n = snprintf(xml, sizeof(xml), "<node><node name=\"%s\"/><node name=\"b%s\"/></node>", want, want);
        assert_true(n > 0 && (size_t) n < sizeof(xml));
        assert_int_equal(introspect_children(xml, (size_t) n, introspect_collect_cb, &seen, &n_invalid), 1);
        assert_string_equal(seen.names, want);
        assert_int_equal(n_invalid, 1);
}

/* The callback's error stops the scan and is returned; the children before it were reported. */
static void test_stop(void **state) {
        struct introspect_seen seen = { .names = "", .stop_after = 2 };
        const char *xml = "<node><node name=\"a\"/><node name=\"b\"/><node name=\"c\"/></node>";
        unsigned n_invalid = 7;

        assert_int_equal(introspect_children(xml, strlen(xml), introspect_collect_cb, &seen, &n_invalid), -E2BIG);
        assert_string_equal(seen.names, "a,b");
        assert_int_equal(n_invalid, 7);
}

/* Runs the table and the other cases. */
int main(void) {
        struct CMUnitTest tests[TEST_TABLE_ROWS(cases) + 3];
        size_t n = 0;

        TEST_TABLE_ADD(tests, n, cases, test_case);
        tests[n++] = (struct CMUnitTest) { .name = "/introspect/depth", .test_func = test_depth };
        tests[n++] = (struct CMUnitTest) { .name = "/introspect/name-max", .test_func = test_name_max };
        tests[n++] = (struct CMUnitTest) { .name = "/introspect/stop", .test_func = test_stop };
        return _cmocka_run_group_tests("introspect", tests, n, NULL, NULL);
}
