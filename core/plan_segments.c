/*
 * Container images: a transport may own an image format holding several
 * pieces, each for its own place (omv_transport_ops.segments). Before any
 * device is opened every planned image is shown to the transports that have
 * the op; a container's write (and verify) becomes one step per segment,
 * each checked to fit a writable partition. The core knows no format.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Most segments one container may hold. */
#define SEG_MAX 64

typedef struct seg_list {
    struct omv_segment v[SEG_MAX];
    size_t n;
    struct omv_usb_id device;
} seg_list;

/* Ask every transport with the op about image @p s. *n = 0: a plain image. */
static omv_status find_segments(const omvi_plan *plan, const omvi_step *s, const omvi_plugin_set *set, seg_list *out,
                                omv_error *err)
{
    out->n = 0;
    for (size_t t = 0; t < set->nt && !out->n; t++) {
        const struct omv_transport_ops *ops = set->t[t].p.desc->transport;
        if (!ops->segments)
            continue;
        omvi_step_source src;
        omv_status st = omvi_step_source_open(&src, plan, s, err);
        if (st != OMV_OK)
            return st;
        memset(&out->device, 0, sizeof out->device);
        st = ops->segments(set->t[t].ctx, &set->t[t].h.host, &src.src, out->v, SEG_MAX, &out->n, &out->device, err);
        omvi_step_source_close(&src);
        if (st != OMV_OK) {
            out->n = 0;
            return omv_error_prefix(err, "%s (%s)", s->path, set->b->transports[t]);
        }
        if (out->n > SEG_MAX)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "%s: more than %d segments", s->path, SEG_MAX);
    }
    return OMV_OK;
}

/* Every segment inside a writable partition and inside the image. */
static omv_status check_segments(const omvi_step *s, const omv_board *b, const seg_list *l, size_t *parts,
                                 omv_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct omv_segment *g = &l->v[i];
        long idx = omvi_board_find(b, g->partition);
        if (idx < 0)
            return omv_error_set(err, OMV_E_IMAGE, "%s: segment %zu goes to partition '%s', which %s does not have",
                                 s->path, i + 1, g->partition, b->name);
        const omv_partition_info *p = &b->parts[idx].info;
        if (p->read_only)
            return omv_error_set(err, OMV_E_READONLY, "%s: segment %zu goes to read-only partition %s", s->path, i + 1,
                                 p->name);
        if (!g->length || g->offset > p->size || g->length > p->size - g->offset)
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s: segment %zu (%llu bytes at offset 0x%llX) does not fit partition %s (%llu bytes)",
                                 s->path, i + 1, (unsigned long long)g->length, (unsigned long long)g->offset,
                                 p->name, (unsigned long long)p->size);
        if (g->image_offset > s->size || g->length > s->size - g->image_offset)
            return omv_error_set(err, OMV_E_IMAGE, "%s: segment %zu lies outside the file", s->path, i + 1);
        parts[i] = (size_t)idx;
    }
    return OMV_OK;
}

/* One step per segment of kind @p kind into @p out. */
static omv_status add_steps(omvi_plan *out, omvi_step_kind kind, const omvi_step *s, const seg_list *l,
                            const size_t *parts, const omv_board *b, omv_error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        if (kind == OMVI_STEP_VERIFY && !b->parts[parts[i]].info.readable)
            continue;
        omv_status st = omvi_plan_add(out, kind, parts[i], s->path, l->v[i].length, err);
        if (st != OMV_OK)
            return st;
        omvi_step *n = &out->steps[out->n - 1];
        n->snap = s->snap;
        st = omvi_step_copy_image(n, s, err);
        if (st != OMV_OK)
            return st;
        n->offset = l->v[i].offset;
        n->image_offset = l->v[i].image_offset;
        n->for_device = l->device;
    }
    return OMV_OK;
}

/* Step @p s of @p in, expanded into @p out when it is a container's write or verify. */
static omv_status expand(const omvi_plan *in, size_t i, omvi_plan *out, const omv_board *b, const omvi_plugin_set *set,
                         omv_error *err)
{
    const omvi_step *s = &in->steps[i];
    seg_list *l = NULL;
    size_t parts[SEG_MAX];
    omv_status st = OMV_OK;
    if ((s->kind == OMVI_STEP_WRITE || s->kind == OMVI_STEP_VERIFY) && !s->missing) {
        if (!(l = malloc(sizeof *l)))
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        st = find_segments(in, s, set, l, err);
        if (st == OMV_OK && l->n)
            st = check_segments(s, b, l, parts, err);
    }
    if (st == OMV_OK && l && l->n) {
        st = add_steps(out, s->kind, s, l, parts, b, err);
    } else if (st == OMV_OK) {
        st = omvi_plan_add(out, s->kind, s->part, s->path, s->size, err);
        if (st == OMV_OK) {
            omvi_step *n = &out->steps[out->n - 1];
            char *path = n->path;
            *n = *s;
            n->path = path;
            n->entry = NULL;
            st = omvi_step_copy_image(n, s, err);
        }
    }
    free(l);
    return st;
}

omv_status omvi_plan_segments(omvi_plan *plan, const omv_board *b, const omvi_plugin_set *set, omv_error *err)
{
    int any = 0;
    for (size_t t = 0; t < set->nt; t++)
        any |= set->t[t].p.desc->transport->segments != NULL;
    if (!any)
        return OMV_OK;
    omvi_plan out = {0};
    omv_status st = OMV_OK;
    out.folder = plan->folder;
    for (size_t i = 0; st == OMV_OK && i < plan->n; i++)
        st = expand(plan, i, &out, b, set, err);
    if (st != OMV_OK) {
        omvi_plan_free(&out);
        return st;
    }
    out.release = plan->release; /* the zip the entries are in stays open */
    plan->release = NULL;
    omvi_plan_free(plan);
    *plan = out;
    return OMV_OK;
}
