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

void omvi_plan_free(omvi_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->steps[i].path);
    free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

static omv_status add_step(omvi_plan *p, omvi_step_kind k, size_t part, const char *path,
                           uint64_t size, omv_error *err)
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
    s->missing = 0;
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
    int missing;  /* see omvi_step.missing */
} wr;

typedef struct wlist {
    wr *v;
    size_t n;
} wlist;

static void wlist_free(wlist *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].path);
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

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static long find_by_image(const omv_board *b, const char *image)
{
    for (size_t i = 0; i < b->n_parts; i++)
        if (b->parts[i].image && strcmp(b->parts[i].image, image) == 0)
            return (long)i;
    return -1;
}

/* firmware.lst: one image name per line; '#' comments and blank lines ignored. */
static omv_status firmware_list(const omv_board *b, const char *dir, const char *lst_path,
                                wlist *w, omv_error *err)
{
    FILE *f = fopen(lst_path, "r");
    char eb[128];
    if (!f)
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", lst_path,
                             omvi_strerror(errno, eb, sizeof eb));
    size_t *listed = calloc(b->n_parts, sizeof *listed); /* line per partition, 0 = not listed */
    size_t *order = calloc(b->n_parts, sizeof *order);
    size_t n_order = 0;
    if (!listed || !order) {
        fclose(f);
        free(listed);
        free(order);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    omv_status st = OMV_OK;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *name = trim(line);
        if (!*name)
            continue;
        if (!omvi_valid_file_name(name)) {
            st = omv_error_set(err, OMV_E_IMAGE, "%s:%d: '%s' must be a file name without '/'",
                               lst_path, lineno, name);
            break;
        }
        long idx = find_by_image(b, name);
        if (idx < 0) {
            char images[512] = "";
            size_t off = 0;
            for (size_t i = 0; i < b->n_parts && off < sizeof images; i++) {
                if (!b->parts[i].image || b->parts[i].info.read_only)
                    continue;
                int k = snprintf(images + off, sizeof images - off, "%s%s", off ? ", " : "",
                                 b->parts[i].image);
                if (k < 0)
                    break;
                off += (size_t)k;
            }
            st = omv_error_set(err, OMV_E_IMAGE,
                               "%s:%d: '%s' is not the image of any partition of %s (images: %s)",
                               lst_path, lineno, name, b->name, images);
            break;
        }
        if (b->parts[idx].info.read_only) {
            st = omv_error_set(err, OMV_E_READONLY, "%s:%d: '%s' is for partition %s, which is read-only",
                               lst_path, lineno, name, b->parts[idx].name);
            break;
        }
        if (listed[idx]) {
            st = omv_error_set(err, OMV_E_IMAGE, "%s:%d: '%s' is listed twice (first at line %zu)",
                               lst_path, lineno, name, listed[idx]);
            break;
        }
        char *path = join_path(dir, name);
        struct stat sb;
        if (path && stat(path, &sb) != 0) {
            st = omv_error_set(err, OMV_E_IMAGE, "%s:%d: %s: %s", lst_path, lineno, path,
                               omvi_strerror(errno, eb, sizeof eb));
            free(path);
            break;
        }
        free(path);
        listed[idx] = (size_t)lineno;
        order[n_order++] = (size_t)idx;
    }
    free(line);
    fclose(f);
    if (st == OMV_OK && n_order == 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s lists no images", lst_path);
    /* the board's flash order first, then anything else listed, in list order */
    for (size_t i = 0; st == OMV_OK && i < b->n_flash_order; i++) {
        size_t p = b->flash_order[i];
        if (listed[p])
            st = wlist_add(w, p, join_path(dir, b->parts[p].image), err);
    }
    for (size_t i = 0; st == OMV_OK && i < n_order; i++)
        if (!wlist_has(w, order[i]))
            st = wlist_add(w, order[i], join_path(dir, b->parts[order[i]].image), err);
    free(listed);
    free(order);
    return st;
}

