/*
 * What each step of a run does: write an image (the file as the plan checked
 * it, re-checked once written), verify it, read a partition into a file,
 * erase, run a board action.
 */
#include <stdlib.h>
#include <string.h>

#include "flash_run.h"

const struct omv_dev_partition *omvi_run_dev_find(const omvi_run *r, const char *name)
{
    for (size_t i = 0; i < r->n_dev; i++)
        if (strcmp(r->dev[i].name, name) == 0)
            return &r->dev[i];
    return NULL;
}

/* The board partition as the transport sees it, with its device partition's number. */
static struct omv_target target_of(const omvi_run *r, size_t part)
{
    struct omv_target t = r->h->targets[part];
    const struct omv_dev_partition *d = omvi_run_dev_find(r, t.name);
    t.index = d ? d->index : OMV_INDEX_NONE;
    return t;
}

/* A device error on a partition that a board action repairs (AE3: an
 * uninitialised MRAM refuses RWFS/ROMFS0 writes) names that action. */
static void suggest_recovery(omvi_run *r, size_t part)
{
    for (size_t i = 0; i < r->b->n_actions; i++) {
        const omvi_plugin_section *a = &r->b->actions[i];
        int ran = 0; /* no point suggesting an action this run already did */
        for (size_t j = 0; j < r->plan.n; j++)
            ran |= r->plan.steps[j].kind == OMVI_STEP_ACTION && r->plan.steps[j].part == i;
        for (size_t k = 0; !ran && k < a->recovers.n; k++) {
            if (a->recovers.index[k] != part)
                continue;
            size_t len = strlen(r->err->msg);
            snprintf(r->err->msg + len, sizeof r->err->msg - len,
                     "; if %s refuses every write, repair it with --action %s (see --list-actions)",
                     r->b->parts[part].name, a->title);
            return;
        }
    }
}

/* Write step @p s: the whole image, or (@p d) only the parts it lists. *sent: image bytes the transport sent. */
static omv_status write_image(omvi_run *r, const omvi_step *s, const struct omv_target *t, const omvi_diff *d,
                              uint64_t *sent)
{
    omvi_step_source src; /* a file or a release zip's entry, checked against the plan's SHA-256 */
    *sent = 0;
    omv_status st = omvi_step_source_open(&src, &r->plan, s, r->err);
    if (st != OMV_OK)
        return st;
    struct omv_write w = {.src = &src.src, .offset = s->offset};
    if (d && !(d->n == 1 && d->r[0].offset == 0 && d->r[0].length == s->size)) {
        w.ranges = d->r;
        w.n_ranges = d->n;
    }
    st = r->ops->write(r->session, t, &w, r->err);
    if (st == OMV_OK)
        st = omvi_step_source_finish(&src, r->err);
    omvi_step_source_close(&src);
    *sent = w.written;
    return st;
}

static void emit_compared(const omvi_run *r, const omvi_step *s, const struct omv_target *t, uint64_t differ)
{
    omv_event ev = {.type = OMV_EV_COMPARED, .step = "write", .partition = t->name, .file = s->path,
                    .total = s->size, .done = differ, .skipped = s->size - differ, .index = r->h->index,
                    .count = r->h->count};
    omvi_emit(r->cb, &ev);
}

/* --skip-unchanged: compare, then write what differs (nothing when nothing
 * does). A transport that cannot write parts of this partition (say, its
 * erase units are unknown) refuses before sending anything: written whole. */
static omv_status write_changed(omvi_run *r, const omvi_step *s, const struct omv_target *t, uint64_t *sent)
{
    omvi_step_source src;
    omvi_diff d = {0};
    *sent = 0;
    omv_status st = omvi_step_source_open(&src, &r->plan, s, r->err);
    if (st == OMV_OK) {
        st = omvi_run_compare(r, s, t, &src.src, &d);
        if (st == OMV_OK)
            st = omvi_step_source_finish(&src, r->err);
        omvi_step_source_close(&src);
    }
    if (st == OMV_OK)
        emit_compared(r, s, t, omvi_diff_bytes(&d));
    if (st == OMV_OK && d.n) {
        st = write_image(r, s, t, &d, sent);
        if (st == OMV_E_UNSUPPORTED && *sent == 0 && omvi_diff_bytes(&d) < s->size) {
            omvi_log(r->cb, OMV_LOG_WARN, "%s: %s; writing all of %s", t->name, r->err->msg, s->path);
            st = write_image(r, s, t, NULL, sent);
        }
    }
    omvi_diff_free(&d);
    return st;
}

