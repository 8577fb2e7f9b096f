/*
 * A strict INI reader on top of inih for the small configuration files of
 * the core (slots files): every section header and key reaches the caller
 * with its line number, and every malformed line is an error "FILE:LINE:
 * ...".
 *
 * inih is driven through our own line reader (ini_parse_stream), which asks
 * for one line per call, so the reader knows the current line. The reader
 * reports section headers itself (inih calls no handler for a bare header),
 * strips leading whitespace (no silent multi-line continuation), and takes a
 * key line that got no handler call by the time the next line is requested
 * as a syntax error. No inih global setting is touched.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct strict_ctx {
    FILE *f;
    const char *path;
    const omvi_ini_ops *ops;
    void *user;
    omv_status code;      /* for syntax errors */
    omv_error *err;
    char *buf;
    size_t cap;
    int line;
    size_t bytes;         /* read so far: a file may grow while it is read */
    int pending;          /* line of a key line awaiting its handler call */
    int handler_called;
    omv_status failed;    /* first error, OMV_OK while none */
} strict_ctx;

static void fail(strict_ctx *c, omv_status code, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void fail(strict_ctx *c, omv_status code, int line, const char *fmt, ...)
{
    if (c->failed != OMV_OK)
        return;
    char msg[OMV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = code;
    omv_error_set(c->err, code, "%s:%d: %s", c->path, line, msg);
}

/* "[ title ]" -> the trimmed title handed to ops->section. */
static void header(strict_ctx *c, const char *s)
{
    const char *close = strchr(s, ']');
    if (!close) {
        fail(c, c->code, c->line, "syntax error: section header has no closing ']'");
        return;
    }
    const char *after = close + 1;
    while (*after && isspace((unsigned char)*after))
        after++;
    if (*after && *after != ';' && *after != '#') {
        fail(c, c->code, c->line, "syntax error: unexpected text after ']'");
        return;
    }
    const char *t = s + 1;
    while (t < close && isspace((unsigned char)*t))
        t++;
    const char *e = close;
    while (e > t && isspace((unsigned char)e[-1]))
        e--;
    char title[256];
    size_t tl = (size_t)(e - t);
    if (tl >= sizeof title) {
        fail(c, c->code, c->line, "section header too long");
        return;
    }
    memcpy(title, t, tl);
    title[tl] = '\0';
    omv_status st = c->ops->section(c->user, title, c->line, c->err);
    if (st != OMV_OK)
        c->failed = st;
}

static char *reader(char *str, int num, void *stream)
{
    strict_ctx *c = stream;
    if (c->failed != OMV_OK)
        return NULL;
    if (c->pending && !c->handler_called) {
        fail(c, c->code, c->pending, "syntax error: expected [section], key = value or a comment");
        return NULL;
    }
    c->pending = 0;
    errno = 0;
    ssize_t n = getline(&c->buf, &c->cap, c->f);
    if (n < 0) {
        if (ferror(c->f)) {
            char eb[128];
            fail(c, c->code, c->line + 1, "cannot read: %s", omvi_strerror(errno, eb, sizeof eb));
        }
        return NULL;
    }
    c->line++;
    c->bytes += (size_t)n;
    if (c->bytes > OMVI_MAX_BOARD_FILE) {
        fail(c, c->code, c->line, "file larger than %u bytes", OMVI_MAX_BOARD_FILE);
        return NULL;
    }
    if ((size_t)n != strlen(c->buf)) {
        fail(c, c->code, c->line, "line contains a NUL byte");
        return NULL;
    }
    char *s = c->buf;
    if (c->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        s += 3;
    while (*s && isspace((unsigned char)*s) && *s != '\n')
        s++;
    size_t len = strlen(s);
    if (len + 1 > (size_t)num - 1) { /* inih needs room for "\n\0" */
        fail(c, c->code, c->line, "line is too long (at most %d characters)", num - 3);
        return NULL;
    }
    if (*s == '[') {
        header(c, s);
        if (c->failed != OMV_OK)
            return NULL;
    } else if (*s && *s != '\n' && *s != '\r' && *s != ';' && *s != '#') {
        c->pending = c->line;
        c->handler_called = 0;
    }
    memcpy(str, s, len + 1);
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    (void)section; /* the reader reports sections, with their line numbers */
    strict_ctx *c = user;
    c->handler_called = 1;
    if (c->failed != OMV_OK)
        return 0;
    if (!*name) {
        fail(c, c->code, c->line, "syntax error: missing key name before '='");
        return 0;
    }
    omv_status st = c->ops->key(c->user, name, value ? value : "", c->line, c->err);
    if (st != OMV_OK)
        c->failed = st;
    return c->failed == OMV_OK;
}

omv_status omvi_ini_parse(const char *path, omv_status code, const omvi_ini_ops *ops, void *user, omv_error *err)
{
    /* An input (file_guard.c): a FIFO or a device is refused at once, and
     * so is a file too large to be a configuration file. */
    FILE *f = omvi_open_input_file(path, ops->what ? ops->what : "", OMVI_MAX_BOARD_FILE, code, NULL, err);
    if (!f)
        return err ? err->code : code;
    strict_ctx c = {.f = f, .path = path, .ops = ops, .user = user, .code = code, .err = err};
    int r = ini_parse_stream(reader, &c, handler, &c);
    free(c.buf);
    fclose(f);
    if (c.failed == OMV_OK && r > 0)
        fail(&c, code, r, "syntax error");
    else if (c.failed == OMV_OK && r < 0)
        c.failed = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    return c.failed;
}
