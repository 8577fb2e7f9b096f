/*
 * The plan: which partition gets which file, in which order (explicit
 * images, or the board's flash_order in a firmware dir, optionally restricted
 * by firmware.lst), which partitions are read into files, and the checks on
 * every image before any device is touched.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "release.h"

const char *omvi_step_name(omvi_step_kind k)
{
    switch (k) {
    case OMVI_STEP_WRITE: return "write";
    case OMVI_STEP_VERIFY: return "verify";
    case OMVI_STEP_READ: return "read";
    case OMVI_STEP_RESET: return "reset";
    case OMVI_STEP_ERASE: return "erase";
    case OMVI_STEP_ACTION: return "action";
    }
    return "?";
}

const char *omvi_image_check_name(omvi_image_check c)
{
    switch (c) {
    case OMVI_CHECK_ARCH: return "arch";
    case OMVI_CHECK_UNCHECKED: return "unchecked";
    case OMVI_CHECK_FORCED: return "forced";
    case OMVI_CHECK_NONE: break;
    }
    return NULL;
}

omv_status omvi_step_copy_image(omvi_step *to, const omvi_step *from, omv_error *err)
{
    free(to->entry);
    to->entry = NULL;
    if (from->entry && !(to->entry = omvi_strdup(from->entry)))
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    memcpy(to->sha256, from->sha256, sizeof to->sha256);
    to->check = from->check;
    return OMV_OK;
}

void omvi_plan_free(omvi_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].path);
        free(p->steps[i].entry);
    }
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
    omvi_release_close(p->release);
    p->release = NULL;
    p->folder = NULL;
}

omv_status omvi_plan_add(omvi_plan *p, omvi_step_kind k, size_t part, const char *path, uint64_t size,
                         omv_error *err)
{
    omvi_step *s = realloc(p->steps, (p->n + 1) * sizeof *s);
    if (!s)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    p->steps = s;
    s = &p->steps[p->n];
    s->kind = k;
    s->part = part;
    s->size = size;
    s->path = NULL;
    s->offset = 0;
    s->image_offset = 0;
    s->for_device.vid = s->for_device.pid = 0;
    s->missing = 0;
    memset(&s->snap, 0, sizeof s->snap);
    s->entry = NULL;
    s->sha256[0] = '\0';
    s->check = OMVI_CHECK_NONE;
    if (path && !(s->path = omvi_strdup(path)))
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    p->n++;
    return OMV_OK;
}

static char *join_path(const char *dir, const char *file)
{
    size_t dl = strlen(dir), fl = strlen(file);
    int slash = dl > 0 && dir[dl - 1] == '/';
    char *s = malloc(dl + fl + 2);
    if (s)
        snprintf(s, dl + fl + 2, "%s%s%s", dir, slash ? "" : "/", file);
    return s;
}

/* A planned write before it becomes steps. */
typedef struct wr {
    size_t part;
    char *path;
    char *entry;  /* see omvi_step.entry */
    int missing;  /* see omvi_step.missing */
} wr;

typedef struct wlist {
    wr *v;
    size_t n;
} wlist;

static void wlist_free(wlist *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->v[i].path);
        free(w->v[i].entry);
    }
    free(w->v);
}

static omv_status wlist_add(wlist *w, size_t part, char *path_owned, omv_error *err)
{
    wr *v = realloc(w->v, (w->n + 1) * sizeof *v);
    if (!v || !path_owned) {
        free(path_owned);
        if (v)
            w->v = v;
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    w->v = v;
    w->v[w->n].part = part;
    w->v[w->n].path = path_owned;
    w->v[w->n].entry = NULL;
    w->v[w->n].missing = 0;
    w->n++;
    return OMV_OK;
}

static int wlist_has(const wlist *w, size_t part)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].part == part)
            return 1;
    return 0;
}

