/* hpmon — the child nodes an org.freedesktop.DBus.Introspectable.Introspect document lists. */
#pragma once

#include <stddef.h>

/* The longest child name accepted, in bytes. D-Bus sets no limit on a path element; BlueZ's
 * are "hci0" and "dev_AA_BB_CC_DD_EE_FF". A longer one is counted as invalid. */
#define INTROSPECT_NAME_MAX 255

/* Elements nested deeper than this make the document malformed (D-Bus introspection data
 * nests node > interface > method > arg > annotation: five). */
#define INTROSPECT_DEPTH_MAX 32

/* Called once for each valid child, in document order, with its name (a D-Bus path
 * element: [A-Za-z0-9_]+, NUL-terminated). A negative return stops the scan with it. */
typedef int (*introspect_child_cb)(const char *name, void *userdata);

int introspect_children(const char *xml, size_t size, introspect_child_cb cb, void *userdata,
                        unsigned *ret_n_invalid);
