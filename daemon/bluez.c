/* hpmond — the BlueZ observer.
 *
 * It keeps a mirror of BlueZ's Device1/Battery1 objects and, after every change, reports
 * the device's whole state to the registry, which decides what is new. The mirror is
 * rebuilt from GetManagedObjects whenever org.bluez gets an owner, and dropped when it
 * loses it (every device is then reported disconnected). Only signals from the current
 * owner's unique name count, so a dying bluetoothd's last words cannot overwrite its
 * successor's state. All calls are asynchronous.
 *
 *   start ─▶ matches ─▶ GetNameOwner ─┬─ owner ──▶ GetManagedObjects ─▶ full sync
 *                                     └─ none ───▶ everything disconnected
 *   NameOwnerChanged(org.bluez): old owner gone ─▶ everything disconnected;
 *                                new owner      ─▶ GetManagedObjects ─▶ full sync
 *
 * sd-bus refuses some strings that libdbus, and so bluetoothd and dbus-daemon, let through
 * (the noncharacters U+FDD0..U+FDEF and U+xxFFFE/F): a device whose name holds one makes
 * the rest of any message that carries the name unreadable. Any device in radio range can
 * have such a name. So when a signal cannot be read to its end, its object is *probed*:
 * its Address, Connected and Percentage are asked for one Properties.Get at a time, which
 * never reads the name. When the object list cannot, the objects after X (the one it
 * stopped at) are found by *walking* BlueZ's object tree, as a client without
 * ObjectManager would: Introspect from /org/bluez lists the adapters, Introspect of each
 * adapter its devices (lib/introspect.c reads the XML), and each device not in the mirror
 * is read with Properties.GetAll of Device1, then of Battery1 — or probed, if its Device1
 * cannot be read either:
 *
 *   PropertiesChanged/InterfacesAdded unreadable ─▶ probe that object
 *   GetManagedObjects unreadable at object X ─▶ probe X, and walk:
 *        Introspect /org/bluez ─▶ Introspect ADAPTER ─▶ GetAll Device1 ─▶ GetAll Battery1
 *                                                      (unreadable ─▶ probe)
 *        once every call and probe is answered, the list is whole again: the sync ends,
 *        and a headset BlueZ no longer has is disconnected, as after a full list.
 *        If the walk cannot finish (an answer that is no answer, more objects than it
 *        walks), every headset hpmond knows but did not read is probed on every adapter
 *        seen instead (and is disconnected if there is none). Until the list is whole, a
 *        signal from an object not in the mirror probes it too.
 *
 * The walk is bounded (BLUEZ_WALK_*: two levels, 4096 objects, and at most 4096 probes waited
 * for, however many objects bluetoothd keeps announcing meanwhile), and so are the calls in
 * flight: at most BLUEZ_CALLS_MAX (16), the walk's and every probe's together, the others
 * queued, and the mirror (BLUEZ_DEVICES_MAX objects), which bounds the queue of probes.
 * All of it is event-driven: no timer, each answer sends what is queued next. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "array.h"
#include "bluez-decode.h"
#include "bluez.h"
#include "bus-dict.h"
#include "busdef.h"
#include "introspect.h"
#include "log.h"
#include "registry.h"
#include "service.h"

/* What the mirror keeps of a device object: the values hpmond reports, each valid where
 * its BLUEZ_PROP_* bit is in `present`; names on the heap, as long as they are. Not the
 * decoder's whole struct bluez_props (two 249-byte names and its list of problems, over
 * 1 KiB an object): that lives on the stack while one message is read. */
struct bluez_state {
        unsigned present;
        char address[ADDRESS_STRING_MAX];
        bool connected;
        int percentage;
        char *name, *alias;
};

/* What a probe asks, one Properties.Get each. */
enum bluez_ask {
        BLUEZ_ASK_ADDRESS,
        BLUEZ_ASK_CONNECTED,
        BLUEZ_ASK_PERCENTAGE,
        _BLUEZ_ASK_MAX,
};

static const struct {
        const char *interface, *property;
} bluez_asks[_BLUEZ_ASK_MAX] = {
        [BLUEZ_ASK_ADDRESS] = { BLUEZ_DEVICE_IFACE, "Address" },
        [BLUEZ_ASK_CONNECTED] = { BLUEZ_DEVICE_IFACE, "Connected" },
        [BLUEZ_ASK_PERCENTAGE] = { BLUEZ_BATTERY_IFACE, "Percentage" },
};

struct bluez_device;

/* The Properties.Get calls for one device, queued (sent is false) or in flight (allocated
 * only while probing). */
struct bluez_probe {
        struct bluez *b;
        struct bluez_device *d;
        struct bluez_probe *prev, *next; /* in b's queue, while not sent */
        bool sent;
        sd_bus_slot *asks[_BLUEZ_ASK_MAX];
        char known[ADDRESS_STRING_MAX]; /* a headset hpmond knows, looked for here after a
                                         * partial object list; "" for any other probe */
};

/* The walk of BlueZ's object tree after a partial object list (see the top of this file).
 * Bounded whatever bluetoothd answers: BlueZ's tree is /org/bluez, its adapters, their
 * devices (ADAPTER/dev_AA_BB_…), and nothing below BLUEZ_WALK_DEPTH is asked for; a walk
 * takes at most BLUEZ_WALK_NODES_MAX objects (more, and it stops and counts as failed).
 *
 * The walk's calls and the probes' together are at most BLUEZ_CALLS_MAX in flight, the
 * others queued: dbus-daemon lets a connection on the system bus wait for 128 replies at
 * once and answers any call past that with LimitsExceeded, and the probes after a failed
 * walk alone can be thousands (each known headset on each adapter, three calls each). */
#define BLUEZ_WALK_DEPTH 2
#define BLUEZ_WALK_NODES_MAX 4096U
#define BLUEZ_CALLS_MAX 16U

/* The mirror holds at most this many objects, as many as a walk takes. A bluetoothd that has
 * more (or announces more: InterfacesAdded, or after a partial list signals from objects not
 * in the mirror, each probed) is followed no further, said once; its object list then counts
 * as partial, so that no headset is said gone for not being in the mirror. The queue of
 * probes, one per mirrored object at most, is bounded with it (a few hundred bytes each). */
#define BLUEZ_DEVICES_MAX BLUEZ_WALK_NODES_MAX

enum bluez_step_kind {
        BLUEZ_STEP_INTROSPECT,          /* /org/bluez or an adapter: its children */
        BLUEZ_STEP_DEVICE,              /* a device not read: GetAll(Device1), then */
        BLUEZ_STEP_BATTERY,             /* GetAll(Battery1) */
};

struct bluez_walk;

/* One call of a walk, queued (call is NULL) or in flight. */
struct bluez_step {
        struct bluez_step *next;
        struct bluez_walk *w;
        sd_bus_slot *call;
        enum bluez_step_kind kind;
        unsigned depth;                 /* 0 for /org/bluez, 1 an adapter, 2 a device */
        char path[];
};

/* A walk of BlueZ's object tree (allocated only while walking). */
struct bluez_walk {
        struct bluez *b;
        struct bluez_step *queued, **queued_tail, *running;
        unsigned n_running, n_nodes, n_read;
        unsigned n_probed;              /* probes queued while walking (any: a signal's too) */
        bool failed;                    /* something could not be asked or answered */
        bool overrun;                   /* more than BLUEZ_WALK_NODES_MAX probed: it waits for
                                         * none of them any more, and ends */
        char *unread;                   /* the object the list stopped at; NULL: at its start */
};

