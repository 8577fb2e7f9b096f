/*
 * Small test plugins, one per variant (compiled with -DVARIANT_<X>): good,
 * wrong ABI version, no entry symbol, a name different from the file's,
 * NULL operations, too-small descriptor, and an action plugin.
 */
#include <omvflash/plugin.h>

__attribute__((unused)) static omv_status t_list(const struct omv_host *h, const struct omv_match *m, omv_device_found_fn f,
                         void *u, omv_error *e)
{
    (void)h, (void)m, (void)f, (void)u, (void)e;
    return OMV_OK;
}
__attribute__((unused)) static omv_status t_open(const struct omv_host *h, const struct omv_match *m, uint32_t w, void **s,
                         struct omv_device_info *i, omv_error *e)
{
    (void)h, (void)m, (void)w, (void)s, (void)i;
    return omv_error_set(e, OMV_E_NO_DEVICE, "test plugin has no device");
}
static omv_status t_parts(void *s, struct omv_dev_partition *o, size_t m, size_t *c, omv_error *e)
{
    (void)s, (void)o, (void)m, (void)e;
    *c = 0;
    return OMV_OK;
}
static omv_status t_write(void *s, const struct omv_target *t, const struct omv_source *src,
                          omv_error *e)
{
    (void)s, (void)t, (void)src, (void)e;
    return OMV_OK;
}
static omv_status t_finish(void *s, int r, omv_error *e)
{
    (void)s, (void)r, (void)e;
    return OMV_OK;
}
static void t_close(void *s) { (void)s; }
static omv_status t_run(const struct omv_host *h, omv_error *e)
{
    (void)h, (void)e;
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

static const struct omv_option_spec options[] = {
    {"speed", OMV_OPT_UINT, "1", "a number"},
    {"mode", OMV_OPT_STRING, "fast", "a word"},
    {"safe", OMV_OPT_BOOL, "yes", "a flag"},
    {NULL, 0, NULL, NULL},
};

static const struct omv_plugin desc = {
#ifdef VARIANT_BADABI
    .abi_version = 2,
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
