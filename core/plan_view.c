/*
 * The run's plan as a transport's open() sees it (omv_host.run_plan): so a
 * bootloader that cannot do a step is refused before its state changes, and
 * a full flash skips what it cannot write with the transport's own reason.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static enum omv_run_op run_op(omvi_step_kind kind)
{
    switch (kind) {
    case OMVI_STEP_WRITE: return OMV_RUN_WRITE;
    case OMVI_STEP_ERASE: return OMV_RUN_ERASE;
    case OMVI_STEP_READ: return OMV_RUN_READ;
    case OMVI_STEP_VERIFY: return OMV_RUN_VERIFY;
    case OMVI_STEP_RESET:
    case OMVI_STEP_ACTION: break;
    }
    return (enum omv_run_op)0;
}

omv_status omvi_plan_view_build(omvi_plan_view *v, const omvi_plan *plan, const omv_board *b,
                                const omv_request *req, int full_flash, omv_error *err)
{
    memset(v, 0, sizeof *v);
    size_t cap = plan->n ? plan->n : 1;
    v->view.steps = calloc(cap, sizeof *v->view.steps);
    v->plan_index = calloc(cap, sizeof *v->plan_index);
    if (!v->view.steps || !v->plan_index) {
        omvi_plan_view_free(v);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    v->view.reset_at_end = !req->no_reset;
    for (size_t i = 0; i < plan->n; i++) {
        const omvi_step *s = &plan->steps[i];
        enum omv_run_op op = run_op(s->kind);
        if (!op)
            continue;
        struct omv_run_step *vs = &v->view.steps[v->view.n_steps];
        vs->op = op;
        vs->partition = b->parts[s->part].name;
        vs->file = op == OMV_RUN_ERASE ? NULL : s->path;
        vs->size = op == OMV_RUN_ERASE ? 0 : s->size;
        vs->optional = op == OMV_RUN_WRITE && full_flash;
        v->plan_index[v->view.n_steps++] = i;
    }
    return OMV_OK;
}

const char *omvi_plan_view_cannot(const omvi_plan_view *v, size_t plan_index)
{
    for (size_t k = 0; k < v->view.n_steps; k++)
        if (v->plan_index[k] == plan_index)
            return v->view.steps[k].cannot[0] ? v->view.steps[k].cannot : NULL;
    return NULL;
}

void omvi_plan_view_free(omvi_plan_view *v)
{
    free(v->view.steps);
    free(v->plan_index);
    memset(v, 0, sizeof *v);
}
