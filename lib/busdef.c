/* hpmon — bus names, object paths and the errno ↔ D-Bus error table (see busdef.h). */
#include <errno.h>
#include <stdio.h>
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

/* The object path of a device, from its canonical address. */
void busdef_device_path(const char address[static ADDRESS_STRING_MAX], char ret[static BUSDEF_DEVICE_PATH_MAX]) {
        char u[ADDRESS_STRING_MAX];

        address_to_underscores(address, u);
        snprintf(ret, BUSDEF_DEVICE_PATH_MAX, HPMON_DEVICES_PATH "/dev_%s", u);
}

/* The address behind a device's object path; -EINVAL for any other path. */
int busdef_device_address(const char *path, char ret[static ADDRESS_STRING_MAX]) {
        static const char prefix[] = HPMON_DEVICES_PATH "/dev_";

        if (!path || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
                return -EINVAL;
        return address_from_underscores(path + sizeof(prefix) - 1, ret);
}
