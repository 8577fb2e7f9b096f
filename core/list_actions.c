/* omv_list_actions(): what a board's [action NAME] sections offer (--list-actions). */
#include <string.h>

#include "internal.h"

omv_status omv_list_actions(const omv_board *b, const char *plugin_dir,
                            void (*found)(void *user, const char *action, const char *plugin,
                                          const char *description, const char *restores),
                            void *user, omv_error *err)
{
    if (!b || !found)
        return omv_error_set(err, OMV_E_USAGE, "omv_list_actions: board and callback are required");
    for (size_t i = 0; i < b->n_actions; i++) {
        const omvi_plugin_section *a = &b->actions[i];
        char context[1200];
        snprintf(context, sizeof context, "%s:%d: action plugin '%s'", b->path, a->plugin_line, a->plugin);
        omvi_plugin p;
        omv_status st = omvi_plugin_load(a->plugin, OMV_PLUGIN_ACTION, plugin_dir, context, &p, err);
        if (st != OMV_OK)
            return st;
        char restores[512] = "";
        size_t off = 0;
        for (size_t k = 0; k < a->n_restore && off < sizeof restores; k++) {
            int n = snprintf(restores + off, sizeof restores - off, "%s%s", k ? ", " : "", a->restore_names[k]);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        found(user, a->title, a->plugin, p.desc->description ? p.desc->description : "", restores);
        omvi_plugin_unload(&p);
    }
    return OMV_OK;
}
