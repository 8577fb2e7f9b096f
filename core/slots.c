/*
 * Slots files: a name for each physical USB port of a production line, so
 * that events and records say "A3" instead of "1-2.3", and an operator can
 * find the camera. A port is named by its Linux port path (bus-port.port...),
 * which stays the same for a given hub socket across re-enumerations, unlike
 * device numbers or serials (which may collide).
 *
 *   [slot A1]
 *   port = 1-2.1
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct slot {
    char name[OMV_SLOT_NAME_MAX];
    char port[32];   /* as struct omv_device_info.port_path */
    int line;        /* header line */
    int port_line;   /* 0 while no port = was seen */
} slot;

struct omv_slots {
    slot *v;
    size_t n;
};

typedef struct slots_ctx {
    omv_slots *s;
    const char *path;
    slot *cur;       /* section being read, NULL before the first */
} slots_ctx;

/* 1-31 characters of [A-Za-z0-9_.-]: safe in text lines, JSON, labels and file names. */
static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= OMV_SLOT_NAME_MAX)
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return 0;
    return 1;
}

/* Up to @p max decimal digits at *p (at least one); advances *p. */
static int digits(const char **p, int max)
{
    int n = 0;
    while (isdigit((unsigned char)**p) && n <= max) {
        (*p)++;
        n++;
    }
    return n >= 1 && n <= max;
}

/* A Linux USB port path: BUS-PORT[.PORT]... ("1-2.3"). USB allows five hubs
 * between the root hub and a device (USB 2.0 section 4.1.1), so at most six
 * port numbers. */
static int valid_port(const char *s)
{
    if (strlen(s) >= sizeof(((slot *)0)->port))
        return 0;
    const char *p = s;
    if (!digits(&p, 3) || *p++ != '-' || !digits(&p, 3))
        return 0;
    for (int ports = 1; *p; ports++) {
        if (ports >= 6 || *p++ != '.' || !digits(&p, 3))
            return 0;
    }
    return 1;
}

static slot *find_name(const omv_slots *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

static omv_status on_section(void *user, const char *title, int line, omv_error *err)
{
    slots_ctx *c = user;
    if (c->cur && !c->cur->port_line)
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: [slot %s] has no 'port = PATH'", c->path, c->cur->line,
                             c->cur->name);
    if (strncmp(title, "slot", 4) != 0 || (title[4] && !isspace((unsigned char)title[4])))
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: unknown section [%s] (expected [slot NAME])", c->path, line,
                             title);
    const char *name = title + 4;
    while (isspace((unsigned char)*name))
        name++;
    if (!valid_name(name))
        return omv_error_set(err, OMV_E_CONFIG,
                             "%s:%d: [%s]: a slot name is 1 to %d letters, digits, '_', '-' or '.'", c->path, line,
                             title, OMV_SLOT_NAME_MAX - 1);
    const slot *dup = find_name(c->s, name);
    if (dup)
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: duplicate [slot %s] (first at line %d)", c->path, line, name,
                             dup->line);
    slot *v = realloc(c->s->v, (c->s->n + 1) * sizeof *v);
    if (!v)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", c->path);
    c->s->v = v;
    c->cur = &v[c->s->n++];
    memset(c->cur, 0, sizeof *c->cur);
    snprintf(c->cur->name, sizeof c->cur->name, "%s", name);
    c->cur->line = line;
    return OMV_OK;
}

static omv_status on_key(void *user, const char *name, const char *value, int line, omv_error *err)
{
    slots_ctx *c = user;
    if (!c->cur)
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: key '%s' outside any section (start with [slot NAME])",
                             c->path, line, name);
    if (strcmp(name, "port") != 0)
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: [slot %s]: unknown key '%s' (the only key is 'port')",
                             c->path, line, c->cur->name, name);
    if (c->cur->port_line)
        return omv_error_set(err, OMV_E_CONFIG, "%s:%d: [slot %s]: port given twice (first at line %d)", c->path,
                             line, c->cur->name, c->cur->port_line);
    if (!valid_port(value))
        return omv_error_set(err, OMV_E_CONFIG,
                             "%s:%d: [slot %s]: port '%s' is not a USB port path such as 1-2.3 (bus-port.port...; "
                             "see omvflashd --list-devices)",
                             c->path, line, c->cur->name, value);
    for (size_t i = 0; i + 1 < c->s->n; i++)
        if (c->s->v[i].port_line && strcmp(c->s->v[i].port, value) == 0)
            return omv_error_set(err, OMV_E_CONFIG, "%s:%d: [slot %s]: port %s is already slot %s (line %d)",
                                 c->path, line, c->cur->name, value, c->s->v[i].name, c->s->v[i].port_line);
    snprintf(c->cur->port, sizeof c->cur->port, "%s", value);
    c->cur->port_line = line;
    return OMV_OK;
}

omv_status omv_slots_load(const char *path, omv_slots **out, omv_error *err)
{
    if (!path || !out)
        return omv_error_set(err, OMV_E_USAGE, "omv_slots_load: path and out are required");
    *out = NULL;
    omv_slots *s = calloc(1, sizeof *s);
    if (!s)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    slots_ctx c = {.s = s, .path = path};
    static const omvi_ini_ops ops = {.section = on_section, .key = on_key};
    omv_status st = omvi_ini_parse(path, OMV_E_CONFIG, &ops, &c, err);
    if (st == OMV_OK && c.cur && !c.cur->port_line)
        st = omv_error_set(err, OMV_E_CONFIG, "%s:%d: [slot %s] has no 'port = PATH'", path, c.cur->line,
                           c.cur->name);
    if (st == OMV_OK && s->n == 0)
        st = omv_error_set(err, OMV_E_CONFIG, "%s: no [slot NAME] sections", path);
    if (st != OMV_OK) {
        omv_slots_free(s);
        return st;
    }
    *out = s;
    return OMV_OK;
}

void omv_slots_free(omv_slots *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

const char *omv_slots_lookup(const omv_slots *s, const char *port_path)
{
    for (size_t i = 0; s && port_path && *port_path && i < s->n; i++)
        if (strcmp(s->v[i].port, port_path) == 0)
            return s->v[i].name;
    return NULL;
}

const char *omv_slots_port(const omv_slots *s, const char *name)
{
    const slot *sl = name ? find_name(s, name) : NULL;
    return sl ? sl->port : NULL;
}

size_t omv_slots_count(const omv_slots *s)
{
    return s ? s->n : 0;
}

const char *omv_slots_name_at(const omv_slots *s, size_t i)
{
    return s && i < s->n ? s->v[i].name : NULL;
}
