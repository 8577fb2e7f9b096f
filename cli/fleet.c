/* Production-line extras of a run: --slots, --slot, --report (see fleet.h). */
#include "cli_text.h"
#include "fleet.h"

#include <stdio.h>
#include <string.h>

/* --slot NAME -> its port path, or a usage error listing the slots. */
static omv_status resolve_slot(struct cli_opts *o, const omv_slots *slots, omv_error *err)
{
    o->port = omv_slots_port(slots, o->slot);
    if (o->port)
        return OMV_OK;
    char names[512] = "";
    for (size_t i = 0; i < omv_slots_count(slots); i++)
        cli_join_add(names, sizeof names, omv_slots_name_at(slots, i));
    return omv_error_set(err, OMV_E_USAGE, "--slot %s: %s names no such slot (it has: %s)", o->slot, o->slots_file,
                         names);
}

omv_status cli_fleet_open(struct cli_opts *o, struct cli_fleet *f, omv_error *err)
{
    memset(f, 0, sizeof *f);
    omv_status st = OMV_OK;
    if (o->slots_file) {
        omv_slots *slots = NULL;
        st = omv_slots_load(o->slots_file, &slots, err);
        f->slots = slots;
        if (st == OMV_OK && o->slot)
            st = resolve_slot(o, slots, err);
    }
    if (st == OMV_OK && o->report_file)
        st = report_open(o->report_file, &f->report, err);
    if (st != OMV_OK)
        cli_fleet_close(f);
    return st;
}

void cli_fleet_set_board(struct cli_fleet *f, const omv_board *board)
{
    record_meta_init(&f->meta, board);
}

omv_status cli_fleet_record_event(struct cli_fleet *f, struct camera_record *rec, const omv_event *ev,
                                  omv_error *err)
{
    camera_record_event(rec, ev, f->slots);
    if (ev->type != OMV_EV_FINISHED || !f->report)
        return OMV_OK;
    return camera_record_append(rec, &f->meta, f->report, err);
}

void cli_fleet_close(struct cli_fleet *f)
{
    omv_slots_free((omv_slots *)f->slots);
    report_close(f->report);
    memset(f, 0, sizeof *f);
}
