/* hpmon — walking D-Bus property dictionaries (a{sv}) and ObjectManager's nests of them,
 * shared by hpmond and hpctl. Needs libsystemd, so it lives beside lib/, not in it. */
#pragma once

#include <systemd/sd-bus.h>

/* Called for each entry of an a{sv}, with the read position on the entry's variant, which
 * it must read or skip whole. A negative return ends the walk with that error. */
typedef int (*bus_dict_property_cb)(sd_bus_message *m, const char *key, void *userdata);

/* Called for each interface of an a{sa{sv}}, with the read position on the interface's
 * a{sv}, which it must read or skip whole. A negative return ends the walk with that error. */
typedef int (*bus_dict_interface_cb)(sd_bus_message *m, const char *path, const char *interface, void *userdata);

int bus_dict_read_properties(sd_bus_message *m, bus_dict_property_cb cb, void *userdata);
int bus_dict_read_interfaces(sd_bus_message *m, const char *path, bus_dict_interface_cb cb, void *userdata);
int bus_dict_read_objects(sd_bus_message *m, bus_dict_interface_cb cb, void *userdata);
