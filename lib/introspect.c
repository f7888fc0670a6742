/* hpmon — the child nodes of an Introspect document, found by a small strict scanner.
 *
 * org.freedesktop.DBus.Introspectable.Introspect returns XML whose root <node> lists the
 * object's children as <node name="ELEMENT"/> (D-Bus specification, "Introspection Data
 * Format"); hpmond walks BlueZ's object tree with it when the object list could not be read.
 * The document comes from a peer, so it is taken as hostile. This is not an XML parser: it
 * accepts the well-formed subset D-Bus implementations write — an XML declaration and
 * processing instructions, comments, a DOCTYPE without internal subset, one root <node>,
 * elements and attributes in either quotes, text, CDATA, the five predefined entities and
 * character references — and refuses anything else with -EBADMSG, children reported or not:
 * it checks the whole document first, then reports. It allocates nothing, reads the input
 * twice at most, nests at most INTROSPECT_DEPTH_MAX elements and never reads past `size`.
 *
 * A child is a <node> directly inside the root with a `name` that is a D-Bus path element
 * ([A-Za-z0-9_]+, at most INTROSPECT_NAME_MAX bytes once references are decoded). Any other
 * child <node> (no name, an empty or invalid one) is counted, not reported: no object can
 * have that path. The root's own name (often the absolute path) and nodes nested deeper are
 * not children. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "introspect.h"

/* A read position in the document. */
struct introspect_scan {
        const char *p, *end;
};

/* XML's white space. */
static bool introspect_is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether c may start an XML name (ASCII as XML says; any byte of a UTF-8 sequence). */
static bool introspect_is_name_start(char c) {
        unsigned char u = (unsigned char) c;

        return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || u == '_' || u == ':' || u >= 0x80;
}