/* One BlueZ device object as last seen. */
struct bluez_device {
        char *path;
        struct bluez_state props;
        bool has_battery;
        struct bluez_probe *probe;      /* NULL unless a probe is queued or in flight */
};

struct bluez {
        struct context *c;
        char *owner;                    /* unique name of bluetoothd, NULL while it is away */
        struct bluez_device **devices;  /* sorted by path: found by bisection at every signal */
        size_t n_devices, devices_cap;
        sd_bus_slot *sync_call;         /* GetManagedObjects or GetNameOwner in flight */
        sd_bus_slot *matches[4];
        bool partial;                   /* the last object list could not be read to its end,
                                         * and no walk has completed it yet; or an object could
                                         * not be mirrored (bluez_get()) */
        bool full_said;                 /* the mirror was full once since it was last cleared */
        const char *reading;            /* the object last read (into its message: only good within
                                         * bluez_managed_objects_cb(), which resets it) */
        char **adapters;                /* adapters seen since the last object list (its own,
                                         * InterfacesAdded's, those the walk introspected) and not
                                         * removed since, for bluez_probe_known() */
        size_t n_adapters;
        char (*unsure)[ADDRESS_STRING_MAX]; /* known headsets a probe of bluez_probe_known() could
                                         * not settle (no answer to its Address): never said gone
                                         * until the next object list; one entry per headset */
        size_t n_unsure;
        bool unsure_all;                /* a headset or an adapter could not be noted: none is
                                         * said gone */
        struct bluez_probe *probes_first, *probes_last; /* probes not sent yet, oldest first: at
                                         * most one per mirrored device (see bluez_probe()) */
        unsigned n_probes;              /* probes in flight: a walk ends only after them, and
                                         * after those queued */
        struct bluez_walk *walk;        /* NULL unless walking the object tree */
};

#define BLUEZ_MATCH_SENDER "type='signal',sender='" BLUEZ_BUS_NAME "',"

/* Adapters noted for bluez_probe_known(): a host has one or two. */
#define BLUEZ_ADAPTERS_MAX 16

/* Where a path is in the sorted mirror, or where it would go; *ret_found says which. */
static size_t bluez_position(const struct bluez *b, const char *path, bool *ret_found) {
        size_t lo = 0, hi = b->n_devices;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(path, b->devices[mid]->path);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        *ret_found = false;
        return lo;
}

/* Finds a mirrored device by object path. */
static struct bluez_device *bluez_find(struct bluez *b, const char *path) {
        bool found;
        size_t i = bluez_position(b, path, &found);

        return found ? b->devices[i] : NULL;
}

/* A walk under way cannot say it read everything: it ends in the fallback (if there is one). */
static void bluez_walk_fail(struct bluez *b) {
        if (b->walk)
                b->walk->failed = true;
}

/* Finds or adds a mirrored device. An object that cannot be added (-ENOMEM, or -E2BIG past
 * BLUEZ_DEVICES_MAX, said once) leaves the mirror partial, and a walk unable to say it read
 * everything. */
static int bluez_get(struct bluez *b, const char *path, struct bluez_device **ret) {
        struct bluez_device *d, **grown;
        bool found;
        size_t i = bluez_position(b, path, &found);
        int r = -ENOMEM;

        if (found) {
                *ret = b->devices[i];
                return 0;
        }
        if (b->n_devices >= BLUEZ_DEVICES_MAX) {
                if (!b->full_said)
                        log_warning("BlueZ has more objects than the %u hpmond follows: the others are not followed, "
                                    "nor taken for gone, until BlueZ is read again.", BLUEZ_DEVICES_MAX);
                b->full_said = true;
                r = -E2BIG;
                goto fail;
        }
        grown = array_grow(b->devices, sizeof(*grown), b->n_devices + 1, 8, &b->devices_cap);
        if (!grown)
                goto fail;
        b->devices = grown;
        d = calloc(1, sizeof(*d));
        if (!d)
                goto fail;
        d->path = strdup(path);
        if (!d->path) {
                free(d);
                goto fail;
        }
        d->props.percentage = -1;
        memmove(b->devices + i + 1, b->devices + i, (b->n_devices - i) * sizeof(*b->devices));
        b->devices[i] = d;
        b->n_devices++;
        *ret = d;
        return 0;
fail:
        b->partial = true;
        bluez_walk_fail(b);
        return r;
}

/* Cancels a probe's calls still in flight, or takes it off the queue; accepts NULL and
 * returns NULL. */
static struct bluez_probe *bluez_probe_free(struct bluez_probe *p) {
        struct bluez *b;

        if (!p)
                return NULL;
        b = p->b;
        if (p->sent)
                b->n_probes--;
        else {
                *(p->prev ? &p->prev->next : &b->probes_first) = p->next;
                *(p->next ? &p->next->prev : &b->probes_last) = p->prev;
        }
        for (size_t i = 0; i < _BLUEZ_ASK_MAX; i++)
                sd_bus_slot_unref(p->asks[i]);
        free(p);
        return NULL;
}

/* The calls to BlueZ in flight that BLUEZ_CALLS_MAX bounds: the walk's and the probes'. */
static unsigned bluez_calls(const struct bluez *b) {
        return (b->walk ? b->walk->n_running : 0) + _BLUEZ_ASK_MAX * b->n_probes;
}

/* Drops one mirrored device. */
static void bluez_remove(struct bluez *b, struct bluez_device *gone) {
        bool found;
        size_t i = bluez_position(b, gone->path, &found);

        if (!found)
                return;
        memmove(b->devices + i, b->devices + i + 1, (b->n_devices - i - 1) * sizeof(*b->devices));
        b->n_devices--;
        bluez_probe_free(gone->probe);
        free(gone->props.name);
        free(gone->props.alias);
        free(gone->path);
        free(gone);
}

/* Drops the whole mirror. */
static void bluez_clear(struct bluez *b) {
        while (b->n_devices > 0)
                bluez_remove(b, b->devices[b->n_devices - 1]);
        free(b->devices);
        b->devices = NULL;
        b->devices_cap = 0;
        b->full_said = false;
}

/* Forgets what was noted while an object list was partial: its adapters, and the known
 * headsets no probe could settle. */
static void bluez_clear_partial(struct bluez *b) {
        for (size_t i = 0; i < b->n_adapters; i++)
                free(b->adapters[i]);
        b->adapters = (free(b->adapters), NULL);
        b->n_adapters = 0;
        b->unsure = (free(b->unsure), NULL);
        b->n_unsure = 0;
        b->unsure_all = false;
}

/* The index of the adapter noted as the first `len` bytes of `path`, or -1. */
static ssize_t bluez_adapter_find(const struct bluez *b, const char *path, size_t len) {
        for (size_t i = 0; i < b->n_adapters; i++)
                if (strncmp(b->adapters[i], path, len) == 0 && b->adapters[i][len] == '\0')
                        return (ssize_t) i;
        return -1;
}

/* Notes an adapter's object path, the first `len` bytes of `path`, once. Not one where
 * bluetoothd puts no adapter (-EINVAL): the fallback looks for a headset only where bluetoothd
 * would put it, and knows it by that path (busdef_bluez_device_is()). One that cannot be noted
 * (-ENOMEM, or -E2BIG past BLUEZ_ADAPTERS_MAX: each known headset not read is asked for on each
 * adapter noted) is an adapter the fallback cannot ask, and a headset may be there: then no
 * headset is said gone (unsure_all). */
