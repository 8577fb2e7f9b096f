/*
 * What a board made from a [profile NAME] adds to an omv_flash() run:
 * --dry-run names the profile, the bootloader it waits for and what the
 * user must do; writes to a partition the board keeps read-only and the
 * profile makes writable (a camera's own bootloader, written through its
 * chip's ROM bootloader) are asked for once, after every check of the plan
 * and before any device I/O, so a refusal costs nothing. A NULL or refusing
 * confirm callback stops the run with OMV_E_CANCELLED.
 */
#include <string.h>

#include "flash_run.h"

void omvi_run_profile_note(omvi_run *r)
{
    const omv_board *b = r->b;
    if (!b->profile)
        return;
    char ids[128] = "", transports[128] = "";
    for (size_t i = 0; i < b->n_boot_ids; i++) {
        char id[16];
        snprintf(id, sizeof id, "%04X:%04X", b->boot_ids[i].vid, b->boot_ids[i].pid);
        omvi_join_add(ids, sizeof ids, id);
    }
    omvi_join((const char *const *)b->transports, b->n_transports, transports, sizeof transports);
    omvi_log(r->cb, OMV_LOG_INFO, "profile %s: waits for %s (%s)%s%s", b->profile, ids, transports,
             b->wait_message ? ": " : "", b->wait_message ? b->wait_message : "");
}

omv_status omvi_run_confirm_guarded(omvi_run *r)
{
    const omv_board *b = r->b;
    char parts[512] = "", names[256] = "";
    for (size_t i = 0; i < r->plan.n; i++) {
        const omvi_step *s = &r->plan.steps[i];
        if (s->kind != OMVI_STEP_WRITE || !b->parts[s->part].guarded)
            continue;
        char item[300];
        snprintf(item, sizeof item, "%s (%s, %llu bytes)", b->parts[s->part].name, s->path,
                 (unsigned long long)s->size);
        omvi_join_add(parts, sizeof parts, item);
        omvi_join_add(names, sizeof names, b->parts[s->part].name);
    }
    if (!parts[0])
        return OMV_OK;
    char what[1024];
    snprintf(what, sizeof what,
             "profile %s writes %s of %s, which is read-only otherwise: if the write is interrupted or the image is "
             "not this camera's, it does not start until it is recovered again",
             b->profile ? b->profile : "(none)", parts, b->name);
    omv_event ev = {.type = OMV_EV_CONFIRM, .message = what};
    omvi_emit(r->cb, &ev);
    if (r->cb && r->cb->confirm && r->cb->confirm(r->cb->user, what))
        return OMV_OK;
    return omv_error_set(r->err, OMV_E_CANCELLED, "writing %s not confirmed (pass --yes to write it unattended)",
                         names);
}
