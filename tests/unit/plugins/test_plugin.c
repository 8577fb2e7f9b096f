/*
 * Small test plugins, one per variant (compiled with -DVARIANT_<X>): good,
 * built for ABI 1 (refused), no entry symbol, a name different from the
 * file's, NULL operations, too-small descriptor, an action plugin, a shorthand
 * naming no option of its own, and choices on a number.
 */
#include <omvflash/plugin.h>

__attribute__((unused)) static omv_status t_list(void *c, const struct omv_host *h, const struct omv_match *m,
                                                  omv_device_found_fn f, void *u, omv_error *e)
{
    (void)c, (void)h, (void)m, (void)f, (void)u, (void)e;
    return OMV_OK;
}
__attribute__((unused)) static omv_status t_open(void *c, const struct omv_host *h, const struct omv_match *m, void **s,
                                                  struct omv_device_info *i, omv_error *e)
{
    (void)c, (void)h, (void)m, (void)s, (void)i;
    return omv_error_set(e, OMV_E_NO_DEVICE, "test plugin has no device");
}
static omv_status t_parts(void *s, struct omv_dev_partition *o, size_t m, size_t *c, omv_error *e)
{
    (void)s, (void)o, (void)m, (void)e;
    *c = 0;
    return OMV_OK;
}
static omv_status t_write(void *s, const struct omv_target *t, struct omv_write *w, omv_error *e)
{
    (void)s, (void)t, (void)w, (void)e;
    return OMV_OK;
}
static omv_status t_finish(void *s, int r, omv_error *e)
{
    (void)s, (void)r, (void)e;
    return OMV_OK;
}
static void t_close(void *s) { (void)s; }
static omv_status t_run(void *c, const struct omv_host *h, omv_error *e)
{
    (void)c, (void)h, (void)e;
    return OMV_OK;
}

static const struct omv_transport_ops ops = {
#ifdef VARIANT_NULLOPS
    .list = NULL,
    .open = NULL,
#else
    .list = t_list,
    .open = t_open,
#endif
    .partitions = t_parts,
    .write = t_write,
    .finish = t_finish,
    .close = t_close,
};
static const struct omv_action_ops aops = {.run = t_run};

static const char *const modes[] = {"fast", "slow", NULL};

static const struct omv_option_spec options[] = {
#ifdef VARIANT_BADSPEC
    {"speed", OMV_OPT_UINT, "1", "a number", 0, 0, modes, 0},
#else
    {"speed", OMV_OPT_UINT, "1", "a number", 1, 100, NULL, 0},
#endif
    {"mode", OMV_OPT_STRING, "fast", "a word", 0, 0, modes, 0},
    {"safe", OMV_OPT_BOOL, "yes", "a flag", 0, 0, NULL, 0},
    {NULL, 0, NULL, NULL, 0, 0, NULL, 0},
};

static const struct omv_shorthand shorthands[] = {
#ifdef VARIANT_BADSHORT
    {"turbo", "turbo", "X", "names no option"},
#else
    {"speed", "speed", "N", "a number"},
#endif
    {NULL, NULL, NULL, NULL},
};

static const struct omv_plugin desc = {
#ifdef VARIANT_BADABI
    .abi_version = 1,
#else
    .abi_version = OMV_PLUGIN_ABI_VERSION,
#endif
#ifdef VARIANT_SMALL
    .size = 16,
#else
    .size = sizeof(struct omv_plugin),
#endif
    .name = PLUGIN_NAME,
    .version = "1",
    .description = "unit-test plugin",
    .shorthands = shorthands,
#ifdef VARIANT_ACTION
    .kind = OMV_PLUGIN_ACTION,
    .options = options,
    .action = &aops,
#else
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = options,
    .transport = &ops,
#endif
};

#ifdef VARIANT_NOSYM
OMV_PLUGIN_EXPORT const struct omv_plugin *not_the_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *not_the_entry(void) { (void)aops; return &desc; }
#else
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { (void)aops; (void)ops; return &desc; }
#endif
