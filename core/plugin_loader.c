/*
 * Plugin loading by name: omvflash_<name>.so, searched in the request's plugin
 * dir, $OMVFLASH_PLUGIN_PATH and the plugin dir next to libomvflash
 * (self_dir.c; absolute directories only); the file found is loaded only if
 * plugin_trust.c accepts it, by its real path. The descriptor is checked
 * completely before anything in it is used.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

const char *omvi_plugin_kind_name(enum omv_plugin_kind k)
{
    switch (k) {
    case OMV_PLUGIN_TRANSPORT: return "transport";
    case OMV_PLUGIN_ACTION: return "action";
    case OMV_PLUGIN_ENTRY: return "entry";
    }
    return "unknown-kind";
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Try dir/file; append dir to the "searched" list. @return 1 found (path in
 * out), 0 not there, -1 refused (@p err set: a relative directory). @p from
 * names where the directory came from, for the message. */
static int try_dir(const char *dir, size_t dlen, const char *from, const char *file, const char *context,
                   char *out, size_t outlen, char *searched, size_t slen, omv_error *err)
{
    if (dlen == 0)
        return 0;
    if (dir[0] != '/') {
        omv_error_set(err, OMV_E_PLUGIN,
                      "%s: plugin directory '%.*s' (%s) is not an absolute path: refusing to load plugins from "
                      "it (it would depend on the current directory)",
                      context, (int)dlen, dir, from);
        return -1;
    }
    char one[PATH_MAX];
    snprintf(one, sizeof one, "%.*s", (int)dlen, dir);
    omvi_join_add(searched, slen, one);
    int n = snprintf(out, outlen, "%.*s/%s", (int)dlen, dir, file);
    if (n < 0 || (size_t)n >= outlen)
        return 0;
    return is_file(out);
}

/* Find omvflash_NAME.so; @p out gets its real path once plugin_trust.c
 * accepted it (the first directory that has the file decides: a refused
 * file is an error, never a reason to look further). */
static omv_status find_plugin(const char *name, const char *plugin_dir, const char *context,
                              char *out, size_t outlen, omv_error *err)
{
    char file[128], cand[4096];
    snprintf(file, sizeof file, OMV_PLUGIN_FILE_PREFIX "%s" OMV_PLUGIN_FILE_SUFFIX, name);
    char searched[2048] = "";
    int r = plugin_dir ? try_dir(plugin_dir, strlen(plugin_dir), "--plugin-dir", file, context, cand, sizeof cand,
                                 searched, sizeof searched, err)
                       : 0;
    const char *env = getenv("OMVFLASH_PLUGIN_PATH");
    for (const char *p = env; r == 0 && p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        r = try_dir(p, len, "from $OMVFLASH_PLUGIN_PATH", file, context, cand, sizeof cand, searched,
                    sizeof searched, err);
        p = colon ? colon + 1 : NULL;
    }
    char own[PATH_MAX];
    size_t own_len = r == 0 ? omvi_builtin_plugin_dir(own, sizeof own) : 0;
    if (r == 0)
        r = try_dir(own, own_len, "next to libomvflash", file, context, cand, sizeof cand, searched, sizeof searched,
                    err);
    if (r < 0)
        return err ? err->code : OMV_E_PLUGIN;
    if (r == 0)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: %s not found in %s", context, file, searched);
    return omvi_plugin_trusted(cand, context, out, outlen, err);
}

void omvi_plugin_unload(omvi_plugin *p)
{
    if (!p)
        return;
    if (p->dl)
        dlclose(p->dl);
    free(p->path);
    memset(p, 0, sizeof *p);
}

/* The operations a descriptor of @p kind must have, missing ones listed in @p missing. */
static omv_status check_ops(const struct omv_plugin *d, enum omv_plugin_kind kind, const char *context,
                            const char *path, omv_error *err)
{
    const void *ops = kind == OMV_PLUGIN_TRANSPORT ? (const void *)d->transport
                      : kind == OMV_PLUGIN_ENTRY   ? (const void *)d->entry
                                                   : (const void *)d->action;
    if (!ops)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: has no %s operations (%s)", context, omvi_plugin_kind_name(kind),
                             path);
    char missing[128] = "";
    if (kind == OMV_PLUGIN_TRANSPORT) {
        const struct omv_transport_ops *t = d->transport;
        const struct {
            const void *op;
            const char *name;
        } need[] = {{(const void *)t->list, "list"},   {(const void *)t->open, "open"},
                    {(const void *)t->partitions, "partitions"}, {(const void *)t->write, "write"},
                    {(const void *)t->finish, "finish"}, {(const void *)t->close, "close"}};
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!need[i].op)
                omvi_join_add(missing, sizeof missing, need[i].name);
    } else if (kind == OMV_PLUGIN_ENTRY) {
        if (!d->entry->list)
            omvi_join_add(missing, sizeof missing, "list");
        if (!d->entry->enter)
            omvi_join_add(missing, sizeof missing, "enter");
    } else if (!d->action->run) {
        omvi_join_add(missing, sizeof missing, "run");
    }
    if (missing[0])
        return omv_error_set(err, OMV_E_PLUGIN, "%s: required operations are NULL: %s (%s)", context, missing, path);
    return OMV_OK;
}

