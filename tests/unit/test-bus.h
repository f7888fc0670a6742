/* Unit tests' sd-bus: a started (unauthenticated) bus on a socketpair, enough for sd-bus to
 * build and read real messages with no dbus-daemon. Shared by the tests that decode bus
 * messages; include after <cmocka.h>. */
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

/* cmocka setup: *state becomes the bus. */
static int setup_bus(void **state) {
        sd_bus *bus = NULL;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_start(bus), 0);
        close(fds[1]);
        *state = bus;
        return 0;
}

/* cmocka teardown: closes the bus. */
static int teardown_bus(void **state) {
        sd_bus_close_unref(*state);
        return 0;
}

/* Seals a built message and rewinds it for reading, as if received. */
static inline void seal_message(sd_bus_message *m) {
        assert_int_equal(sd_bus_message_seal(m, 1, 0), 0);
        assert_true(sd_bus_message_rewind(m, 1) >= 0);
}
