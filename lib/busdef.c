/* hpmon — bus names, object paths and the errno ↔ D-Bus error table (see busdef.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busdef.h"

const struct busdef_error busdef_errors[] = {
        { HPMON_ERROR_NO_SUCH_DEVICE, ENODEV },
        { HPMON_ERROR_INVALID_ARGS, EINVAL },
        { HPMON_ERROR_NO_SUCH_ALERT, ENOENT },
        { HPMON_ERROR_NOT_AUTHORIZED, EACCES },
        { HPMON_ERROR_FAILED, EIO },
        { NULL, 0 },
};

/* The D-Bus error name for a negative errno; anything unnamed is .Failed (iwd's default). */
const char *busdef_error_name(int r) {
        for (const struct busdef_error *e = busdef_errors; e->name; e++)
                if (e->errnum == -r)
                        return e->name;
        return HPMON_ERROR_FAILED;
}

/* The last element of a device's object path, with its slash: "/dev_AA_BB_CC_DD_EE_FF", as
 * hpmond and bluetoothd (src/device.c) both spell it. */
void busdef_device_leaf(const char address[static ADDRESS_STRING_MAX], char ret[static BUSDEF_LEAF_MAX]) {
        char u[ADDRESS_STRING_MAX];

        address_to_underscores(address, u);
        snprintf(ret, BUSDEF_LEAF_MAX, "/dev_%s", u);
}

/* The object path of a device, from its canonical address. */
void busdef_device_path(const char address[static ADDRESS_STRING_MAX], char ret[static BUSDEF_DEVICE_PATH_MAX]) {
        char leaf[BUSDEF_LEAF_MAX];

        busdef_device_leaf(address, leaf);
        snprintf(ret, BUSDEF_DEVICE_PATH_MAX, HPMON_DEVICES_PATH "%s", leaf);
}

/* The address behind a device's object path; -EINVAL for any other path. */
int busdef_device_address(const char *path, char ret[static ADDRESS_STRING_MAX]) {
        static const char prefix[] = HPMON_DEVICES_PATH "/dev_";

        if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return -EINVAL;
        return address_from_underscores(path + sizeof(prefix) - 1, ret);
}

/* The length of BLUEZ_PATH_NAMESPACE "/" and the one path element after it ([A-Za-z0-9_]+, as
 * D-Bus allows them, of any length: D-Bus sets no limit on one) at the start of a path, where
 * bluetoothd puts an adapter ("/org/bluez/hci0"); 0 if the path does not start so. */
static size_t busdef_bluez_adapter_len(const char *path) {
        static const char ns[] = BLUEZ_PATH_NAMESPACE "/";
        size_t n = sizeof(ns) - 1;

        if (!path || strncmp(path, ns, n) != 0)
                return 0;
        while ((path[n] >= 'A' && path[n] <= 'Z') || (path[n] >= 'a' && path[n] <= 'z') ||
               (path[n] >= '0' && path[n] <= '9') || path[n] == '_')
                n++;
        return n > sizeof(ns) - 1 ? n : 0;
}

/* Whether a path is where bluetoothd puts an adapter: one element below BLUEZ_PATH_NAMESPACE. */
bool busdef_bluez_adapter_valid(const char *path) {
        size_t len = busdef_bluez_adapter_len(path);

        return len > 0 && path[len] == '\0';
}

/* Splits a BlueZ device's object path, ADAPTER/dev_AA_BB_CC_DD_EE_FF with ADAPTER as
 * busdef_bluez_adapter_valid() says (bluetoothd's src/device.c), into the length of ADAPTER
 * and the device's address, canonical. bluetoothd writes the hex digits in upper case; lower
 * case is taken as the same address (an object there may be that headset: never a reason to
 * say it is gone). -EINVAL for any other path. */
int busdef_bluez_device_parse(const char *path, size_t *ret_adapter_len, char ret_address[static ADDRESS_STRING_MAX]) {
        static const char dev[] = "/dev_";
        size_t len = busdef_bluez_adapter_len(path);
        char address[ADDRESS_STRING_MAX];
        int r;

        if (len == 0 || strncmp(path + len, dev, sizeof(dev) - 1) != 0)
                return -EINVAL;
        r = address_from_underscores(path + len + sizeof(dev) - 1, address);
        if (r < 0)
                return r;
        *ret_adapter_len = len;
        memcpy(ret_address, address, ADDRESS_STRING_MAX);
        return 0;
}

/* A device's object path on a BlueZ adapter, ADAPTER/dev_AA_BB_CC_DD_EE_FF, allocated: an
 * adapter's path is as long as bluetoothd makes it. -EINVAL if ADAPTER is none
 * (busdef_bluez_adapter_valid()), -ENOMEM. */
int busdef_bluez_device_path(const char *adapter, const char address[static ADDRESS_STRING_MAX], char **ret) {
        char leaf[BUSDEF_LEAF_MAX], *path;
        size_t len;

        if (!busdef_bluez_adapter_valid(adapter))
                return -EINVAL;
        busdef_device_leaf(address, leaf);
        len = strlen(adapter);
        path = malloc(len + sizeof(leaf));
        if (!path)
                return -ENOMEM;
        memcpy(path, adapter, len);
        memcpy(path + len, leaf, sizeof(leaf));
        *ret = path;
        return 0;
}

/* Whether a path is that of the device with this canonical address, on any adapter. */
bool busdef_bluez_device_is(const char *path, const char address[static ADDRESS_STRING_MAX]) {
        char found[ADDRESS_STRING_MAX];
        size_t len;

        return busdef_bluez_device_parse(path, &len, found) >= 0 && strcmp(found, address) == 0;
}

/* Whether `path` is an object below the one whose path is the first `parent_len` bytes of
 * `parent` (a child or deeper; not the object itself): the objects that go with an adapter
 * BlueZ removes, whatever their names. */
bool busdef_path_is_below(const char *path, const char *parent, size_t parent_len) {
        return parent_len > 0 && strncmp(path, parent, parent_len) == 0 && path[parent_len] == '/';
}

/* Whether a D-Bus error name says there is no such object, interface, property or method: as
 * D-Bus spells it, or under the service's own prefix as some do
 * ("org.bluez.Device1.UnknownInterface"), or InvalidArgs, BlueZ's answer for a property it
 * does not have. A timeout or a refusal says nothing about what is there (false). */
bool busdef_error_says_absent(const char *name) {
        static const char *const suffixes[] = {
                ".UnknownObject", ".UnknownInterface", ".UnknownProperty", ".UnknownMethod",
        };
        size_t len = name ? strlen(name) : 0;

        if (len == 0)
                return false;
        if (strcmp(name, HPMON_ERROR_INVALID_ARGS) == 0)
                return true;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                size_t sl = strlen(suffixes[i]);

                if (len > sl && strcmp(name + len - sl, suffixes[i]) == 0)
                        return true;
        }
        return false;
}