static int bluez_add_adapter(struct bluez *b, const char *path, size_t len) {
        char **grown, *copy;
        int r;

        if (bluez_adapter_find(b, path, len) >= 0)
                return 0;
        copy = strndup(path, len);
        if (!copy)
                r = -ENOMEM;
        else if (!busdef_bluez_adapter_valid(copy))
                r = -EINVAL;
        else if (b->n_adapters >= BLUEZ_ADAPTERS_MAX)
                r = -E2BIG;
        else if (!(grown = realloc(b->adapters, (b->n_adapters + 1) * sizeof(*grown))))
                r = -ENOMEM;
        else {
                b->adapters = grown;
                b->adapters[b->n_adapters++] = copy;
                return 0;
        }
        free(copy);
        if (r != -EINVAL)
                b->unsure_all = true;
        return r;
}

/* Forgets an adapter BlueZ removed: the fallback does not ask it for anything any more. */
static void bluez_forget_adapter(struct bluez *b, const char *path) {
        ssize_t i = bluez_adapter_find(b, path, strlen(path));

        if (i < 0)
                return;
        free(b->adapters[i]);
        b->n_adapters--;
        memmove(b->adapters + i, b->adapters + i + 1, (b->n_adapters - (size_t) i) * sizeof(*b->adapters));
}

/* The current wall clock in ms, the time of what is reported now. */
static int64_t bluez_now(void) {
        int64_t t = 0;

        (void) context_now_ms(&t);
        return t;
}

/* Reports a mirrored device's whole state to the registry. */
static void bluez_report(struct bluez *b, struct bluez_device *d, int64_t now) {
        struct devstate_report rep = {
                .connected = (d->props.present & BLUEZ_PROP_CONNECTED) ? d->props.connected : -1,
                .percentage = d->has_battery && (d->props.present & BLUEZ_PROP_PERCENTAGE) ? d->props.percentage : -1,
        };
        const char *name = (d->props.present & BLUEZ_PROP_ALIAS) ? d->props.alias :
                           (d->props.present & BLUEZ_PROP_NAME) ? d->props.name : NULL;

        if (!(d->props.present & BLUEZ_PROP_ADDRESS))
                return;
        (void) registry_report(b->c, d->props.address, name, &rep, now);
}

/* Replaces a kept name if it changed; -ENOMEM leaves the old one. */
static int bluez_set_name(char **name, const char *value) {
        char *copy;

        if (*name && strcmp(*name, value) == 0)
                return 0;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*name);
        *name = copy;
        return 0;
}

/* Merges what one message decoded into the mirror (bluez_decode_merge() for the short form). */
static int bluez_merge(struct bluez_state *into, const struct bluez_props *from) {
        unsigned present = from->present;

        if (present & BLUEZ_PROP_ADDRESS)
                memcpy(into->address, from->address, sizeof(into->address));
        if ((present & BLUEZ_PROP_NAME) && bluez_set_name(&into->name, from->name) < 0)
                present &= ~BLUEZ_PROP_NAME;
        if ((present & BLUEZ_PROP_ALIAS) && bluez_set_name(&into->alias, from->alias) < 0)
                present &= ~BLUEZ_PROP_ALIAS;
        if (present & BLUEZ_PROP_CONNECTED)
                into->connected = from->connected;
        if (present & BLUEZ_PROP_PERCENTAGE)
                into->percentage = from->percentage;
        into->present |= present;
        return present == from->present ? 0 : -ENOMEM;
}

/* Decodes one interface's properties into a mirrored device, warning about bad values. */
static int bluez_apply_props(struct bluez_device *d, sd_bus_message *m, const char *interface) {
        struct bluez_props p;
        int r;

        r = bluez_decode_props(m, interface, &p);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < p.n_problems && i < BLUEZ_PROBLEMS_MAX; i++)
                log_warning("%s %s: %s; value ignored.", d->path, interface, p.problems[i]);
        if (p.n_problems > BLUEZ_PROBLEMS_MAX)
                log_warning("%s %s: %u more bad values ignored.", d->path, interface, p.n_problems - BLUEZ_PROBLEMS_MAX);
        r = bluez_merge(&d->props, &p);
        if (r < 0)
                log_warning_errno(r, "%s: cannot keep its name, ignoring: %m", d->path);
        return 0;
}

/* One interface of a BlueZ object (GetManagedObjects, InterfacesAdded): Device1 and Battery1
 * go into the mirror, adding the device on first sight; anything else is skipped. */
static int bluez_read_interface_cb(sd_bus_message *m, const char *path, const char *interface, void *userdata) {
        struct bluez *b = userdata;
        bool dev = strcmp(interface, BLUEZ_DEVICE_IFACE) == 0;
        bool bat = strcmp(interface, BLUEZ_BATTERY_IFACE) == 0;
        struct bluez_device *d;
        int r;

        b->reading = path;
        if (strcmp(interface, BLUEZ_ADAPTER_IFACE) == 0)
                (void) bluez_add_adapter(b, path, strlen(path));
        if (!(dev || bat) || bluez_get(b, path, &d) < 0)
                return sd_bus_message_skip(m, "a{sv}");
        r = bluez_apply_props(d, m, interface);
        if (bat)
                d->has_battery = true;
        return r;
}

/* Whether an error says there is no such object, interface or property
 * (busdef_error_says_absent()); a timeout or a refusal says nothing about what is there. */
static bool bluez_error_absent(const sd_bus_error *e) {
        return e && busdef_error_says_absent(e->name);
}

/* Notes a known headset that a probe could not settle (the adapter did not answer for
 * its Address: it may be there), so that no other adapter's "no such object" says it
 * is gone. One entry per headset, at most one per headset hpmond knows. */
static void bluez_known_unsure(struct bluez *b, const char address[static ADDRESS_STRING_MAX]) {
        char (*grown)[ADDRESS_STRING_MAX];

        for (size_t i = 0; i < b->n_unsure; i++)
                if (strcmp(b->unsure[i], address) == 0)
                        return;
        grown = realloc(b->unsure, (b->n_unsure + 1) * sizeof(*grown));
        if (!grown) {
                b->unsure_all = true;   /* then none is said gone: wrong only the safe way */
                return;
        }
        b->unsure = grown;
        memcpy(b->unsure[b->n_unsure++], address, ADDRESS_STRING_MAX);
}

/* A known headset was looked for after a partial object list and one adapter said it has
 * no such object: once no adapter is left to ask (no probe of its path remains) and none
 * left it unsettled (bluez_known_unsure()), it is not in BlueZ, and is reported
 * disconnected as a full sync would have. */
static void bluez_known_gone(struct bluez *b, const char address[static ADDRESS_STRING_MAX]) {
        if (b->unsure_all)
                return;
        for (size_t i = 0; i < b->n_unsure; i++)
                if (strcmp(b->unsure[i], address) == 0)
                        return;         /* an adapter did not say whether it has it */
        for (size_t i = 0; i < b->n_devices; i++)
                if (busdef_bluez_device_is(b->devices[i]->path, address))
                        return;         /* found, or still being asked for, on another adapter */
        registry_report_gone(b->c, address, bluez_now());
}

static void bluez_continue(struct bluez *b);

