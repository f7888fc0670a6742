/* hpmon — names on the bus: hpmond's own API (dbus/org.hpmon.Monitor1.xml) and BlueZ's.
 * Plain constants and one errno table, so daemon, client and tests spell them one way. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "address.h"

#define HPMON_BUS_NAME          "org.hpmon.Monitor1"
#define HPMON_MANAGER_PATH      "/org/hpmon/Monitor1"
#define HPMON_DEVICES_PATH      "/org/hpmon/Monitor1/devices"
#define HPMON_MANAGER_IFACE     "org.hpmon.Monitor1.Manager"
#define HPMON_DEVICE_IFACE      "org.hpmon.Monitor1.Device"

#define HPMON_ERROR_NO_SUCH_DEVICE "org.hpmon.Monitor1.Error.NoSuchDevice"
#define HPMON_ERROR_FAILED         "org.hpmon.Monitor1.Error.Failed"
#define HPMON_ERROR_NO_SUCH_ALERT  "org.hpmon.Monitor1.Error.NoSuchAlert"
#define HPMON_ERROR_NOT_AUTHORIZED "org.hpmon.Monitor1.Error.NotAuthorized"
#define HPMON_ERROR_INVALID_ARGS   "org.freedesktop.DBus.Error.InvalidArgs"

#define BLUEZ_BUS_NAME          "org.bluez"
#define BLUEZ_PATH_NAMESPACE    "/org/bluez"
#define BLUEZ_DEVICE_IFACE      "org.bluez.Device1"
#define BLUEZ_BATTERY_IFACE     "org.bluez.Battery1"
#define BLUEZ_ADAPTER_IFACE     "org.bluez.Adapter1"

/* "/dev_AA_BB_CC_DD_EE_FF" plus NUL: the last element of a device's path, hpmond's or
 * BlueZ's, with its slash */
#define BUSDEF_LEAF_MAX (5 + ADDRESS_STRING_MAX)

/* "/org/hpmon/Monitor1/devices/dev_AA_BB_CC_DD_EE_FF" plus NUL */
#define BUSDEF_DEVICE_PATH_MAX (sizeof(HPMON_DEVICES_PATH) + 5 + ADDRESS_STRING_MAX)

/* One named D-Bus error and the errno it stands for. */
struct busdef_error {
        const char *name;
        int errnum;             /* positive */
};

/* hpmond's errors, the single table both directions use; ends with { NULL, 0 }. */
extern const struct busdef_error busdef_errors[];

const char *busdef_error_name(int r);
void busdef_device_path(const char address[static ADDRESS_STRING_MAX], char ret[static BUSDEF_DEVICE_PATH_MAX]);
int busdef_device_address(const char *path, char ret[static ADDRESS_STRING_MAX]);
void busdef_device_leaf(const char address[static ADDRESS_STRING_MAX], char ret[static BUSDEF_LEAF_MAX]);
bool busdef_bluez_adapter_valid(const char *path);
int busdef_bluez_device_parse(const char *path, size_t *ret_adapter_len, char ret_address[static ADDRESS_STRING_MAX]);
int busdef_bluez_device_path(const char *adapter, const char address[static ADDRESS_STRING_MAX], char **ret);
bool busdef_bluez_device_is(const char *path, const char address[static ADDRESS_STRING_MAX]);
bool busdef_path_is_below(const char *path, const char *parent, size_t parent_len);
bool busdef_error_says_absent(const char *name);
