/* hpmond — polkit, asynchronously (systemd's src/shared/bus-polkit.c is the model; its
 * bus_verify_polkit_async() is internal to systemd and needs sd-event, so this is ours).
 *
 * Requirements: a method handler that changes state calls polkit_check() after it has read
 * and validated its arguments and before it changes anything, so that everything before
 * the check is safe to run twice.
 *
 * Return values:
 *   1        allowed: go on and change state
 *   0        a question is on its way (to the bus, then to polkit): return 1 from the
 *            handler, without replying; the same message will be dispatched again when
 *            the answer is in
 *   -EACCES  refused; `error` is set to org.hpmon.Monitor1.Error.NotAuthorized
 *   < 0      another failure
 *
 * Steps, for one method call M:
 *
 *   handler(M) ─▶ polkit_check(M): no query for M
 *        │          GetConnectionUnixUser(sender of M) async ──▶ 0
 *        ▼
 *   the bus answers ─▶ polkit_uid_cb: root? ──▶ allowed, polkit is not asked (as with
 *        │                                      systemd's services); sd_bus_enqueue_for_read(M)
 *        │              else ──▶ CheckAuthorization(system-bus-name = sender of M, action) async
 *        ▼
 *   polkit answers ─▶ polkit_reply_cb: keep the answer, sd_bus_enqueue_for_read(M)
 *        ▼
 *   handler(M) again ─▶ polkit_check(M): the query for M has an answer ──▶ 1 or -EACCES
 *
 * The caller's uid comes from the bus asynchronously: sd_bus_query_sender_creds() would ask
 * the bus with a blocking GetConnectionCredentials inside the handler. If the bus cannot
 * say, polkit is asked, as for anyone. polkitd not running is a refusal (with that
 * reason), never an allowance. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "polkit.h"

struct polkit_query {
        struct context *c;
        sd_bus_message *request;        /* the method call being authorised */
        sd_bus_message *reply;          /* polkit's answer, once it came */
        sd_bus_slot *slot;              /* GetConnectionUnixUser, then CheckAuthorization */
        char *action;
        bool answered;                  /* the verdict is in: request is queued again */
        int verdict;                    /* 1: root, polkit not asked; < 0: it could not be asked;
                                         * 0: polkit's reply says */
        struct polkit_query *next;
};

/* Unlinks and frees a query. */
static void polkit_query_free(struct context *c, struct polkit_query *q) {
        for (struct polkit_query **p = (struct polkit_query **) &c->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_message_unref(q->reply);
        free(q->action);
        free(q);
}

/* The verdict is in: hand the original call back to the bus, to be dispatched again. */
static void polkit_answered(struct polkit_query *q) {
        int r;

        q->answered = true;
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Cannot requeue a call after asking polkit, dropping it: %m");
                polkit_query_free(q->c, q);
        }
}

/* polkit answered: keep the answer for polkit_verdict(). */
static int polkit_reply_cb(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct polkit_query *q = userdata;

        q->slot = sd_bus_slot_unref(q->slot);
        q->reply = sd_bus_message_ref(reply);
        polkit_answered(q);
        return 0;
}

/* Asks polkit whether the caller may do q's action. */
static int polkit_ask(struct polkit_query *q) {
        struct context *c = q->c;
        sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1,
                                          "name", "s", sd_bus_message_get_sender(q->request),
                                          q->action, 0,
                                          (uint32_t) (sd_bus_message_get_allow_interactive_authorization(q->request) ? 1 : 0),
                                          "");
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &q->slot, call, polkit_reply_cb, q, 0);
        sd_bus_message_unref(call);
        return r;
}

/* The bus said who the caller is: root may, anyone else is a question for polkit. */
static int polkit_uid_cb(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct polkit_query *q = userdata;
        uint32_t uid;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (!sd_bus_message_is_method_error(reply, NULL) && sd_bus_message_read(reply, "u", &uid) > 0 && uid == 0) {
                q->verdict = 1;
                polkit_answered(q);
                return 0;
        }
        r = polkit_ask(q);
        if (r < 0) {
                q->verdict = r;
                polkit_answered(q);
        }
        return 0;
}

/* Reads polkit's answer: 1 authorised, or -EACCES with `error` set to why not. */
static int polkit_verdict(struct polkit_query *q, sd_bus_error *error) {
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(q->reply, NULL)) {
                e = sd_bus_message_get_error(q->reply);
                log_warning("polkit could not be asked about %s: %s", q->action, e->message ? e->message : e->name);
                return sd_bus_error_setf(error, HPMON_ERROR_NOT_AUTHORIZED,
                                         "Not authorized: polkit could not be asked (%s)", e->name);
        }
        r = sd_bus_message_enter_container(q->reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(q->reply, "bb", &authorized, &challenge);
        if (r < 0)
                return sd_bus_error_setf(error, HPMON_ERROR_NOT_AUTHORIZED, "Not authorized: malformed answer from polkit");
        if (authorized)
                return 1;
        return sd_bus_error_setf(error, HPMON_ERROR_NOT_AUTHORIZED,
                                 challenge ? "Not authorized: %s needs authentication" : "Not authorized to %s",
                                 q->action);
}

/* Whether the caller of m may do `action` (see the top of this file for the protocol). */
int polkit_check(struct context *c, sd_bus_message *m, const char *action, sd_bus_error *error) {
        struct polkit_query *q;
        const char *sender;
        int r;

        for (q = c->polkit_queries; q; q = q->next)
                if (q->request == m && strcmp(q->action, action) == 0)
                        break;
        if (q) {
                if (!q->answered)
                        return 0;       /* still asking; not dispatched twice by sd-bus */
                r = q->verdict != 0 ? q->verdict : polkit_verdict(q, error);
                polkit_query_free(c, q);
                return r;
        }

        sender = sd_bus_message_get_sender(m);
        if (!sender)
                return sd_bus_error_setf(error, HPMON_ERROR_NOT_AUTHORIZED, "Not authorized: caller unknown");

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->c = c;
        q->action = strdup(action);
        if (!q->action) {
                free(q);
                return -ENOMEM;
        }
        r = sd_bus_call_method_async(c->bus, &q->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionUnixUser", polkit_uid_cb, q, "s", sender);
        if (r < 0) {
                free(q->action);
                free(q);
                return r;
        }
        q->request = sd_bus_message_ref(m);
        q->next = c->polkit_queries;
        c->polkit_queries = q;
        return 0;
}

/* Forgets the question for a call whose handler returned before asking again (the state
 * changed while polkit was deciding: nothing to do any more, or an error): otherwise the
 * query, and its messages, would stay for good. */
void polkit_forget(struct context *c, sd_bus_message *m) {
        for (struct polkit_query *q = c->polkit_queries; q; q = q->next)
                if (q->request == m) {
                        polkit_query_free(c, q);
                        return;
                }
}

/* Drops every question still out (at exit). */
void polkit_free_all(struct context *c) {
        while (c->polkit_queries)
                polkit_query_free(c, c->polkit_queries);
}