static omv_status firmware_dir(const omv_board *b, const char *dir, wlist *w, omv_error *err)
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
        if (stat(lst, &sb) == 0) {
            omv_status st = firmware_list(b, dir, lst, w, err);
            free(lst);
            return st;
        }
        free(lst);
    }
    for (size_t i = 0; i < b->n_flash_order; i++) {
        size_t p = b->flash_order[i];
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

/* Step 2: exists, regular, readable, not empty, fits. */
static omv_status check_image(const omv_board *b, size_t part, const char *path, uint64_t *size,
                              omv_error *err)
{
    char eb[128];
    const char *pn = b->parts[part].name;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s (image for %s): %s", path, pn,
                             omvi_strerror(errno, eb, sizeof eb));
    if (!S_ISREG(sb.st_mode))
        return omv_error_set(err, OMV_E_IMAGE, "%s (image for %s): not a regular file", path, pn);
    FILE *f = fopen(path, "rb");
    if (!f)
        return omv_error_set(err, OMV_E_IMAGE, "%s (image for %s): %s", path, pn,
                             omvi_strerror(errno, eb, sizeof eb));
    fclose(f);
    if (sb.st_size == 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s (image for %s) is empty", path, pn);
    if ((uint64_t)sb.st_size > b->parts[part].info.size)
        return omv_error_set(err, OMV_E_IMAGE, "%s is %llu bytes but partition %s holds %llu",
                             path, (unsigned long long)sb.st_size, pn,
                             (unsigned long long)b->parts[part].info.size);
    *size = (uint64_t)sb.st_size;
    return OMV_OK;
}

static omv_status check_output(const char *path, omv_error *err)
{
    char eb[128];
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (slash && slash[1] == '\0')
        return omv_error_set(err, OMV_E_USAGE, "%s: output must be a file, not a directory", path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return omv_error_set(err, OMV_E_IMAGE, "%s: is a directory", path);
    if (access(dir, W_OK) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot write to %s: %s", path, dir,
                             omvi_strerror(errno, eb, sizeof eb));
    return OMV_OK;
}

/* --erase-filesystem: the IDE's way, one block of zeros to the filesystem
 * partition (the bootloader erases the containing erase unit first). */
static omv_status erase_step(const omv_board *b, omvi_plan *out, omv_error *err)
{
    if (b->filesystem < 0)
        return omv_error_set(err, OMV_E_USAGE, "%s declares no filesystem partition ([board] filesystem)",
                             b->path);
    return add_step(out, OMVI_STEP_ERASE, (size_t)b->filesystem, NULL, OMVI_ERASE_BLOCK, err);
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
            size_t off = 0;
            for (size_t j = 0; j < b->n_actions && off < sizeof list; j++) {
                int n = snprintf(list + off, sizeof list - off, "%s%s", j ? ", " : "", b->actions[j].title);
                if (n < 0)
                    break;
                off += (size_t)n;
            }
            return omv_error_set(err, OMV_E_USAGE, "%s has no action '%s' (actions: %s)", b->name,
                                 name ? name : "", b->n_actions ? list : "none");
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->actions[j], name) == 0)
                return omv_error_set(err, OMV_E_USAGE, "action '%s' is requested twice", name);
        omv_status st = add_step(out, OMVI_STEP_ACTION, k, NULL, 0, err);
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
        for (size_t r = 0; a && r < a->n_restore; r++) {
            size_t p = a->restore[r];
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

omv_status omvi_plan_resolve(const omv_board *b, const omv_request *req, omvi_plan *out,
                             omv_error *err)
{
    out->steps = NULL;
    out->n = 0;
    wlist w = {0};
    omv_status st = OMV_OK;
    if (req->n_images > 0 && !req->images)
        return omv_error_set(err, OMV_E_USAGE, "n_images is set but images is NULL");
    if (req->n_reads > 0 && !req->reads)
        return omv_error_set(err, OMV_E_USAGE, "n_reads is set but reads is NULL");
    if (req->n_actions > 0 && !req->actions)
        return omv_error_set(err, OMV_E_USAGE, "n_actions is set but actions is NULL");
    if (req->n_actions > 0)
        st = action_steps(b, req, out, err);
    if (st == OMV_OK && req->erase_filesystem)
        st = erase_step(b, out, err);
    if (st != OMV_OK) {
        omvi_plan_free(out);
        return st;
    }
    if (req->n_images > 0)
        st = explicit_images(b, req, &w, err);
    /* With actions, a firmware dir only supplies the images to restore. */
    if (st == OMV_OK && req->n_actions > 0 && !req->no_restore)
        st = restore_images(b, req, &w, err);
    else if (st == OMV_OK && req->n_actions == 0 && req->n_images == 0 && req->firmware_dir)
        st = firmware_dir(b, req->firmware_dir, &w, err);
    /* reads: partition exists and can be read */
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; st == OMV_OK && i < req->n_reads; i++) {
        const omv_image_spec *r = &req->reads[i];
        if (!r->partition || !r->path || !*r->path) {
            st = omv_error_set(err, OMV_E_USAGE, "read %zu: partition and file are required", i + 1);
            break;
        }
        long idx = omvi_board_find(b, r->partition);
        if (idx < 0) {
            st = omv_error_set(err, OMV_E_USAGE, "%s has no partition '%s' (partitions: %s)",
                               b->name, r->partition, names);
            break;
        }
        if (!b->parts[idx].info.readable) {
            st = omv_error_set(err, OMV_E_UNSUPPORTED,
                               "partition %s cannot be read back (readable = no in %s)",
                               r->partition, b->path);
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(req->reads[j].path, r->path) == 0) {
                st = omv_error_set(err, OMV_E_USAGE, "%s is the output of two reads", r->path);
                break;
            }
        }
        if (st == OMV_OK)
            st = check_output(r->path, err);
    }
    if (st == OMV_OK && w.n == 0 && req->n_reads == 0 && out->n == 0)
        st = omv_error_set(err, OMV_E_USAGE,
                           "nothing to do: give a firmware directory, images (NAME=FILE) or "
                           "partitions to read");
    for (size_t i = 0; st == OMV_OK && i < w.n; i++) {
        uint64_t size = 0;
        if (w.v[i].missing) {
            st = add_step(out, OMVI_STEP_WRITE, w.v[i].part, w.v[i].path, 0, err);
            if (st == OMV_OK)
                out->steps[out->n - 1].missing = 1;
            continue;
        }
        st = check_image(b, w.v[i].part, w.v[i].path, &size, err);
        if (st == OMV_OK)
            st = add_step(out, OMVI_STEP_WRITE, w.v[i].part, w.v[i].path, size, err);
        if (st == OMV_OK && req->verify && b->parts[w.v[i].part].info.readable)
            st = add_step(out, OMVI_STEP_VERIFY, w.v[i].part, w.v[i].path, size, err);
    }
    for (size_t i = 0; st == OMV_OK && i < req->n_reads; i++) {
        long idx = omvi_board_find(b, req->reads[i].partition);
        st = add_step(out, OMVI_STEP_READ, (size_t)idx, req->reads[i].path,
                      b->parts[idx].info.size, err);
    }
    if (st == OMV_OK && !req->no_reset)
        st = add_step(out, OMVI_STEP_RESET, 0, NULL, 0, err);
    wlist_free(&w);
    if (st != OMV_OK)
        omvi_plan_free(out);
    return st;
}
