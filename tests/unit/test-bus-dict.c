/* Unit tests of bus/bus-dict.c: walking a{sv}, a{sa{sv}} and a{oa{sa{sv}}} in real sd-bus
 * messages, built on a bus over a socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bus-dict.h"
#include "test-bus.h"

/* What the callbacks saw, in order: "key" or "path interface" per entry, ';' between. */
struct seen {
        char trail[256];
        unsigned calls;
        unsigned fail_at;       /* the call (1-based) that fails with -ENOTUNIQ; 0: none */
        int32_t number;         /* the value of the key "Number" */
};

/* Notes one entry in the trail. */
static void seen_add(struct seen *s, const char *a, const char *b) {
        size_t len = strlen(s->trail);

        snprintf(s->trail + len, sizeof(s->trail) - len, "%s%s%s%s", len ? ";" : "", a, b ? " " : "", b ? b : "");
}

/* A property: reads "Number" as an int32, skips everything else. */
static int property_cb(sd_bus_message *m, const char *key, void *userdata) {
        struct seen *s = userdata;

        if (++s->calls == s->fail_at)
                return -ENOTUNIQ;
        seen_add(s, key, NULL);
        if (strcmp(key, "Number") == 0)
                return sd_bus_message_read(m, "v", "i", &s->number);
        return sd_bus_message_skip(m, "v");
}

/* An interface: walks its properties too, so nesting is covered. */
static int interface_cb(sd_bus_message *m, const char *path, const char *interface, void *userdata) {
        struct seen *s = userdata;

        if (++s->calls == s->fail_at)
                return -ENOTUNIQ;
        seen_add(s, path, interface);
        return bus_dict_read_properties(m, property_cb, s);
}

/* A new signal message, ready to append a body to. */
static sd_bus_message *new_message(void **state) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_signal(*state, &m, "/a", "org.example.Test", "Test"), 0);
        return m;
}

/* Every entry of an a{sv} reaches the callback in order, nested values skipped whole, and
 * the walk leaves the read position just after the dictionary. */
static void test_properties(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = {};
        const char *after;

        assert_true(sd_bus_message_append(m, "a{sv}s", 3,
                                          "Name", "s", "x",
                                          "Nested", "a{sv}", 1, "Deep", "as", 2, "p", "q",
                                          "Number", "i", 42,
                                          "after") >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_properties(m, property_cb, &s), 1);
        assert_string_equal(s.trail, "Name;Nested;Number");
        assert_int_equal(s.number, 42);
        assert_int_equal(sd_bus_message_read(m, "s", &after), 1);
        assert_string_equal(after, "after");
        sd_bus_message_unref(m);
}

/* An empty dictionary is read (positive) without a call; none at all is an error. */
static void test_empty_and_missing(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = {};

        assert_true(sd_bus_message_append(m, "a{sv}", 0) >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_properties(m, property_cb, &s), 1);
        assert_true(bus_dict_read_properties(m, property_cb, &s) < 0);
        assert_true(bus_dict_read_objects(m, interface_cb, &s) < 0);
        assert_int_equal(s.calls, 0);
        sd_bus_message_unref(m);
}

/* Something else where the dictionary should be is an error, with no call. */
static void test_not_a_dict(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = {};

        assert_true(sd_bus_message_append(m, "as", 1, "Name") >= 0);
        seal_message(m);
        assert_true(bus_dict_read_properties(m, property_cb, &s) < 0);
        assert_true(bus_dict_read_interfaces(m, "/a", interface_cb, &s) < 0);
        assert_true(bus_dict_read_objects(m, interface_cb, &s) < 0);
        assert_int_equal(s.calls, 0);
        sd_bus_message_unref(m);
}

/* A callback's error ends the walk with that error; what came before it was seen. */
static void test_callback_fails(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = { .fail_at = 2 };

        assert_true(sd_bus_message_append(m, "a{sv}", 3, "A", "b", 1, "B", "b", 0, "C", "b", 1) >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_properties(m, property_cb, &s), -ENOTUNIQ);
        assert_string_equal(s.trail, "A");
        assert_int_equal(s.calls, 2);
        sd_bus_message_unref(m);
}

/* InterfacesAdded's a{sa{sv}}: each interface with the object's path. */
static void test_interfaces(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = {};

        assert_true(sd_bus_message_append(m, "a{sa{sv}}", 2,
                                          "org.example.One", 1, "Number", "i", 7,
                                          "org.example.Two", 0) >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_interfaces(m, "/obj", interface_cb, &s), 1);
        assert_string_equal(s.trail, "/obj org.example.One;Number;/obj org.example.Two");
        assert_int_equal(s.number, 7);
        sd_bus_message_unref(m);
}

/* GetManagedObjects' a{oa{sa{sv}}}: every interface of every object, in order. */
static void test_objects(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = {};

        assert_true(sd_bus_message_append(m, "a{oa{sa{sv}}}", 3,
                                          "/a", 2, "org.example.One", 1, "Name", "s", "n",
                                                   "org.example.Two", 0,
                                          "/a/b", 0,
                                          "/c", 1, "org.example.One", 1, "Number", "i", -3) >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_objects(m, interface_cb, &s), 1);
        assert_string_equal(s.trail, "/a org.example.One;Name;/a org.example.Two;/c org.example.One;Number");
        assert_int_equal(s.number, -3);
        sd_bus_message_unref(m);
}

/* An interface callback's error stops the walk over all objects. */
static void test_objects_fail(void **state) {
        sd_bus_message *m = new_message(state);
        struct seen s = { .fail_at = 3 };

        assert_true(sd_bus_message_append(m, "a{oa{sa{sv}}}", 2,
                                          "/a", 1, "org.example.One", 1, "Name", "s", "n",
                                          "/b", 1, "org.example.Two", 0) >= 0);
        seal_message(m);
        assert_int_equal(bus_dict_read_objects(m, interface_cb, &s), -ENOTUNIQ);
        assert_string_equal(s.trail, "/a org.example.One;Name");
        sd_bus_message_unref(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_properties, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_empty_and_missing, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_not_a_dict, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_callback_fails, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_interfaces, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_objects, setup_bus, teardown_bus),
                cmocka_unit_test_setup_teardown(test_objects_fail, setup_bus, teardown_bus),
        };

        return cmocka_run_group_tests_name("/bus-dict", tests, NULL, NULL);
}