static omv_status explicit_images(const omv_board *b, const omv_request *req, wlist *w,
                                  omv_error *err)
{
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; i < req->n_images; i++) {
        const omv_image_spec *s = &req->images[i];
        if (!s->partition || !s->path || !*s->path)
            return omv_error_set(err, OMV_E_USAGE, "image %zu: partition and file are required",
                                 i + 1);
        long idx = omvi_board_find(b, s->partition);
        if (idx < 0)
            return omv_error_set(err, OMV_E_USAGE, "%s has no partition '%s' (partitions: %s)",
                                 b->name, s->partition, names);
        if (b->parts[idx].info.read_only)
            return omv_error_set(err, OMV_E_READONLY,
                                 "partition %s is read-only: refusing to write %s to it",
                                 s->partition, s->path);
        if (wlist_has(w, (size_t)idx))
            return omv_error_set(err, OMV_E_USAGE, "partition %s is given more than one image",
                                 s->partition);
        omv_status st = wlist_add(w, (size_t)idx, omvi_strdup(s->path), err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

static omv_status firmware_files(const omv_board *b, const char *dir, wlist *w, omv_error *err)
{
    char eb[128];
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "firmware directory %s: %s", dir,
                             omvi_strerror(errno, eb, sizeof eb));
    if (!S_ISDIR(sb.st_mode))
        return omv_error_set(err, OMV_E_IMAGE, "firmware directory %s: not a directory", dir);
    if (b->firmware_list) {
        char *lst = join_path(dir, b->firmware_list);
        if (!lst)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        if (lstat(lst, &sb) == 0) {
            size_t *parts = calloc(b->n_parts ? b->n_parts : 1, sizeof *parts), n = 0;
            omv_status st = parts ? omvi_firmware_list(b, dir, lst, parts, &n, err)
                                  : omv_error_set(err, OMV_E_NOMEM, "out of memory");
            for (size_t i = 0; st == OMV_OK && i < n; i++)
                st = wlist_add(w, parts[i], join_path(dir, b->parts[parts[i]].image), err);
            free(parts);
            free(lst);
            return st;
        }
        free(lst);
    }
    for (size_t i = 0; i < b->flash_order.n; i++) {
        size_t p = b->flash_order.index[i];
        char *path = join_path(dir, b->parts[p].image);
        if (!path)
            return omv_error_set(err, OMV_E_NOMEM, "out of memory");
        if (stat(path, &sb) != 0 && errno == ENOENT && omvi_board_part_optional(b, p)) {
            /* e.g. no romfs0.img in a legacy-era release: fine if the legacy
             * bootloader answers; checked again once we know (flash.c). */
            omv_status st = wlist_add(w, p, path, err);
            if (st == OMV_OK)
                w->v[w->n - 1].missing = 1;
            if (st != OMV_OK)
                return st;
            continue;
        }
        if (stat(path, &sb) != 0) {
            omv_status st = omv_error_set(
                err, OMV_E_IMAGE,
                "%s (image of partition %s): %s; to flash only some partitions, give them as "
                "--image NAME=FILE",
                path, b->parts[p].name, omvi_strerror(errno, eb, sizeof eb));
            free(path);
            return st;
        }
        omv_status st = wlist_add(w, p, path, err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

/* One image of a release zip (release_plan.c). */
static omv_status add_release_image(void *user, size_t part, const char *path, const char *entry, int missing,
                                    omv_error *err)
{
    wlist *w = user;
    omv_status st = wlist_add(w, part, omvi_strdup(path), err);
    if (st == OMV_OK && entry && !(w->v[w->n - 1].entry = omvi_strdup(entry)))
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    if (st == OMV_OK)
        w->v[w->n - 1].missing = missing;
    return st;
}

/* --firmware DIR|ZIP: a zip's images are listed by release_plan.c; a
 * directory's (its board folder, when it has one) are files as before. */
static omv_status firmware_dir(const omv_board *b, const char *fw, omvi_plan *out, wlist *w, omv_error *err)
{
    char *dir = NULL;
    omv_status st = omvi_release_plan(b, fw, out, &dir, add_release_image, w, err);
    if (st == OMV_OK && dir)
        st = firmware_files(b, dir, w, err);
    free(dir);
    return st;
}

/* Step 2: exists, regular, readable, not empty, fits; its identity (device,
 * inode, size, mtime) is what the write checks again when it opens it and
 * when it is done (a file still being downloaded or rewritten is caught). */
static omv_status check_image(const omv_board *b, const omvi_plan *plan, const wr *v, omvi_file_id *snap,
                              uint64_t *size_out, omv_error *err)
{
    size_t part = v->part;
    const char *pn = b->parts[part].name, *path = v->path;
    char what[96];
    snprintf(what, sizeof what, " (image for %s)", pn);
    uint64_t size = 0;
    omv_status st = OMV_OK;
    if (v->entry) { /* snap is then the archive's: the entry's size is its own */
        st = omvi_release_stat(plan->release, plan->folder, v->entry, &size, snap, err);
    } else {
        int fd;
        st = omvi_open_input(path, what, 0, OMV_E_IMAGE, &fd, snap, err);
        if (st == OMV_OK)
            close(fd);
        size = snap->size;
    }
    if (st != OMV_OK)
        return st;
    *size_out = size;
    if (size == 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s (image for %s) is empty", path, pn);
    if (size > b->parts[part].info.size)
        return omv_error_set(err, OMV_E_IMAGE, "%s is %llu bytes but partition %s holds %llu",
                             path, (unsigned long long)size, pn,
                             (unsigned long long)b->parts[part].info.size);
    return OMV_OK;
}

/* --erase-filesystem: the transport's erase() of the filesystem partition. */
static omv_status erase_step(const omv_board *b, omvi_plan *out, omv_error *err)
{
    if (b->filesystem < 0)
        return omv_error_set(err, OMV_E_USAGE, "%s declares no filesystem partition ([board] filesystem)",
                             b->path);
    return omvi_plan_add(out, OMVI_STEP_ERASE, (size_t)b->filesystem, NULL, 0, err);
}

static omv_status action_steps(const omv_board *b, const omv_request *req, omvi_plan *out,
                               omv_error *err)
{
    for (size_t i = 0; i < req->n_actions; i++) {
        const char *name = req->actions[i];
        size_t k;
        for (k = 0; k < b->n_actions; k++)
            if (name && strcmp(b->actions[k].title, name) == 0)
                break;
        if (k == b->n_actions) {
            char list[512] = "";
            for (size_t j = 0; j < b->n_actions; j++)
                omvi_join_add(list, sizeof list, b->actions[j].title);
            return omv_error_set(err, OMV_E_USAGE, "%s has no action '%s' (actions: %s)", b->name,
                                 name ? name : "", b->n_actions ? list : "none");
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->actions[j], name) == 0)
                return omv_error_set(err, OMV_E_USAGE, "action '%s' is requested twice", name);
        omv_status st = omvi_plan_add(out, OMVI_STEP_ACTION, k, NULL, 0, err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

/* The partitions the requested actions leave blank are written again: from
 * an explicit image when one was given, else the board's image in the
 * firmware dir (the current directory when none was named). */
static omv_status restore_images(const omv_board *b, const omv_request *req, wlist *w, omv_error *err)
{
    const char *dir = req->firmware_dir ? req->firmware_dir : ".";
    for (size_t i = 0; i < req->n_actions; i++) {
        const omvi_plugin_section *a = NULL;
        for (size_t k = 0; k < b->n_actions; k++)
            if (strcmp(b->actions[k].title, req->actions[i]) == 0)
                a = &b->actions[k];
        for (size_t r = 0; a && r < a->restore.n; r++) {
            size_t p = a->restore.index[r];
            if (wlist_has(w, p))
                continue;
            const char *image = b->parts[p].image;
            char eb[128];
            struct stat sb;
            char *path = image ? join_path(dir, image) : NULL;
            if (!image || stat(path, &sb) != 0) {
                omv_status st = omv_error_set(
                    err, OMV_E_IMAGE,
                    "action %s restores partition %s afterwards, but %s%s%s: give --image %s=FILE, "
                    "--firmware DIR, or --no-restore",
                    a->title, b->parts[p].name, image ? path : "the board names no image for it",
                    image ? ": " : "", image ? omvi_strerror(errno, eb, sizeof eb) : "", b->parts[p].name);
                free(path);
                return st;
            }
            omv_status st = wlist_add(w, p, path, err);
            if (st != OMV_OK)
                return st;
        }
    }
    return OMV_OK;
}

/* Writes (and verifies) of the images in @p w, each image checked and its
 * identity kept; an image that is also a --read output is refused. */
static omv_status write_steps(const omv_board *b, const omv_request *req, const wlist *w,
                              const omvi_output_id *outs, omvi_plan *out, omv_error *err)
{
    omv_status st = OMV_OK;
    for (size_t i = 0; st == OMV_OK && i < w->n; i++) {
        const wr *v = &w->v[i];
        if (v->missing) {
            st = omvi_plan_add(out, OMVI_STEP_WRITE, v->part, v->path, 0, err);
            if (st == OMV_OK)
                out->steps[out->n - 1].missing = 1;
            continue;
        }
        omvi_file_id snap;
        uint64_t size = 0;
        st = check_image(b, out, v, &snap, &size, err);
        for (size_t r = 0; st == OMV_OK && r < req->n_reads; r++)
            if (omvi_output_is_input(&outs[r], &snap))
                st = omv_error_set(err, OMV_E_USAGE,
                                   "%s is the image for %s and also the output of --read %s=%s: reading "
                                   "would replace it before it is written",
                                   v->path, b->parts[v->part].name, req->reads[r].partition, req->reads[r].path);
        if (st == OMV_OK)
            st = omvi_plan_add(out, OMVI_STEP_WRITE, v->part, v->path, size, err);
        if (st == OMV_OK)
            out->steps[out->n - 1].snap = snap;
        if (st == OMV_OK && v->entry && !(out->steps[out->n - 1].entry = omvi_strdup(v->entry)))
            st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
        if (st == OMV_OK && req->verify && b->parts[v->part].info.readable) {
            st = omvi_plan_add(out, OMVI_STEP_VERIFY, v->part, v->path, size, err);
            if (st == OMV_OK)
                out->steps[out->n - 1].snap = snap;
            if (st == OMV_OK)
                st = omvi_step_copy_image(&out->steps[out->n - 1], &out->steps[out->n - 2], err);
        }
    }
    return st;
}

omv_status omvi_plan_resolve(const omv_board *b, const omv_request *req, omvi_plan *out,
                             omv_error *err)
{
    out->steps = NULL;
    out->n = 0;
    out->release = NULL;
    out->folder = NULL;
    wlist w = {0};
    if (req->n_images > 0 && !req->images)
        return omv_error_set(err, OMV_E_USAGE, "n_images is set but images is NULL");
    if (req->n_reads > 0 && !req->reads)
        return omv_error_set(err, OMV_E_USAGE, "n_reads is set but reads is NULL");
    if (req->n_actions > 0 && !req->actions)
        return omv_error_set(err, OMV_E_USAGE, "n_actions is set but actions is NULL");
    omvi_output_id *outs = calloc(req->n_reads ? req->n_reads : 1, sizeof *outs);
    if (!outs)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    /* Reads first, before any action, erase or write: what --read saves is
     * what the camera held when the run began (--read P=backup --image
     * P=new keeps the old contents). */
    omv_status st = omvi_plan_reads(b, req, out, outs, err);
    if (st == OMV_OK && req->n_actions > 0)
        st = action_steps(b, req, out, err);
    if (st == OMV_OK && req->erase_filesystem)
        st = erase_step(b, out, err);
    if (st == OMV_OK && req->n_images > 0)
        st = explicit_images(b, req, &w, err);
    /* With actions, a firmware dir only supplies the images to restore. */
    if (st == OMV_OK && req->n_actions > 0 && !req->no_restore)
        st = restore_images(b, req, &w, err);
    else if (st == OMV_OK && req->n_actions == 0 && req->n_images == 0 && req->firmware_dir)
        st = firmware_dir(b, req->firmware_dir, out, &w, err);
    if (st == OMV_OK && w.n == 0 && out->n == 0)
        st = omv_error_set(err, OMV_E_USAGE,
                           "nothing to do: give a firmware directory, images (NAME=FILE) or "
                           "partitions to read");
    if (st == OMV_OK)
        st = write_steps(b, req, &w, outs, out, err);
    if (st == OMV_OK)
        st = omvi_plan_check_images(b, req, out, err);
    if (st == OMV_OK && !req->no_reset)
        st = omvi_plan_add(out, OMVI_STEP_RESET, 0, NULL, 0, err);
    wlist_free(&w);
    free(outs);
    if (st != OMV_OK)
        omvi_plan_free(out);
    return st;
}