/* Drops a mirrored object, then settles a known headset a probe was looking for there and
 * had not read the address of (`known`, NULL or "" for none; it may live in the object's
 * probe, so it is copied first): not on that adapter when BlueZ answered for it
 * (bluez_known_gone()), unsure when it did not (bluez_known_unsure()). */
static void bluez_drop(struct bluez *b, struct bluez_device *d, const char *known, bool answered) {
        char copy[ADDRESS_STRING_MAX] = "";

        if (known)
                snprintf(copy, sizeof(copy), "%s", known);
        bluez_remove(b, d);
        if (!*copy)
                return;
        if (answered)
                bluez_known_gone(b, copy);
        else
                bluez_known_unsure(b, copy);
}

/* Drops a mirrored device that BlueZ said is gone (InterfacesRemoved of its Device1 or of
 * its adapter). If a probe was looking there for a headset hpmond knows and had not read
 * its address yet, BlueZ has answered for it: it is not on that adapter (bluez_known_gone()),
 * as a "no such object" would have said. */
static void bluez_remove_gone(struct bluez *b, struct bluez_device *d) {
        bluez_drop(b, d, d->probe && !(d->props.present & BLUEZ_PROP_ADDRESS) ? d->probe->known : NULL, true);
}

/* A probe's Properties.Get came back: one value into the mirror, then the device is
 * reported. An object that has no Address, or one that is not a Bluetooth address, is no
 * device hpmond can follow: dropped again, and a known headset looked for there is not there
 * (bluez_known_gone()) — as a full object list or a walk would have said, which drop such an
 * object too. One that did not answer for its Address (a timeout, a refusal) cannot be
 * followed either, and is dropped too, but says nothing of the known headset looked for
 * there. No Percentage means no Battery1 (any error: the battery is not there to read). */
static void bluez_probe_reply(sd_bus_message *m, struct bluez_probe *p) {
        struct bluez *b = p->b;
        struct bluez_device *d = p->d;
        sd_bus_slot *slot = sd_bus_get_current_slot(sd_bus_message_get_bus(m));
        struct bluez_props got;
        char known[ADDRESS_STRING_MAX];
        bool no_address = false, done = true;
        size_t ask;
        int r;

        for (ask = 0; ask < _BLUEZ_ASK_MAX && p->asks[ask] != slot; ask++)
                ;
        if (ask == _BLUEZ_ASK_MAX)
                return;
        p->asks[ask] = sd_bus_slot_unref(p->asks[ask]);
        memcpy(known, p->known, sizeof(known));
        for (size_t i = 0; i < _BLUEZ_ASK_MAX; i++)
                if (p->asks[i])
                        done = false;
        if (done)
                d->probe = bluez_probe_free(p);

        if (sd_bus_message_is_method_error(m, NULL)) {
                /* only "there is no such thing" says what is absent; a timeout says nothing, and
                 * a walk waiting for this probe cannot say it read everything */
                if (!bluez_error_absent(sd_bus_message_get_error(m))) {
                        log_warning("%s: BlueZ did not answer for its %s: %s", d->path, bluez_asks[ask].property,
                                    sd_bus_message_get_error(m)->name);
                        bluez_walk_fail(b);
                        if (ask == BLUEZ_ASK_ADDRESS && !(d->props.present & BLUEZ_PROP_ADDRESS))
                                bluez_drop(b, d, known, false);
                        return;
                }
                if (ask == BLUEZ_ASK_PERCENTAGE) {
                        d->has_battery = false;
                        d->props.present &= ~BLUEZ_PROP_PERCENTAGE;
                }
                no_address = ask == BLUEZ_ASK_ADDRESS;
        } else {
                bluez_decode_init(&got);
                r = bluez_decode_value(m, bluez_asks[ask].interface, bluez_asks[ask].property, &got);
                if (r < 0 || got.n_problems > 0) {
                        no_address = ask == BLUEZ_ASK_ADDRESS && !(d->props.present & BLUEZ_PROP_ADDRESS);
                        log_warning("%s: BlueZ's %s is not usable, %s: %s", d->path, bluez_asks[ask].property,
                                    no_address ? "no device to follow there" : "ignoring",
                                    got.n_problems > 0 ? got.problems[0] : "malformed reply");
                        if (!no_address)
                                return;
                } else {
                        (void) bluez_merge(&d->props, &got);
                        if (ask == BLUEZ_ASK_PERCENTAGE)
                                d->has_battery = true;
                }
        }
        if (no_address && !(d->props.present & BLUEZ_PROP_ADDRESS)) {
                bluez_drop(b, d, known, true);
                return;
        }
        bluez_report(b, d, bluez_now());
}

/* The reply to one Properties.Get of a probe (bluez_probe_reply()): what is queued next
 * goes out, and a walk may have waited for it. */
static int bluez_probe_reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez_probe *p = userdata;
        struct bluez *b = p->b;

        bluez_probe_reply(m, p);
        bluez_continue(b);
        return 0;
}

/* Sends queued probes, oldest first, while their calls fit under BLUEZ_CALLS_MAX beside
 * those in flight; each answer sends the next (bluez_continue()). A probe none of whose
 * calls could be sent is dropped, and so is its object if its address is not known. */
static void bluez_probe_send(struct bluez *b) {
        while (b->probes_first && bluez_calls(b) + _BLUEZ_ASK_MAX <= BLUEZ_CALLS_MAX) {
                struct bluez_probe *p = b->probes_first;
                struct bluez_device *d = p->d;
                bool sent = false;
                int r;

                b->probes_first = p->next;
                *(p->next ? &p->next->prev : &b->probes_last) = NULL;
                p->next = NULL;
                p->sent = true;
                b->n_probes++;
                for (size_t i = 0; i < _BLUEZ_ASK_MAX; i++) {
                        r = sd_bus_call_method_async(b->c->bus, &p->asks[i], b->owner, d->path,
                                                     "org.freedesktop.DBus.Properties", "Get", bluez_probe_reply_cb, p,
                                                     "ss", bluez_asks[i].interface, bluez_asks[i].property);
                        if (r < 0)
                                log_warning_errno(r, "%s: cannot ask BlueZ for its %s: %m", d->path,
                                                  bluez_asks[i].property);
                        else
                                sent = true;
                }
                if (!sent || (!p->asks[BLUEZ_ASK_ADDRESS] && !(d->props.present & BLUEZ_PROP_ADDRESS))) {
                        /* nothing on its way, or nothing that can give the object an address:
                         * a later probe must not wait for it, a walk has not read everything,
                         * and a known headset looked for here is not settled */
                        char known[ADDRESS_STRING_MAX];

                        memcpy(known, p->known, sizeof(known));
                        d->probe = bluez_probe_free(p);
                        bluez_walk_fail(b);
                        if (!(d->props.present & BLUEZ_PROP_ADDRESS))
                                bluez_drop(b, d, known, false);
                }
        }
}

/* A probe that could not even be queued (-ENOMEM, or -E2BIG: the mirror is full, said once):
 * a walk cannot say it read everything, nor the fallback that a known headset looked for at
 * `path` is gone. */
static void bluez_probe_not_asked(struct bluez *b, const char *path, const char *known, int r) {
        if (r != -E2BIG)
                log_warning_errno(r, "%s: cannot ask BlueZ for its values, ignoring: %m", path);
        bluez_walk_fail(b);
        if (known)
                bluez_known_unsure(b, known);
}