/* A spec table the core can check board values against: keys, types, ranges, choices. */
static omv_status check_specs(const struct omv_option_spec *specs, const char *table, const char *context,
                              const char *path, omv_error *err)
{
    for (size_t i = 0; specs && specs[i].key; i++) {
        const struct omv_option_spec *s = &specs[i];
        const char *why = NULL;
        if (s->type != OMV_OPT_UINT && s->type != OMV_OPT_STRING && s->type != OMV_OPT_BOOL)
            why = "has an unknown type";
        else if (s->choices && s->type != OMV_OPT_STRING)
            why = "has choices but is not a string";
        else if (s->type == OMV_OPT_UINT && s->max && s->min > s->max)
            why = "has min above max";
        if (why)
            return omv_error_set(err, OMV_E_PLUGIN, "%s: %s '%s' %s (%s)", context, table, s->key, why, path);
    }
    return OMV_OK;
}

/* Every shorthand names one of the plugin's options. */
static omv_status check_shorthands(const struct omv_plugin *d, const char *context, const char *path,
                                   omv_error *err)
{
    for (size_t i = 0; d->shorthands && d->shorthands[i].flag; i++) {
        const struct omv_shorthand *sh = &d->shorthands[i];
        int found = 0;
        for (size_t k = 0; sh->option && d->options && d->options[k].key; k++)
            found |= strcmp(d->options[k].key, sh->option) == 0;
        if (!found)
            return omv_error_set(err, OMV_E_PLUGIN, "%s: shorthand --%s sets option '%s', which it does not declare (%s)",
                                 context, sh->flag, sh->option ? sh->option : "(null)", path);
    }
    return OMV_OK;
}

static omv_status check_descriptor(const struct omv_plugin *d, const char *name, enum omv_plugin_kind kind,
                                   const char *context, const char *path, omv_error *err)
{
    if (!d)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: %s returned no descriptor (%s)", context,
                             OMV_PLUGIN_ENTRY_SYMBOL, path);
    /* abi_version and size are the first members in every ABI: safe to read before anything else. */
    if (d->abi_version != OMV_PLUGIN_ABI_VERSION)
        return omv_error_set(err, OMV_E_PLUGIN,
                             "%s: %s was built for plugin ABI %u, but this omvflash supports only ABI %u: rebuild "
                             "the plugin against the installed omvflash headers",
                             context, path, (unsigned)d->abi_version, (unsigned)OMV_PLUGIN_ABI_VERSION);
    if (d->size < sizeof(struct omv_plugin))
        return omv_error_set(err, OMV_E_PLUGIN, "%s: descriptor is %u bytes, ABI %u needs at least %zu (%s)", context,
                             (unsigned)d->size, (unsigned)OMV_PLUGIN_ABI_VERSION, sizeof(struct omv_plugin), path);
    if (!d->name || strcmp(d->name, name) != 0)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: file calls itself plugin '%s' (%s)", context,
                             d->name ? d->name : "(null)", path);
    if (d->kind != kind)
        return omv_error_set(err, OMV_E_PLUGIN, "%s: is a%s %s plugin, not a%s %s plugin (%s)", context,
                             d->kind == OMV_PLUGIN_ACTION || d->kind == OMV_PLUGIN_ENTRY ? "n" : "",
                             omvi_plugin_kind_name(d->kind),
                             kind == OMV_PLUGIN_ACTION || kind == OMV_PLUGIN_ENTRY ? "n" : "",
                             omvi_plugin_kind_name(kind), path);
    omv_status st = check_ops(d, kind, context, path, err);
    if (st == OMV_OK)
        st = check_specs(d->options, "option", context, path, err);
    if (st == OMV_OK)
        st = check_specs(d->partition_options, "partition option", context, path, err);
    if (st == OMV_OK && d->partition_options && d->partition_options[0].key && kind != OMV_PLUGIN_TRANSPORT)
        st = omv_error_set(err, OMV_E_PLUGIN, "%s: only a transport may declare partition options (%s)", context, path);
    if (st == OMV_OK)
        st = check_shorthands(d, context, path, err);
    return st;
}

omv_status omvi_plugin_load(const char *name, enum omv_plugin_kind kind, const char *plugin_dir,
                            const char *context, omvi_plugin *out, omv_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name || !omvi_valid_plugin_name(name) || strstr(name, ".."))
        return omv_error_set(err, OMV_E_PLUGIN,
                             "%s: '%s' is not a plugin name (use a-z, 0-9, '_' and '-')", context,
                             name ? name : "");
    char path[PATH_MAX];
    omv_status st = find_plugin(name, plugin_dir, context, path, sizeof path, err);
    if (st != OMV_OK)
        return st;
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef OMV_SANITIZE_BUILD
    /* Sanitizer builds keep plugins (and the libraries they pull in, such as
     * libusb) mapped after dlclose(): LeakSanitizer reports at exit, and
     * frames of an unmapped library show as "<unknown module>", which no
     * report reader and no suppression can match. */
    flags |= RTLD_NODELETE;
#endif
    void *dl = dlopen(path, flags);
    if (!dl) {
        const char *e = dlerror();
        return omv_error_set(err, OMV_E_PLUGIN, "%s: cannot load %s: %s", context, path,
                             e ? e : "unknown error");
    }
    dlerror();
    void *sym = dlsym(dl, OMV_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(dl);
        return omv_error_set(err, OMV_E_PLUGIN,
                             "%s: %s does not export %s (not an omvflash plugin?)", context, path,
                             OMV_PLUGIN_ENTRY_SYMBOL);
    }
    omv_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer without a pedantic cast */
    const struct omv_plugin *d = entry();
    st = check_descriptor(d, name, kind, context, path, err);
    if (st != OMV_OK) {
        dlclose(dl);
        return st;
    }
    out->path = omvi_strdup(path);
    if (!out->path) {
        dlclose(dl);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", context);
    }
    out->dl = dl;
    out->desc = d;
    return OMV_OK;
}
