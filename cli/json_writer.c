/* Minimal JSON object writer: correct escaping is the only hard part. */
#include "json_writer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

static void append(struct json_obj *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void append(struct json_obj *o, const char *fmt, ...)
{
    if (o->truncated)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof o->buf - o->len - 2) /* keep room for "}\0" */
        o->truncated = 1;
    else
        o->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at @p p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char b = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        n = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        n = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* Escape per RFC 8259: quote, backslash and control characters. Strings from
 * the system (file names, USB strings, messages quoting either) may hold any
 * bytes; JSON text is UTF-8, so a byte that does not start a well-formed
 * sequence becomes U+FFFD (\ufffd) and the output stays valid JSON. */
static void append_escaped(struct json_obj *o, const char *s)
{
    append(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p && !o->truncated; p++) {
        switch (*p) {
        case '"': append(o, "\\\""); break;
        case '\\': append(o, "\\\\"); break;
        case '\n': append(o, "\\n"); break;
        case '\r': append(o, "\\r"); break;
        case '\t': append(o, "\\t"); break;
        default:
            if (*p < 0x20) {
                append(o, "\\u%04x", *p);
            } else if (*p < 0x80) {
                append(o, "%c", *p);
            } else {
                size_t n = utf8_len(p);
                if (n) {
                    append(o, "%.*s", (int)n, (const char *)p);
                    p += n - 1;
                } else {
                    append(o, "\\ufffd");
                }
            }
        }
    }
    append(o, "\"");
}

void json_begin(struct json_obj *o, const char *event)
{
    o->len = 0;
    o->truncated = 0;
    o->buf[0] = '\0';
    append(o, "{\"event\":");
    append_escaped(o, event);
}

void json_str(struct json_obj *o, const char *key, const char *value)
{
    if (!value)
        return;
    append(o, ",");
    append_escaped(o, key);
    append(o, ":");
    append_escaped(o, value);
}

void json_u64(struct json_obj *o, const char *key, uint64_t value)
{
    append(o, ",");
    append_escaped(o, key);
    append(o, ":%" PRIu64, value);
}

void json_bool(struct json_obj *o, const char *key, int value)
{
    append(o, ",");
    append_escaped(o, key);
    append(o, ":%s", value ? "true" : "false");
}

void json_end(struct json_obj *o, FILE *f)
{
    if (o->truncated) {
        /* Never emit invalid JSON: fall back to a marker object. */
        fputs("{\"event\":\"log\",\"level\":\"warn\",\"message\":\"event too large for JSON output\"}\n", f);
    } else {
        fputs(o->buf, f);
        fputs("}\n", f);
    }
    fflush(f);
}

void json_write_str(FILE *f, const char *s)
{
    struct json_obj o;
    o.len = 0;
    o.truncated = 0;
    o.buf[0] = '\0';
    append_escaped(&o, s ? s : "");
    fputs(o.truncated ? "\"(too long for the record)\"" : o.buf, f);
}