/* Asks for a device's values one property at a time (see the top of this file); the
 * object joins the mirror now, so its signals are followed meanwhile. `known` is the
 * address of a headset looked for at this path after a partial object list, or NULL.
 *
 * Every probe is queued, and sent as calls in flight allow (bluez_probe_send()): those
 * of a failed walk's fallback are many, and the few a signal asks for could be too, with
 * many unreadable devices in range. The queue holds at most one probe per mirrored object
 * (a probe queued or in flight is not asked again), so it is no longer than the mirror:
 * the objects BlueZ announced, and the fallback's known headsets × adapters noted, at most
 * BLUEZ_DEVICES_MAX. A probe queued while walking counts towards the walk's bound. A
 * probe waits behind those queued before it, which a signal's can afford: it reads the
 * values as they are when it is answered. */
static void bluez_probe(struct bluez *b, const char *path, const char *known) {
        struct bluez_device *d;
        struct bluez_probe *p;
        struct bluez_walk *w = b->walk;
        int r;

        r = bluez_get(b, path, &d);
        if (r < 0) {
                bluez_probe_not_asked(b, path, known, r);
                return;
        }
        if (d->probe)
                return;         /* its answers are on their way, or it is queued */
        p = calloc(1, sizeof(*p));
        if (!p) {
                bluez_probe_not_asked(b, path, known, -ENOMEM);        /* path may be d's: before it goes */
                if (!(d->props.present & BLUEZ_PROP_ADDRESS))
                        bluez_remove(b, d);
                return;
        }
        p->b = b;
        p->d = d;
        if (known)
                memcpy(p->known, known, sizeof(p->known));
        d->probe = p;
        p->prev = b->probes_last;
        *(b->probes_last ? &b->probes_last->next : &b->probes_first) = p;
        b->probes_last = p;
        if (w && ++w->n_probed > BLUEZ_WALK_NODES_MAX && !w->overrun) {
                /* a walk waits for every probe: one that BlueZ's signals keep asking for never ends */
                log_warning("BlueZ had more than %u objects read one value at a time while its object tree was walked; "
                            "not waiting for any more.", BLUEZ_WALK_NODES_MAX);
                w->overrun = w->failed = true;
        }
        bluez_probe_send(b);
}

/* After an object list read only in part, when walking BlueZ's object tree could not
 * complete it: every headset hpmond knows that was not read is probed on every adapter
 * seen (BlueZ's paths are ADAPTER/dev_AA_BB_CC_DD_EE_FF). A headset on an adapter never
 * seen is not found, and is said disconnected until it next speaks up — every one, when no
 * adapter was seen at all: as a full list without adapters, or with none that has it, would
 * have said (a headset "connected" in a log of last week is not left so). The probes are
 * queued, at most known headsets × BLUEZ_ADAPTERS_MAX of them (each a mirrored object
 * and its probe, a few hundred bytes), and go out BLUEZ_CALLS_MAX calls at a time. */
static void bluez_probe_known(struct bluez *b, const char *unread) {
        struct context *c = b->c;
        char unread_address[ADDRESS_STRING_MAX], *path;
        size_t len;
        bool found;
        int r;

        /* the unreadable object's adapter, if the list had not reached it yet */
        if (unread && busdef_bluez_device_parse(unread, &len, unread_address) >= 0)
                (void) bluez_add_adapter(b, unread, len);
        for (size_t i = 0; i < c->n_devices; i++) {
                found = false;
                for (size_t j = 0; j < b->n_devices && !found; j++)
                        found = (b->devices[j]->props.present & BLUEZ_PROP_ADDRESS) &&
                                strcmp(b->devices[j]->props.address, c->devices[i]->address) == 0;
                if (found)
                        continue;
                if (b->n_adapters == 0)
                        bluez_known_gone(b, c->devices[i]->address);    /* no adapter to ask */
                for (size_t k = 0; k < b->n_adapters; k++) {
                        /* allocated: an adapter's path is as long as bluetoothd makes it */
                        r = busdef_bluez_device_path(b->adapters[k], c->devices[i]->address, &path);
                        if (r < 0) {
                                bluez_probe_not_asked(b, b->adapters[k], c->devices[i]->address, r);
                                continue;
                        }
                        bluez_probe(b, path, c->devices[i]->address);
                        free(path);
                }
        }
}

/* Frees a walk, cancelling its calls in flight; accepts NULL and returns NULL. */
static struct bluez_walk *bluez_walk_free(struct bluez_walk *w) {
        struct bluez_step *lists[2], *s, *next;

        if (!w)
                return NULL;
        lists[0] = w->queued;
        lists[1] = w->running;
        for (size_t i = 0; i < 2; i++)
                for (s = lists[i]; s; s = next) {
                        next = s->next;
                        sd_bus_slot_unref(s->call);
                        free(s);
                }
        free(w->unread);
        free(w);
        return NULL;
}

/* Puts a step at the end of the walk's queue. */
static void bluez_walk_append(struct bluez_walk *w, struct bluez_step *s) {
        s->next = NULL;
        *w->queued_tail = s;
        w->queued_tail = &s->next;
}

/* Queues a call of the walk on `path`; -ENOMEM if it cannot. */
static int bluez_walk_queue(struct bluez_walk *w, enum bluez_step_kind kind, unsigned depth, const char *path) {
        size_t len = strlen(path);
        struct bluez_step *s;

        s = calloc(1, sizeof(*s) + len + 1);
        if (!s)
                return -ENOMEM;
        s->w = w;
        s->kind = kind;
        s->depth = depth;
        memcpy(s->path, path, len + 1);
        bluez_walk_append(w, s);
        return 0;
}

/* Drops a device the walk put in the mirror and could not read, unless something else
 * read its address meanwhile or a probe is asking for it. */
static void bluez_walk_drop(struct bluez *b, struct bluez_device *d) {
        if (!(d->props.present & BLUEZ_PROP_ADDRESS) && !d->probe)
                bluez_remove(b, d);
}

/* Stops a walk where it is: the calls not sent yet are dropped (a device whose Device1
 * was read is reported as it is). */
static void bluez_walk_stop(struct bluez_walk *w) {
        struct bluez *b = w->b;
        struct bluez_step *s, *next;
        struct bluez_device *d;

        for (s = w->queued; s; s = next) {
                next = s->next;
                d = s->kind != BLUEZ_STEP_INTROSPECT ? bluez_find(b, s->path) : NULL;
                if (d && s->kind == BLUEZ_STEP_BATTERY)
                        bluez_report(b, d, bluez_now());
                else if (d)
                        bluez_walk_drop(b, d);
                free(s);
        }
        w->queued = NULL;
        w->queued_tail = &w->queued;
}

static int bluez_walk_reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* Sends queued calls while fewer than BLUEZ_CALLS_MAX are in flight, counting the probes'
 * (a device the walk cannot read is probed: those calls are its calls too). A probe
 * queued goes first: the walk sends nothing until it is out, or it could starve. */
