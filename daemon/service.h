/* hpmond — our D-Bus API (dbus/org.hpmon.Monitor1.xml). */
#pragma once

#include "context.h"

int service_start(struct context *c);
void service_device_added(struct context *c, struct device *d);
void service_device_changed(struct context *c, struct device *d, unsigned mask);
void service_bluez_running_changed(struct context *c);
void service_logging_changed(struct context *c);
void service_alert_changed(struct context *c, struct device *d, enum alerts_change change, const struct alert *a);
void service_alerts_owner_changed(struct context *c, struct device *d, enum alerts_change change, const struct hpevent *e);