static omv_status do_write(omvi_run *r, const omvi_step *s)
{
    struct omv_target t = target_of(r, s->part);
    uint64_t sent = 0;
    int compare = r->req->skip_unchanged && t.readable && r->ops->read;
    omv_status st = compare ? write_changed(r, s, &t, &sent) : write_image(r, s, &t, NULL, &sent);
    r->step_skipped = st == OMV_OK && sent < s->size ? s->size - sent : 0;
    if (st != OMV_OK)
        omv_error_prefix(r->err, "write %s (%s)", t.name, s->path);
    if (st == OMV_E_DEVICE)
        suggest_recovery(r, s->part);
    return st;
}

/* A zip entry is compared as it is streamed from the archive. */
static omv_status verify_entry(omvi_run *r, const omvi_step *s, struct omv_target *t)
{
    omvi_compare_sink sink;
    omv_status st = omvi_compare_sink_open(&sink, &r->plan, s, r->err);
    if (st == OMV_OK) {
        st = r->ops->read(r->session, t, s->offset, s->size, &sink.sink, r->err);
        if (st == OMV_OK)
            st = omvi_compare_sink_finish(&sink, r->err);
        omvi_compare_sink_close(&sink);
    }
    return st;
}

static omv_status do_verify(omvi_run *r, const omvi_step *s)
{
    struct omv_target t = target_of(r, s->part);
    if (s->entry) {
        omv_status st = verify_entry(r, s, &t);
        return st == OMV_OK ? st : omv_error_prefix(r->err, "verify %s (%s)", t.name, s->path);
    }
    omvi_verify_sink sink;
    omv_status st = omvi_verify_sink_open(&sink, s->path, &s->snap, s->image_offset, s->size, r->err);
    if (st == OMV_OK) {
        st = r->ops->read(r->session, &t, s->offset, s->size, &sink.sink, r->err);
        if (st == OMV_OK)
            st = omvi_verify_sink_finish(&sink, r->err);
        omvi_verify_sink_close(&sink);
    }
    if (st != OMV_OK)
        omv_error_prefix(r->err, "verify %s (%s)", t.name, s->path);
    return st;
}

static omv_status do_read(omvi_run *r, const omvi_step *s)
{
    struct omv_target t = target_of(r, s->part);
    omvi_file_sink sink;
    omv_status st = omvi_file_sink_open(&sink, s->path, r->err);
    if (st == OMV_OK) {
        st = r->ops->read(r->session, &t, 0, s->size, &sink.sink, r->err);
        if (st == OMV_OK && sink.written != s->size)
            st = omv_error_set(r->err, OMV_E_IO, "device returned %llu of %llu bytes",
                               (unsigned long long)sink.written, (unsigned long long)s->size);
        if (st == OMV_OK)
            st = omvi_file_sink_commit(&sink, r->err);
        omvi_file_sink_abort(&sink); /* removes the temporary file unless committed */
    }
    if (st != OMV_OK)
        omv_error_prefix(r->err, "read %s into %s", t.name, s->path);
    return st;
}

/* --erase-filesystem: the transport knows how its bootloader erases. */
static omv_status do_erase(omvi_run *r, const omvi_step *s)
{
    struct omv_target t = target_of(r, s->part);
    omv_status st = r->ops->erase(r->session, &t, r->err);
    if (st != OMV_OK)
        omv_error_prefix(r->err, "erase %s", t.name);
    return st;
}

static omv_status do_action(omvi_run *r, const omvi_step *s)
{
    const omvi_plugin_section *a = &r->b->actions[s->part];
    omvi_bplugin *bp = &r->actions[s->part];
    omvi_host *ah = &bp->h;
    omvi_host_enable_partition_write(ah, r->ops, r->session, r->dev, r->n_dev);
    ah->step = r->h->step;
    ah->partition = a->title;
    ah->index = r->h->index;
    ah->count = r->h->count;
    omv_status st = bp->p.desc->action->run(bp->ctx, &ah->host, r->err);
    if (st != OMV_OK)
        omv_error_prefix(r->err, "action %s", a->title);
    return st;
}

omv_status omvi_run_step(omvi_run *r, const omvi_step *s)
{
    switch (s->kind) {
    case OMVI_STEP_WRITE: return do_write(r, s);
    case OMVI_STEP_VERIFY: return do_verify(r, s);
    case OMVI_STEP_READ: return do_read(r, s);
    case OMVI_STEP_ERASE: return do_erase(r, s);
    case OMVI_STEP_ACTION: return do_action(r, s);
    case OMVI_STEP_RESET: break;
    }
    return omv_error_set(r->err, OMV_E_FAILED, "internal error: step %s run as a plain step", omvi_step_name(s->kind));
}