static void bluez_walk_send(struct bluez_walk *w) {
        struct bluez *b = w->b;

        while (w->queued && !b->probes_first && bluez_calls(b) < BLUEZ_CALLS_MAX) {
                struct bluez_step *s = w->queued;
                struct bluez_device *d = NULL;
                int r;

                w->queued = s->next;
                if (!w->queued)
                        w->queued_tail = &w->queued;
                s->next = NULL;
                if (s->kind != BLUEZ_STEP_INTROSPECT && !(d = bluez_find(b, s->path))) {
                        free(s);        /* removed meanwhile (InterfacesRemoved) */
                        continue;
                }
                /* the unique name, as for GetManagedObjects: never a later bluetoothd */
                if (s->kind == BLUEZ_STEP_INTROSPECT)
                        r = sd_bus_call_method_async(b->c->bus, &s->call, b->owner, s->path,
                                                     "org.freedesktop.DBus.Introspectable", "Introspect",
                                                     bluez_walk_reply_cb, s, NULL);
                else
                        r = sd_bus_call_method_async(b->c->bus, &s->call, b->owner, s->path,
                                                     "org.freedesktop.DBus.Properties", "GetAll", bluez_walk_reply_cb, s,
                                                     "s", s->kind == BLUEZ_STEP_DEVICE ? BLUEZ_DEVICE_IFACE :
                                                                                         BLUEZ_BATTERY_IFACE);
                if (r < 0) {
                        log_warning_errno(r, "%s: cannot ask BlueZ, ignoring: %m", s->path);
                        w->failed = true;
                        if (d)
                                bluez_walk_drop(b, d);
                        free(s);
                        continue;
                }
                s->next = w->running;
                w->running = s;
                w->n_running++;
        }
}

/* A child of an object the walk introspected: a child of /org/bluez (an adapter) is
 * introspected in turn; an adapter's child (a device) that is not in the mirror joins it,
 * so that its signals are followed meanwhile, and is read. */
static int bluez_walk_child_cb(const char *name, void *userdata) {
        struct bluez_step *s = userdata;
        struct bluez_walk *w = s->w;
        struct bluez *b = w->b;
        char path[sizeof(BLUEZ_PATH_NAMESPACE) + BLUEZ_WALK_DEPTH * (INTROSPECT_NAME_MAX + 1)];
        struct bluez_device *d;
        int r;

        if (w->n_nodes >= BLUEZ_WALK_NODES_MAX)
                return -E2BIG;
        w->n_nodes++;
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", s->path, name) >= sizeof(path))
                return -ENAMETOOLONG;   /* not reached: depth and name are both bounded */
        if (s->depth + 1 < BLUEZ_WALK_DEPTH)
                return bluez_walk_queue(w, BLUEZ_STEP_INTROSPECT, s->depth + 1, path);
        if (bluez_find(b, path))
                return 0;               /* read from the list, or being probed */
        r = bluez_get(b, path, &d);
        if (r < 0)
                return r;       /* -E2BIG: the mirror is full, as if the walk were */
        r = bluez_walk_queue(w, BLUEZ_STEP_DEVICE, s->depth + 1, path);
        if (r < 0)
                bluez_remove(b, d);
        return r;
}

/* Introspect's answer: every child of the object is walked. */
static void bluez_walk_introspected(struct bluez_walk *w, struct bluez_step *s, sd_bus_message *m) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        unsigned n_invalid = 0;
        const char *xml;
        int r;

        if (e) {
                /* an adapter removed meanwhile has no devices left to find */
                if (s->depth > 0 && bluez_error_absent(e))
                        return;
                log_warning("BlueZ did not list the objects under %s: %s", s->path, e->name);
                w->failed = true;
                return;
        }
        r = sd_bus_message_read(m, "s", &xml);
        if (r >= 0)
                r = introspect_children(xml, strlen(xml), bluez_walk_child_cb, s, &n_invalid);
        if (r == -E2BIG) {
                log_warning("BlueZ has more than %u objects under %s; not walking any further.",
                            BLUEZ_WALK_NODES_MAX, BLUEZ_PATH_NAMESPACE);
                bluez_walk_stop(w);
        } else if (r < 0)
                log_warning_errno(r, "BlueZ's list of the objects under %s is not usable: %m", s->path);
        if (r < 0)
                w->failed = true;
        if (n_invalid > 0)
                log_warning("BlueZ lists %u object(s) under %s with no valid path, ignored.", n_invalid, s->path);
        /* an object that answered, with devices under it: an adapter, for the fallback */
        if (r >= 0 && s->depth + 1 == BLUEZ_WALK_DEPTH)
                (void) bluez_add_adapter(w->b, s->path, strlen(s->path));
}

/* GetAll(Device1)'s answer: whether the device is to be read on (its Battery1). A Device1
 * that cannot be read to its end (the name that stopped the list, maybe) is probed. */
static bool bluez_walk_device(struct bluez_walk *w, struct bluez_step *s, sd_bus_message *m) {
        struct bluez *b = w->b;
        struct bluez_device *d = bluez_find(b, s->path);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r;

        if (!d)
                return false;           /* removed meanwhile */
        if (e) {
                if (!bluez_error_absent(e)) {
                        log_warning("%s: BlueZ did not give its properties: %s", s->path, e->name);
                        w->failed = true;
                }
                bluez_walk_drop(b, d);  /* or it is no device */
                return false;
        }
        r = bluez_apply_props(d, m, BLUEZ_DEVICE_IFACE);
        if (r < 0) {
                log_warning_errno(r, "%s: BlueZ's properties could not be read, asking for its values one at a time: %m",
                                  s->path);
                bluez_probe(b, s->path, NULL);
                return false;
        }
        if (!(d->props.present & BLUEZ_PROP_ADDRESS)) {
                bluez_walk_drop(b, d);  /* no device hpmond can follow */
                return false;
        }
        return true;
}

/* GetAll(Battery1)'s answer: the device is read, and reported whole. */
static void bluez_walk_battery(struct bluez_walk *w, struct bluez_step *s, sd_bus_message *m) {
        struct bluez *b = w->b;
        struct bluez_device *d = bluez_find(b, s->path);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r;

        if (!d)
                return;
        if (e && bluez_error_absent(e)) {
                d->has_battery = false;
                d->props.present &= ~BLUEZ_PROP_PERCENTAGE;
        } else if (e) {
                log_warning("%s: BlueZ did not give its battery: %s", s->path, e->name);
                w->failed = true;
        } else {
                r = bluez_apply_props(d, m, BLUEZ_BATTERY_IFACE);
                if (r < 0) {
                        log_warning_errno(r, "%s: BlueZ's battery could not be read, asking for its values one at a "
                                             "time: %m", s->path);
                        bluez_probe(b, s->path, NULL);
                        return;
                }
                d->has_battery = true;
        }
        w->n_read++;
        bluez_report(b, d, bluez_now());
}

/* The answer to one call of a walk; the next calls go out, and the walk may be over. */
static int bluez_walk_reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez_step *s = userdata;
        struct bluez_walk *w = s->w;
        struct bluez *b = w->b;

        for (struct bluez_step **i = &w->running; *i; i = &(*i)->next)
                if (*i == s) {
                        *i = s->next;
                        break;
                }
        w->n_running--;
        s->call = sd_bus_slot_unref(s->call);
        switch (s->kind) {
        case BLUEZ_STEP_INTROSPECT:
                bluez_walk_introspected(w, s, m);
                free(s);
                break;
        case BLUEZ_STEP_DEVICE:
                if (bluez_walk_device(w, s, m)) {
                        s->kind = BLUEZ_STEP_BATTERY;
                        bluez_walk_append(w, s);
                } else
                        free(s);
                break;
        case BLUEZ_STEP_BATTERY:
                bluez_walk_battery(w, s, m);
                free(s);
                break;
        }
        bluez_continue(b);
        return 0;
}