/* Whether c may be in an XML name after its first character. */
static bool introspect_is_name_char(char c) {
        return introspect_is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Whether a character may be in a D-Bus object path element. */
static bool introspect_is_element_char(uint32_t c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether the scan is at the literal `lit` (which is not consumed). */
static bool introspect_at(const struct introspect_scan *s, const char *lit) {
        size_t n = strlen(lit);

        return (size_t) (s->end - s->p) >= n && memcmp(s->p, lit, n) == 0;
}

/* Skips white space. */
static void introspect_skip_space(struct introspect_scan *s) {
        while (s->p < s->end && introspect_is_space(*s->p))
                s->p++;
}

/* Skips past the next `lit`; -EBADMSG if a NUL or the end of the document comes first. */
static int introspect_skip_past(struct introspect_scan *s, const char *lit) {
        size_t n = strlen(lit);

        for (; s->p < s->end; s->p++) {
                if (*s->p == '\0')
                        return -EBADMSG;
                if (introspect_at(s, lit)) {
                        s->p += n;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* Reads an XML name; returns its length, 0 if there is none. */
static size_t introspect_name(struct introspect_scan *s) {
        const char *start = s->p;

        if (s->p == s->end || !introspect_is_name_start(*s->p))
                return 0;
        while (s->p < s->end && introspect_is_name_char(*s->p))
                s->p++;
        return (size_t) (s->p - start);
}

/* Reads a reference after its '&', up to and with its ';': the character it stands for,
 * which must be one XML allows. Other named entities would need a DTD: refused. */
static int introspect_reference(struct introspect_scan *s, uint32_t *ret) {
        static const struct {
                const char *name;
                char c;
        } named[] = {
                { "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' }, { "quot;", '"' }, { "apos;", '\'' },
        };
        uint32_t v = 0, base = 10;
        unsigned digits = 0;

        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
                if (introspect_at(s, named[i].name)) {
                        s->p += strlen(named[i].name);
                        *ret = (unsigned char) named[i].c;
                        return 0;
                }
        if (s->p == s->end || *s->p != '#')
                return -EBADMSG;
        s->p++;
        if (s->p < s->end && *s->p == 'x') {
                base = 16;
                s->p++;
        }
        for (; s->p < s->end && *s->p != ';'; s->p++) {
                char c = *s->p;
                uint32_t d = c >= '0' && c <= '9' ? (uint32_t) (c - '0') :
                             c >= 'a' && c <= 'f' ? (uint32_t) (c - 'a' + 10) :
                             c >= 'A' && c <= 'F' ? (uint32_t) (c - 'A' + 10) : UINT32_MAX;

                /* eight digits: no overflow, in either base */
                if (d >= base || ++digits > 8)
                        return -EBADMSG;
                v = v * base + d;
        }
        if (s->p == s->end || digits == 0)
                return -EBADMSG;
        s->p++;
        /* XML's Char: tab, newline, return, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF */
        if (!(v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) ||
              (v >= 0x10000 && v <= 0x10FFFF)))
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* Reads one character of a value or of text at s->p (not at its end): a reference ('&'
 * starts one, and only there is it allowed), or a byte as it stands. */
static int introspect_char(struct introspect_scan *s, uint32_t *ret) {
        if (*s->p != '&') {
                *ret = (unsigned char) *s->p++;
                return 0;
        }
        s->p++;
        return introspect_reference(s, ret);
}

/* Reads a quoted attribute value. With `ret_name`, the value decoded is put there if it is
 * a path element, and *ret_valid says whether it was (both set only on success). */
static int introspect_value(struct introspect_scan *s, char *ret_name, bool *ret_valid) {
        char name[INTROSPECT_NAME_MAX + 1];
        size_t n = 0;
        bool valid = true;
        char q;
        int r;

        if (s->p == s->end || (*s->p != '"' && *s->p != '\''))
                return -EBADMSG;
        q = *s->p++;
        for (;;) {
                uint32_t c;

                if (s->p == s->end || *s->p == '<' || *s->p == '\0')
                        return -EBADMSG;
                if (*s->p == q) {
                        s->p++;
                        break;
                }
                r = introspect_char(s, &c);
                if (r < 0)
                        return r;
                if (!introspect_is_element_char(c) || n >= INTROSPECT_NAME_MAX)
                        valid = false;
                else
                        name[n++] = (char) c;
        }
        if (ret_name) {
                name[n] = '\0';
                memcpy(ret_name, name, n + 1);
                *ret_valid = valid && n > 0;
        }
        return 0;
}

/* Skips character data up to the next '<', checking its references; outside the root
 * element only white space may be there. */
static int introspect_text(struct introspect_scan *s, bool outside) {
        uint32_t c;
        int r;

        while (s->p < s->end && *s->p != '<') {
                if (*s->p == '\0' || (outside && !introspect_is_space(*s->p)) || introspect_at(s, "]]>"))
                        return -EBADMSG;
                r = introspect_char(s, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Skips a comment from its "<!--"; "--" may only end it. */
static int introspect_comment(struct introspect_scan *s) {
        int r;

        s->p += 4;
        r = introspect_skip_past(s, "--");
        if (r < 0)
                return r;
        if (s->p == s->end || *s->p != '>')
                return -EBADMSG;
        s->p++;
        return 0;
}

/* Skips a DOCTYPE declaration. An internal subset ('[') could declare entities: refused. */
static int introspect_doctype(struct introspect_scan *s) {
        char q = 0;

        s->p += strlen("<!DOCTYPE");
        if (s->p == s->end || !introspect_is_space(*s->p))
                return -EBADMSG;
        for (; s->p < s->end; s->p++) {
                char c = *s->p;

                if (c == '\0')
                        return -EBADMSG;
                if (q) {
                        if (c == q)
                                q = 0;
                } else if (c == '"' || c == '\'')
                        q = c;
                else if (c == '[' || c == '<')
                        return -EBADMSG;
                else if (c == '>') {
                        s->p++;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* Reads the attributes of a start tag and its end ('>' or "/>"). With `ret_name`, the name
 * attribute goes there (see introspect_value()); *ret_has_name says whether there was one. */
static int introspect_attributes(struct introspect_scan *s, char ret_name[static INTROSPECT_NAME_MAX + 1],
                                 bool *ret_has_name, bool *ret_valid, bool *ret_empty) {
        bool has_name = false, valid = false;
        int r;

        for (;;) {
                const char *attr;
                size_t len;
                bool space, is_name;

                space = s->p < s->end && introspect_is_space(*s->p);
                introspect_skip_space(s);
                if (s->p == s->end)
                        return -EBADMSG;
                if (*s->p == '>' || introspect_at(s, "/>")) {
                        *ret_empty = *s->p == '/';
                        s->p += *ret_empty ? 2 : 1;
                        *ret_has_name = has_name;
                        *ret_valid = valid;
                        return 0;
                }
                attr = s->p;
                len = introspect_name(s);
                if (!space || len == 0)
                        return -EBADMSG;
                introspect_skip_space(s);
                if (s->p == s->end || *s->p != '=')
                        return -EBADMSG;
                s->p++;
                introspect_skip_space(s);
                is_name = len == 4 && memcmp(attr, "name", 4) == 0;
                if (is_name && has_name)
                        return -EBADMSG;        /* XML allows no attribute twice */
                r = introspect_value(s, is_name ? ret_name : NULL, &valid);
                if (r < 0)
                        return r;
                has_name = has_name || is_name;
        }
}

/* One pass over the document: checks it all, and reports each valid child to cb when
 * cb is not NULL. Returns the number of valid children. */
static int introspect_scan(const char *xml, size_t size, introspect_child_cb cb, void *userdata,
                           unsigned *ret_n_invalid) {
        struct introspect_scan s = { xml, xml + size };
        struct {
                const char *tag;
                size_t len;
        } open[INTROSPECT_DEPTH_MAX];
        size_t depth = 0;
        bool prolog = true, doctype = false, done = false;
        unsigned n_invalid = 0;
        int n = 0, r;

        while (s.p < s.end) {
                if (*s.p != '<')
                        r = introspect_text(&s, depth == 0);
                else if (introspect_at(&s, "<?")) {
                        s.p += 2;
                        r = introspect_name(&s) > 0 ? introspect_skip_past(&s, "?>") : -EBADMSG;
                } else if (introspect_at(&s, "<!--"))
                        r = introspect_comment(&s);
                else if (introspect_at(&s, "<![CDATA[")) {
                        s.p += strlen("<![CDATA[");
                        r = depth > 0 ? introspect_skip_past(&s, "]]>") : -EBADMSG;
                } else if (introspect_at(&s, "<!DOCTYPE")) {
                        r = prolog && !doctype ? introspect_doctype(&s) : -EBADMSG;
                        doctype = true;
                } else if (introspect_at(&s, "</")) {
                        const char *tag;
                        size_t len;

                        s.p += 2;
                        tag = s.p;
                        len = introspect_name(&s);
                        introspect_skip_space(&s);
                        if (depth == 0 || len != open[depth - 1].len || memcmp(tag, open[depth - 1].tag, len) != 0 ||
                            s.p == s.end || *s.p != '>')
                                return -EBADMSG;
                        s.p++;
                        done = --depth == 0;
                        r = 0;
                } else {
                        char name[INTROSPECT_NAME_MAX + 1];
                        const char *tag;
                        size_t len;
                        bool node, child, has_name, valid, empty;

                        s.p++;
                        tag = s.p;
                        len = introspect_name(&s);
                        node = len == 4 && memcmp(tag, "node", 4) == 0;
                        child = node && depth == 1;
                        /* one root, a <node>; nothing nests without bound */
                        if (len == 0 || done || (depth == 0 && !node) || depth == INTROSPECT_DEPTH_MAX)
                                return -EBADMSG;
                        r = introspect_attributes(&s, name, &has_name, &valid, &empty);
                        if (r < 0)
                                return r;
                        prolog = false;
                        if (child && !(has_name && valid))
                                n_invalid++;
                        else if (child) {
                                n++;
                                r = cb ? cb(name, userdata) : 0;
                        }
                        if (empty)
                                done = depth == 0;
                        else {
                                open[depth].tag = tag;
                                open[depth].len = len;
                                depth++;
                        }
                }
                if (r < 0)
                        return r;
        }
        if (prolog || depth > 0)
                return -EBADMSG;        /* no root element, or one left open */
        *ret_n_invalid = n_invalid;
        return n;
}

/* Reports each child node an Introspect document lists to cb (which may be NULL), once
 * the whole document is known to be well-formed. Returns how many children were valid, or
 * -EBADMSG (malformed), -E2BIG (too big to count in an int), or cb's negative return.
 * *ret_n_invalid (may be NULL) counts the child nodes with no valid name. */
int introspect_children(const char *xml, size_t size, introspect_child_cb cb, void *userdata,
                        unsigned *ret_n_invalid) {
        unsigned n_invalid;
        int r;

        if (size > INT_MAX)
                return -E2BIG;
        r = introspect_scan(xml, size, NULL, NULL, &n_invalid);
        if (r < 0)
                return r;
        if (cb) {
                r = introspect_scan(xml, size, cb, userdata, &n_invalid);
                if (r < 0)
                        return r;
        }
        if (ret_n_invalid)
                *ret_n_invalid = n_invalid;
        return r;
}
