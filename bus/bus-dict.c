/* hpmon — walking D-Bus property dictionaries.
 *
 * Properties come as a{sv} (Properties.GetAll, PropertiesChanged), an object's interfaces
 * as a{sa{sv}} (InterfacesAdded) and a whole tree as a{oa{sa{sv}}} (GetManagedObjects).
 * Each walk enters the array at the message's read position, hands every entry to a
 * callback positioned on its value, and leaves the array, so a caller only says what one
 * value means. A walk returns a positive number when it read the dictionary (empty or
 * not), and a negative errno when there is none at the read position or it is malformed
 * or a callback failed; the callback has then seen every entry before the bad one.
 * Non-logging. */
#include <errno.h>

#include "bus-dict.h"

/* What a walk of a{oa{sa{sv}}} or a{sa{sv}} passes down to each of its entries. */
struct bus_dict_walk_interfaces {
        const char *path;
        bus_dict_interface_cb cb;
        void *userdata;
};

/* Walks one dictionary: `array` and `entry` are its contents signatures ("{sv}" and "sv"),
 * `key_type` its key's type; cb gets each key with the read position on its value. */
static int bus_dict_walk(sd_bus_message *m, const char *array, const char *entry, char key_type,
                         bus_dict_property_cb cb, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', array);
        if (r <= 0)     /* 0: at the end of an enclosing array, so no dictionary either */
                return r < 0 ? r : -EBADMSG;
        while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                const char *key;

                r = sd_bus_message_read_basic(m, key_type, &key);
                if (r < 0)
                        return r;
                r = cb(m, key, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Walks an a{sv}: cb gets each key with the read position on its variant. */
int bus_dict_read_properties(sd_bus_message *m, bus_dict_property_cb cb, void *userdata) {
        return bus_dict_walk(m, "{sv}", "sv", 's', cb, userdata);
}

/* One entry of an a{sa{sv}}: hands the interface on with its object's path. */
static int bus_dict_interface_entry_cb(sd_bus_message *m, const char *interface, void *userdata) {
        struct bus_dict_walk_interfaces *w = userdata;

        return w->cb(m, w->path, interface, w->userdata);
}

/* Walks the a{sa{sv}} of the object at `path`: cb gets each interface with the read
 * position on its a{sv}. */
int bus_dict_read_interfaces(sd_bus_message *m, const char *path, bus_dict_interface_cb cb, void *userdata) {
        struct bus_dict_walk_interfaces w = { .path = path, .cb = cb, .userdata = userdata };

        return bus_dict_walk(m, "{sa{sv}}", "sa{sv}", 's', bus_dict_interface_entry_cb, &w);
}

/* One entry of an a{oa{sa{sv}}}: walks that object's interfaces. */
static int bus_dict_object_entry_cb(sd_bus_message *m, const char *path, void *userdata) {
        struct bus_dict_walk_interfaces *w = userdata;

        return bus_dict_read_interfaces(m, path, w->cb, w->userdata);
}

/* Walks an a{oa{sa{sv}}}: cb gets each interface of each object, with the read position
 * on the interface's a{sv}. */
int bus_dict_read_objects(sd_bus_message *m, bus_dict_interface_cb cb, void *userdata) {
        struct bus_dict_walk_interfaces w = { .cb = cb, .userdata = userdata };

        return bus_dict_walk(m, "{oa{sa{sv}}}", "oa{sa{sv}}", 'o', bus_dict_object_entry_cb, &w);
}