/* Sends what a walk has queued, as far as calls in flight allow, and ends it once nothing
 * it waits for is left: its own calls, and every probe, queued or in flight (of the object
 * the list stopped at, of a device the walk could not read). A walk that read everything
 * has made the object list whole: the sync ends as after a full list, so a headset BlueZ
 * no longer has is disconnected. One that could not falls back on looking for each
 * headset hpmond knows on every adapter seen. An overrun walk queues nothing more (what
 * its last answers queued is dropped) and waits for no probe, only for its own calls in
 * flight: it ends, whatever BlueZ keeps announcing. */
static void bluez_walk_continue(struct bluez *b) {
        struct bluez_walk *w = b->walk;

        if (!w)
                return;
        if (w->overrun)
                bluez_walk_stop(w);
        bluez_walk_send(w);
        if (w->queued || w->n_running > 0 || (!w->overrun && (b->n_probes > 0 || b->probes_first)))
                return;
        b->walk = NULL;
        if (!w->failed) {
                log_info("BlueZ's object list completed by walking its object tree: %u more device(s) read.", w->n_read);
                b->partial = false;
                bluez_clear_partial(b);
                registry_sync_end(b->c, bluez_now());
        } else {
                log_warning("BlueZ's object tree could not be walked to its end; asking for each headset not read "
                            "on every adapter seen.");
                bluez_probe_known(b, w->unread);
        }
        bluez_walk_free(w);
}

/* Sends what is queued, probes first, then the walk's calls, as far as BLUEZ_CALLS_MAX
 * allows, and lets a walk end. Called after anything that may end a call or a probe:
 * each answer sends what is queued next, so nothing needs a timer. */
static void bluez_continue(struct bluez *b) {
        bluez_probe_send(b);
        bluez_walk_continue(b);
}

/* After an object list read only in part: walks BlueZ's object tree for the objects not
 * read, from /org/bluez; if that cannot even start, falls back at once. */
static void bluez_walk_start(struct bluez *b, const char *unread) {
        struct bluez_walk *w;

        b->walk = bluez_walk_free(b->walk);
        w = calloc(1, sizeof(*w));
        if (w) {
                w->b = b;
                w->queued_tail = &w->queued;
                w->unread = unread ? strdup(unread) : NULL;
                w->n_nodes = 1;
        }
        if (!w || (unread && !w->unread) ||
            bluez_walk_queue(w, BLUEZ_STEP_INTROSPECT, 0, BLUEZ_PATH_NAMESPACE) < 0) {
                log_warning_errno(-ENOMEM, "Cannot walk BlueZ's object tree, asking for each headset not read "
                                           "on every adapter seen: %m");
                bluez_walk_free(w);
                bluez_probe_known(b, unread);
                return;
        }
        b->walk = w;
        bluez_continue(b);
}

/* Whether a signal comes from the bluetoothd we follow. */
static bool bluez_from_owner(struct bluez *b, sd_bus_message *m) {
        const char *sender = sd_bus_message_get_sender(m);

        return b->owner && sender && strcmp(sender, b->owner) == 0;
}

/* Reply to GetManagedObjects: rebuilds the mirror and reports every device, then marks
 * whatever BlueZ no longer has as disconnected. */
static int bluez_managed_objects_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        struct context *c = b->c;
        int64_t now = bluez_now();
        int r;

        b->sync_call = sd_bus_slot_unref(b->sync_call);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                log_warning("Cannot list BlueZ's devices: %s", e->message ? e->message : e->name);
                goto done;
        }

        b->walk = bluez_walk_free(b->walk);    /* this list supersedes what it was completing */
        bluez_clear(b);
        bluez_clear_partial(b);
        b->partial = false;                     /* unless an object cannot be mirrored */
        b->reading = NULL;
        registry_sync_begin(c);
        r = bus_dict_read_objects(m, bluez_read_interface_cb, b);
        for (size_t i = 0; i < b->n_devices; i++)
                bluez_report(b, b->devices[i], now);
        if (r < 0) {
                b->partial = true;
                /* sd-bus refuses some strings libdbus lets through (noncharacters): then the
                 * rest of the list cannot be read, and a device missing from it is not gone */
                log_warning_errno(r, "BlueZ's object list could not be read past %s; asking for that object one "
                                     "value at a time, and walking BlueZ's object tree for the rest: %m",
                                  b->reading ? b->reading : "its start");
                /* the walk first: it waits for this probe, and fails if it cannot be sent */
                bluez_walk_start(b, b->reading);
                if (b->reading)
                        bluez_probe(b, b->reading, NULL);
        } else if (!b->partial) {
                bluez_clear_partial(b);
                registry_sync_end(c, now);
        }
        /* else read whole, but not all of it mirrored (bluez_get() said so): a headset not
         * in the mirror is not taken for gone, and speaks up to be probed */
        b->reading = NULL;
        log_info("BlueZ is running: %zu device(s) followed.", c->n_devices);
        context_trim_soon(c);   /* the reply, freed after this callback, was the biggest message */
done:
        c->bluez_synced = true;
        context_check_ready(c);
        return 0;
}

/* Asks the bluetoothd we follow for all its objects; the reply is a full sync. */
static void bluez_request_objects(struct bluez *b) {
        struct context *c = b->c;
        int r;

        /* ask the unique name, so a call never auto-starts or reaches a later owner */
        b->sync_call = sd_bus_slot_unref(b->sync_call);
        r = sd_bus_call_method_async(c->bus, &b->sync_call, b->owner, "/", "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects", bluez_managed_objects_cb, b, NULL);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask BlueZ for its devices: %m");
                c->bluez_synced = true;
                context_check_ready(c);
        }
}

/* bluetoothd appeared (at start or after a restart): mirror everything it has. */
static void bluez_appeared(struct bluez *b, const char *owner) {
        struct context *c = b->c;

        free(b->owner);
        b->owner = strdup(owner);
        c->bluez_running = true;
        service_bluez_running_changed(c);
        if (b->owner)
                bluez_request_objects(b);
}

/* Reads BlueZ's state again (after the host resumed): what is connected now is logged so. */
void bluez_resync(struct bluez *b) {
        if (b && b->owner)
                bluez_request_objects(b);
}

/* bluetoothd is gone: every device it had is disconnected now. */
static void bluez_vanished(struct bluez *b) {
        struct context *c = b->c;
        int64_t now = bluez_now();

        b->owner = (free(b->owner), NULL);
        b->sync_call = sd_bus_slot_unref(b->sync_call);
        b->walk = bluez_walk_free(b->walk);
        bluez_clear(b);
        bluez_clear_partial(b);
        b->partial = false;
        registry_sync_begin(c);
        registry_sync_end(c, now);
        if (c->bluez_running) {
                c->bluez_running = false;
                service_bluez_running_changed(c);
                log_notice("bluetoothd left the bus; its devices are marked disconnected.");
        }
        c->bluez_synced = true;
        context_check_ready(c);
}

/* Reply to GetNameOwner(org.bluez) at start. */
static int bluez_name_owner_cb(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        const char *owner;

        b->sync_call = sd_bus_slot_unref(b->sync_call);
        if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &owner) < 0) {
                log_info("bluetoothd is not running; waiting for it.");
                bluez_vanished(b);
                return 0;
        }
        bluez_appeared(b, owner);
        return 0;
}

