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
        omvi_bplugin p;
        omv_status st = omvi_action_load(&p, b, i, plugin_dir, NULL, NULL, err);
        if (st != OMV_OK) {
            omvi_bplugin_close(&p);
            return st;
        }
        char restores[512] = "";
        for (size_t k = 0; k < a->restore.n; k++)
            omvi_join_add(restores, sizeof restores, a->restore.names[k]);
        found(user, a->title, a->plugin, p.p.desc->description ? p.p.desc->description : "", restores);
        omvi_bplugin_close(&p);
    }
    return OMV_OK;
}
