/* hpctl — alerts: reading them off the bus, and the words, icons and JSON a person gets.
 *
 * The daemon sends names and numbers; the sentences are made here, per kind, from
 * the evidence the detectors in lib/detect-*.c attach (names carry their units). A
 * kind or an evidence name this hpctl does not know still prints, generically. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "busalert.h"
#include "render.h"

/* Copies a string read from a message; -ENOMEM. */
static int busalert_strdup(const char *s, char **ret) {
        *ret = strdup(s ? s : "");
        return *ret ? 0 : -ENOMEM;
}

/* 0 info, 1 warning, 2 critical; an unknown severity counts as a warning. */
int busalert_severity_level(const char *severity) {
        if (severity && strcmp(severity, "info") == 0)
                return 0;
        if (severity && strcmp(severity, "critical") == 0)
                return 2;
        return 1;
}

/* Reads one (ssssddba{sd}a(ss)) into *ret; on failure *ret holds nothing to free. */
int busalert_read(sd_bus_message *m, struct busalert *ret) {
        struct busalert a = { .k = _FINDING_KIND_INVALID };
        const char *id, *address, *kind, *severity;
        int acknowledged, r;

        r = sd_bus_message_enter_container(m, 'r', BUSALERT_CONTENTS);
        if (r <= 0)
                return r;
        r = sd_bus_message_read(m, "ssssddb", &id, &address, &kind, &severity, &a.raised, &a.cleared, &acknowledged);
        if (r < 0)
                return r;
        a.acknowledged = acknowledged;
        snprintf(a.address, sizeof(a.address), "%s", address);
        if (busalert_strdup(id, &a.id) < 0 || busalert_strdup(kind, &a.kind) < 0 || busalert_strdup(severity, &a.severity) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        a.k = finding_kind_from_string(a.kind);
        a.level = busalert_severity_level(a.severity);

        r = sd_bus_message_enter_container(m, 'a', "{sd}");
        while (r >= 0) {
                struct busalert_evidence *grown;
                const char *name;
                double value;

                r = sd_bus_message_read(m, "{sd}", &name, &value);
                if (r <= 0)
                        break;
                grown = realloc(a.evidence, (a.n_evidence + 1) * sizeof(*grown));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                a.evidence = grown;
                a.evidence[a.n_evidence].value = value;
                r = busalert_strdup(name, &a.evidence[a.n_evidence].name);
                if (r < 0)
                        break;
                a.n_evidence++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        while (r >= 0) {
                struct busalert_step *grown;
                const char *ref, *title;

                r = sd_bus_message_read(m, "(ss)", &ref, &title);
                if (r <= 0)
                        break;
                grown = realloc(a.advice, (a.n_advice + 1) * sizeof(*grown));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                a.advice = grown;
                a.advice[a.n_advice] = (struct busalert_step) {};
                if (busalert_strdup(ref, &a.advice[a.n_advice].ref) < 0 ||
                    busalert_strdup(title, &a.advice[a.n_advice].title) < 0) {
                        a.n_advice++;   /* so that busalert_done() frees what was copied */
                        r = -ENOMEM;
                        break;
                }
                a.n_advice++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto fail;
        *ret = a;
        return 1;
fail:
        busalert_done(&a);
        return r;
}

/* Reads an a(ssssddba{sd}a(ss)) into a new array. */
int busalert_read_array(sd_bus_message *m, struct busalert **ret, size_t *ret_n) {
        struct busalert *list = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', BUSALERT_SIGNATURE);
        while (r >= 0) {
                struct busalert a, *grown;

                r = busalert_read(m, &a);
                if (r <= 0)
                        break;
                grown = realloc(list, (n + 1) * sizeof(*grown));
                if (!grown) {
                        busalert_done(&a);
                        r = -ENOMEM;
                        break;
                }
                list = grown;
                list[n++] = a;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                busalert_array_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* Frees what one alert holds (not the alert itself); safe twice. */
void busalert_done(struct busalert *a) {
        if (!a)
                return;
        free(a->id);
        free(a->kind);
        free(a->severity);
        for (size_t i = 0; i < a->n_evidence; i++)
                free(a->evidence[i].name);
        free(a->evidence);
        for (size_t i = 0; i < a->n_advice; i++) {
                free(a->advice[i].ref);
                free(a->advice[i].title);
        }
        free(a->advice);
        *a = (struct busalert) { .k = _FINDING_KIND_INVALID };
}

/* Frees a list of alerts; returns NULL. */
struct busalert *busalert_array_free(struct busalert *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                busalert_done(&a[i]);
        free(a);
        return NULL;
}

/* "active", "acknowledged" or "cleared". */
const char *busalert_state(const struct busalert *a) {
        if (a->cleared > 0)
                return "cleared";
        return a->acknowledged ? "acknowledged" : "active";
}

/* What the owner sees, in plain words (advice.c's meaning): "battery has worn out". */
const char *busalert_meaning(const struct busalert *a) {
        const struct advice *adv = advice_for(a->k);

        return adv ? adv->meaning : a->kind;
}

/* A notification's title, before " — NAME". */
const char *busalert_title(const struct busalert *a) {
        switch (a->k) {
        case FINDING_CHARGE_STALL:
                return "Charging stalled";
        case FINDING_SLOW_CHARGE:
                return "Charging slowly";
        case FINDING_INTERMITTENT_CHARGE:
                return "Charging keeps stopping";
        case FINDING_FAST_DRAIN:
                return "Battery draining fast";
        case FINDING_BATTERY_DEGRADED:
                return "Battery worn out";
        case FINDING_SUDDEN_DROP:
                return "Battery level dropped suddenly";
        case FINDING_NOT_HOLDING_CHARGE:
                return "Battery not holding its charge";
        case FINDING_CONNECTION_UNSTABLE:
                return "Connection keeps dropping";
        case FINDING_LOW_BATTERY:
                return a->level >= 2 ? "Battery critically low" : "Battery low";
        case FINDING_DEEP_DISCHARGE_RISK:
                return "Battery left empty";
        default:
                return "Headset needs attention";
        }
}

/* An icon name from the freedesktop icon naming spec (and what common themes have). */
const char *busalert_icon(const struct busalert *a) {
        switch (a->k) {
        case FINDING_CHARGE_STALL:
        case FINDING_SLOW_CHARGE:
        case FINDING_INTERMITTENT_CHARGE:
                return "ac-adapter";
        case FINDING_FAST_DRAIN:
                return "battery-low";
        case FINDING_CONNECTION_UNSTABLE:
                return "bluetooth-active";
        case FINDING_LOW_BATTERY:
                return a->level >= 2 ? "battery-caution" : "battery-low";
        case FINDING_BATTERY_DEGRADED:
        case FINDING_SUDDEN_DROP:
        case FINDING_NOT_HOLDING_CHARGE:
        case FINDING_DEEP_DISCHARGE_RISK:
                return "battery-caution";
        default:
                return "dialog-warning";
        }
}

/* The evidence of that name, or NULL. */
const struct busalert_evidence *busalert_get_evidence(const struct busalert *a, const char *name) {
        for (size_t i = 0; i < a->n_evidence; i++)
                if (strcmp(a->evidence[i].name, name) == 0)
                        return &a->evidence[i];
        return NULL;
}

/* Whether all named pieces of evidence are there (a NULL-terminated list). */
static bool busalert_has(const struct busalert *a, const char *const *names) {
        for (; *names; names++) {
                const struct busalert_evidence *e = busalert_get_evidence(a, *names);
                if (!e || !isfinite(e->value))
                        return false;
        }
        return true;
}

#define HAS(a, ...) busalert_has(a, (const char *const[]) { __VA_ARGS__, NULL })
#define EV(a, name) (busalert_get_evidence(a, name)->value)

/* A span of hours: "40 min", "75 min", "2.5 h", "18 h", "3.2 days". */
static const char *busalert_hours(char buf[static 32], double h) {
        if (!isfinite(h) || h < 0)
                snprintf(buf, 32, "?");
        else if (h < 1.5)
                snprintf(buf, 32, "%.0f min", h * 60);
        else if (h < 10.0)
                snprintf(buf, 32, "%.1f h", h);
        else if (h < 48.0)
                snprintf(buf, 32, "%.0f h", h);
        else
                snprintf(buf, 32, "%.1f days", h / 24);
        return buf;
}

/* A rate in %/h: one decimal below 10. */
static const char *busalert_rate(char buf[static 32], double r) {
        snprintf(buf, 32, fabs(r) < 10.0 ? "%.1f%%/h" : "%.0f%%/h", r);
        return buf;
}

/* Any evidence, for a kind without a sentence of its own: "level 8%, flat 40 min". */
static void busalert_evidence_generic(const struct busalert *a, char *buf, size_t size) {
        static const struct {
                const char *suffix, *unit;
        } units[] = {
                { "_pct_per_h", "%/h" }, { "_pct", "%" }, { "_per_h", "/h" }, { "_min", " min" },
                { "_h", " h" }, { "_days", " days" }, { "_s", " s" },
        };
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < a->n_evidence && i < 4 && used < size; i++) {
                const char *name = a->evidence[i].name, *unit = "";
                size_t len = strlen(name);
                char label[64];

                for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
                        size_t sl = strlen(units[u].suffix);
                        if (len > sl && strcmp(name + len - sl, units[u].suffix) == 0) {
                                unit = units[u].unit;
                                len -= sl;
                                break;
                        }
                }
                snprintf(label, sizeof(label), "%.*s", (int) len, name);
                for (char *c = label; *c; c++)
                        if (*c == '_')
                                *c = ' ';
                used += (size_t) snprintf(buf + used, size - used, "%s%s %.4g%s", i ? ", " : "", label,
                                          a->evidence[i].value, unit);
        }
}

/* One line of evidence a person can check: "battery at 8%", "a full charge lasts 3.1 h, …". */
void busalert_evidence_line(const struct busalert *a, char *buf, size_t size) {
        char x[32], y[32], z[32], w[32];

        switch (a->k) {
        case FINDING_CHARGE_STALL:
                if (!HAS(a, "level_pct", "flat_min"))
                        break;
                snprintf(buf, size, "stuck at %.0f%% for %s while charging", EV(a, "level_pct"),
                         busalert_hours(x, EV(a, "flat_min") / 60));
                return;
        case FINDING_SLOW_CHARGE:
                if (!HAS(a, "rate_pct_per_h"))
                        break;
                if (HAS(a, "usual_rate_pct_per_h"))
                        snprintf(buf, size, "charging at %s, usually %s", busalert_rate(x, EV(a, "rate_pct_per_h")),
                                 busalert_rate(y, EV(a, "usual_rate_pct_per_h")));
                else if (HAS(a, "threshold_pct_per_h"))
                        snprintf(buf, size, "charging at %s, under %s", busalert_rate(x, EV(a, "rate_pct_per_h")),
                                 busalert_rate(y, EV(a, "threshold_pct_per_h")));
                else
                        snprintf(buf, size, "charging at %s", busalert_rate(x, EV(a, "rate_pct_per_h")));
                return;
        case FINDING_INTERMITTENT_CHARGE:
                if (!HAS(a, "reversals", "span_min"))
                        break;
                snprintf(buf, size, "charging stopped and started %.0f times in %s", EV(a, "reversals"),
                         busalert_hours(x, EV(a, "span_min") / 60));
                return;
        case FINDING_FAST_DRAIN:
                if (!HAS(a, "drain_rate_pct_per_h", "baseline_pct_per_h"))
                        break;
                if (HAS(a, "runtime_h", "baseline_runtime_h"))
                        snprintf(buf, size, "draining %s, usually %s: a full charge lasts %s instead of %s",
                                 busalert_rate(x, EV(a, "drain_rate_pct_per_h")), busalert_rate(y, EV(a, "baseline_pct_per_h")),
                                 busalert_hours(z, EV(a, "runtime_h")), busalert_hours(w, EV(a, "baseline_runtime_h")));
                else
                        snprintf(buf, size, "draining %s, usually %s", busalert_rate(x, EV(a, "drain_rate_pct_per_h")),
                                 busalert_rate(y, EV(a, "baseline_pct_per_h")));
                return;
        case FINDING_BATTERY_DEGRADED:
                if (!HAS(a, "runtime_h", "early_runtime_h"))
                        break;
                snprintf(buf, size, "a full charge lasts %s, %.0f%% of the %s it lasted when new",
                         busalert_hours(x, EV(a, "runtime_h")),
                         EV(a, "early_runtime_h") > 0 ? 100.0 * EV(a, "runtime_h") / EV(a, "early_runtime_h") : 0.0,
                         busalert_hours(y, EV(a, "early_runtime_h")));
                return;
        case FINDING_SUDDEN_DROP:
                if (!HAS(a, "before_pct", "after_pct"))
                        break;
                snprintf(buf, size, "fell from %.0f%% to %.0f%% at once", EV(a, "before_pct"), EV(a, "after_pct"));
                return;
        case FINDING_NOT_HOLDING_CHARGE:
                if (!HAS(a, "from_pct", "to_pct", "minutes"))
                        break;
                snprintf(buf, size, "went from %.0f%% to %.0f%% in %s", EV(a, "from_pct"), EV(a, "to_pct"),
                         busalert_hours(x, EV(a, "minutes") / 60));
                return;
        case FINDING_CONNECTION_UNSTABLE:
                if (!HAS(a, "connects", "span_min"))
                        break;
                snprintf(buf, size, "connected %.0f times in %s", EV(a, "connects"), busalert_hours(x, EV(a, "span_min") / 60));
                return;
        case FINDING_LOW_BATTERY:
                if (!HAS(a, "level_pct"))
                        break;
                snprintf(buf, size, "battery at %.0f%%", EV(a, "level_pct"));
                return;
        case FINDING_DEEP_DISCHARGE_RISK:
                if (!HAS(a, "level_pct", "empty_days"))
                        break;
                snprintf(buf, size, "at %.0f%% and not charged for %s", EV(a, "level_pct"),
                         busalert_hours(x, EV(a, "empty_days") * 24));
                return;
        default:
                break;
        }
        busalert_evidence_generic(a, buf, size);
}

/* The first step to try: "Step 6: Assess the Battery Health", or the advice's action. */
void busalert_step_line(const struct busalert *a, char *buf, size_t size) {
        const struct advice *adv = advice_for(a->k);

        if (a->n_advice > 0)
                snprintf(buf, size, "%s: %s", a->advice[0].ref, a->advice[0].title);
        else if (adv && adv->action)
                snprintf(buf, size, "%s", adv->action);
        else
                buf[0] = '\0';
}

/* {"id","address","kind","severity","raised","cleared","acknowledged","evidence":{…},"advice":[{"ref","title"}]}. */
struct json_object *busalert_to_json(const struct busalert *a) {
        struct json_object *o = json_object_new_object(), *ev = json_object_new_object(), *adv = json_object_new_array();

        json_object_object_add(o, "id", json_object_new_string(a->id));
        json_object_object_add(o, "address", json_object_new_string(a->address));
        json_object_object_add(o, "kind", json_object_new_string(a->kind));
        json_object_object_add(o, "severity", json_object_new_string(a->severity));
        json_object_object_add(o, "raised", render_json_time(a->raised));
        json_object_object_add(o, "cleared", render_json_time(a->cleared));
        json_object_object_add(o, "acknowledged", json_object_new_boolean(a->acknowledged));
        for (size_t i = 0; i < a->n_evidence; i++)
                json_object_object_add(ev, a->evidence[i].name, render_json_number(a->evidence[i].value));
        json_object_object_add(o, "evidence", ev);
        for (size_t i = 0; i < a->n_advice; i++) {
                struct json_object *s = json_object_new_object();

                json_object_object_add(s, "ref", json_object_new_string(a->advice[i].ref));
                json_object_object_add(s, "title", json_object_new_string(a->advice[i].title));
                json_object_array_add(adv, s);
        }
        json_object_object_add(o, "advice", adv);
        return o;
}
