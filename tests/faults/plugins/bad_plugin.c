/*
 * Broken transport plugins for the fault matrix (tests/faults/matrix.tsv),
 * built into a test-only directory, never the real plugin dir. One source,
 * one variant per -D:
 *   FAULT_BADABI  descriptor says abi_version 1 (a plugin built for ABI 1; the core speaks 2)
 *   FAULT_NOSYM   exports a function, but not omv_plugin_entry
 * Nothing here may ever reach a device: the core must refuse the plugin
 * while loading it.
 */
#include <omvflash/plugin.h>

static omv_status t_list(void *c, const struct omv_host *h, const struct omv_match *m, omv_device_found_fn f,
                         void *u, omv_error *e)
{
    (void)c, (void)h, (void)m, (void)f, (void)u;
    return omv_error_set(e, OMV_E_FAILED, "fault-matrix plugin must never be called");
}
static omv_status t_open(void *c, const struct omv_host *h, const struct omv_match *m, void **s,
                         struct omv_device_info *i, omv_error *e)
{
    (void)c, (void)h, (void)m, (void)s, (void)i;
    return omv_error_set(e, OMV_E_FAILED, "fault-matrix plugin must never be called");
}
static omv_status t_parts(void *s, struct omv_dev_partition *o, size_t m, size_t *c, omv_error *e)
{
    (void)s, (void)o, (void)m, (void)c;
    return omv_error_set(e, OMV_E_FAILED, "fault-matrix plugin must never be called");
}
static omv_status t_write(void *s, const struct omv_target *t, struct omv_write *w, omv_error *e)
{
    (void)s, (void)t, (void)w;
    return omv_error_set(e, OMV_E_FAILED, "fault-matrix plugin must never be called");
}
static omv_status t_finish(void *s, int r, omv_error *e)
{
    (void)s, (void)r;
    return omv_error_set(e, OMV_E_FAILED, "fault-matrix plugin must never be called");
}
static void t_close(void *s) { (void)s; }

static const struct omv_transport_ops ops = {
    .list = t_list,
    .open = t_open,
    .partitions = t_parts,
    .write = t_write,
    .finish = t_finish,
    .close = t_close,
};

static const struct omv_plugin desc = {
#ifdef FAULT_BADABI
    .abi_version = 1,
#else
    .abi_version = OMV_PLUGIN_ABI_VERSION,
#endif
    .size = sizeof(struct omv_plugin),
    .name = PLUGIN_NAME,
    .version = "0",
    .description = "fault-matrix plugin (broken on purpose)",
    .kind = OMV_PLUGIN_TRANSPORT,
    .options = NULL,
    .transport = &ops,
};

#ifdef FAULT_NOSYM
OMV_PLUGIN_EXPORT const struct omv_plugin *not_the_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *not_the_entry(void) { return &desc; }
#else
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { return &desc; }
#endif