/* NameOwnerChanged for org.bluez: bluetoothd stopped, started or was replaced. */
static int match_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        const char *name, *old_owner, *new_owner, *sender = sd_bus_message_get_sender(m);

        /* sd-bus leaves the sender of the match to the bus, which only filters broadcasts:
         * a NameOwnerChanged sent to us directly by a client is a forgery */
        if (!sender || strcmp(sender, "org.freedesktop.DBus") != 0)
                return 0;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, BLUEZ_BUS_NAME) != 0)
                return 0;
        if (*old_owner || b->owner)
                bluez_vanished(b);
        if (*new_owner)
                bluez_appeared(b, new_owner);
        return 0;
}

/* ObjectManager.InterfacesAdded: a device, or a device's Battery1, appeared. */
static int match_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        struct bluez_device *d;
        const char *path;
        int r;

        if (!bluez_from_owner(b, m))
                return 0;
        r = sd_bus_message_read(m, "o", &path);
        if (r < 0) {
                log_warning_errno(r, "Malformed InterfacesAdded from BlueZ, ignoring: %m");
                return 0;
        }
        r = bus_dict_read_interfaces(m, path, bluez_read_interface_cb, b);
        if (r < 0) {
                log_warning_errno(r, "InterfacesAdded from BlueZ for %s could not be read, asking for its values "
                                     "one at a time: %m", path);
                bluez_probe(b, path, NULL);
                return 0;
        }
        /* reported if known already or added now, even if no Device1 or Battery1 came with it */
        d = bluez_find(b, path);
        if (d && b->partial && !(d->props.present & BLUEZ_PROP_ADDRESS)) {
                /* after a partial object list, an object it left unread gets Battery1 (its
                 * Device1 is not in the mirror): it is in the mirror now, so the walk would take
                 * it as read and never read it, and a completed walk would say it gone */
                bluez_probe(b, path, NULL);
                return 0;
        }
        if (d)
                bluez_report(b, d, bluez_now());
        return 0;
}

/* An adapter went away: its devices are gone with it, even if BlueZ did not say so for each
 * (it normally does; a bluetoothd that misses it must not leave a headset "connected"), and
 * the fallback no longer asks it for the headsets hpmond knows. */
static void bluez_adapter_removed(struct bluez *b, sd_bus_message *m, const char *path) {
        size_t len = strlen(path);
        const char *iface;
        bool adapter = false;
        int64_t now;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        while (r > 0 && (r = sd_bus_message_read(m, "s", &iface)) > 0)
                if (strcmp(iface, BLUEZ_ADAPTER_IFACE) == 0)
                        adapter = true;
        if (!adapter)
                return;
        bluez_forget_adapter(b, path);
        now = bluez_now();
        for (size_t i = b->n_devices; i > 0; i--) {
                struct bluez_device *d = b->devices[i - 1];

                if (!busdef_path_is_below(d->path, path, len))
                        continue;
                d->props.connected = false;
                d->props.present |= BLUEZ_PROP_CONNECTED;
                d->has_battery = false;
                bluez_report(b, d, now);
                bluez_remove_gone(b, d);
        }
}

/* ObjectManager.InterfacesRemoved: a device lost its battery (it disconnected) or went away. */
static int match_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        struct bluez_device *d;
        const char *path, *iface;
        bool device_gone = false;
        int r;

        if (!bluez_from_owner(b, m))
                return 0;
        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return 0;
        d = bluez_find(b, path);
        if (!d) {
                bluez_adapter_removed(b, m, path);
                bluez_continue(b);      /* a probe may have gone with a device */
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', "s");
        while (r > 0 && (r = sd_bus_message_read(m, "s", &iface)) > 0) {
                if (strcmp(iface, BLUEZ_BATTERY_IFACE) == 0) {
                        d->has_battery = false;
                        d->props.present &= ~BLUEZ_PROP_PERCENTAGE;
                } else if (strcmp(iface, BLUEZ_DEVICE_IFACE) == 0)
                        device_gone = true;
        }
        if (device_gone) {
                /* removed from BlueZ (unpaired): it is certainly not connected any more */
                d->props.connected = false;
                d->props.present |= BLUEZ_PROP_CONNECTED;
        }
        bluez_report(b, d, bluez_now());
        if (device_gone) {
                bluez_remove_gone(b, d);
                bluez_continue(b);
        }
        return 0;
}

/* Properties.PropertiesChanged on a BlueZ object: Connected, Name/Alias or Percentage moved. */
static int match_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct bluez *b = userdata;
        struct bluez_device *d;
        const char *iface;
        int r;

        if (!bluez_from_owner(b, m))
                return 0;
        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || (strcmp(iface, BLUEZ_DEVICE_IFACE) != 0 && strcmp(iface, BLUEZ_BATTERY_IFACE) != 0))
                return 0;
        d = bluez_find(b, sd_bus_message_get_path(m));
        if (!d) {
                /* after a partial object list, a device it left unread speaks up */
                if (b->partial)
                        bluez_probe(b, sd_bus_message_get_path(m), NULL);
                return 0;
        }
        r = bluez_apply_props(d, m, iface);
        if (r < 0) {
                log_warning_errno(r, "PropertiesChanged from BlueZ on %s could not be read, asking for its values "
                                     "one at a time: %m", d->path);
                bluez_probe(b, d->path, NULL);
                return 0;
        }
        if (strcmp(iface, BLUEZ_BATTERY_IFACE) == 0)
                d->has_battery = true;
        bluez_report(b, d, bluez_now());
        return 0;
}

/* Subscribes to BlueZ's signals, then asks who owns org.bluez. The matches are sent first,
 * and the bus handles one connection's messages in order, so nothing falls in between. */
int bluez_new(struct context *c, struct bluez **ret) {
        static const struct {
                const char *rule;
                sd_bus_message_handler_t handler;
        } matches[] = {
                { "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                  "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" BLUEZ_BUS_NAME "'",
                  match_name_owner_changed },
                { BLUEZ_MATCH_SENDER "path='/',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
                  match_interfaces_added },
                { BLUEZ_MATCH_SENDER "path='/',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
                  match_interfaces_removed },
                { BLUEZ_MATCH_SENDER "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                  "path_namespace='" BLUEZ_PATH_NAMESPACE "'",
                  match_properties_changed },
        };
        struct bluez *b;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->c = c;

        for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
                r = sd_bus_add_match_async(c->bus, &b->matches[i], matches[i].rule, matches[i].handler, NULL, b);
                if (r < 0) {
                        bluez_free(b);
                        return log_error_errno(r, "Cannot subscribe to BlueZ's signals: %m");
                }
        }
        r = sd_bus_call_method_async(c->bus, &b->sync_call, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetNameOwner", bluez_name_owner_cb, b, "s", BLUEZ_BUS_NAME);
        if (r < 0) {
                bluez_free(b);
                return log_error_errno(r, "Cannot look for bluetoothd: %m");
        }
        *ret = b;
        return 0;
}

/* Stops following BlueZ; accepts NULL and returns NULL. */
struct bluez *bluez_free(struct bluez *b) {
        if (!b)
                return NULL;
        sd_bus_slot_unref(b->sync_call);
        for (size_t i = 0; i < sizeof(b->matches) / sizeof(b->matches[0]); i++)
                sd_bus_slot_unref(b->matches[i]);
        bluez_walk_free(b->walk);
        bluez_clear(b);
        bluez_clear_partial(b);
        free(b->owner);
        free(b);
        return NULL;
}
