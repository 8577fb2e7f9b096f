/*
 * --firmware DIR|ZIP for a full flash: which of a release's files are the
 * board's images. The board's folder is the one its firmware_dir names
 * (OPENMV4/ in firmware_v4.8.1.zip), or the top of a development zip; a
 * firmware.lst there restricts the set, else the board's flash_order is
 * written. A directory is planned from as files on disk (plan.c); a zip's
 * entries are streamed from the archive when they are written.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "release.h"

/* "fw.zip:OPENMV4/firmware.bin": what messages and the plan call an entry. */
static char *entry_label(const omvi_release *r, const char *folder, const char *name)
{
    size_t n = strlen(omvi_release_path(r)) + strlen(folder) + strlen(name) + 3;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s:%s%s%s", omvi_release_path(r), folder, *folder ? "/" : "", name);
    return s;
}

typedef struct zip_ctx {
    omvi_release *r;
    const char *folder;
} zip_ctx;

/* firmware.lst in a zip names entries of the same folder. */
static omv_status entry_exists(void *user, const char *lst, int lineno, const char *name, omv_error *err)
{
    zip_ctx *z = user;
    uint64_t size;
    omv_status st = omvi_release_stat(z->r, z->folder, name, &size, NULL, err);
    return st == OMV_OK ? st : omv_error_prefix(err, "%s:%d", lst, lineno);
}

/* The list is a few lines: read whole (at most OMVI_MAX_LIST_FILE bytes), then parsed as a file. */
static omv_status zip_list(const omv_board *b, zip_ctx *z, uint64_t size, size_t *parts, size_t *n, omv_error *err)
{
    char *label = entry_label(z->r, z->folder, b->firmware_list);
    if (!label)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    if (size > OMVI_MAX_LIST_FILE) {
        omv_status st = omv_error_set(err, OMV_E_IMAGE, "%s: more than %u bytes: not a list of image names", label,
                                      OMVI_MAX_LIST_FILE);
        free(label);
        return st;
    }
    char *buf = malloc(size ? (size_t)size : 1);
    omvi_release_stream *rs = NULL;
    omv_status st = buf ? omvi_release_stream_open(z->r, z->folder, b->firmware_list, NULL, &rs, err)
                        : omv_error_set(err, OMV_E_NOMEM, "out of memory");
    const struct omv_source *src = rs ? omvi_release_stream_source(rs) : NULL;
    uint64_t got = 0;
    while (st == OMV_OK && got < size) {
        size_t k = 0;
        st = src->read(src->ctx, (uint8_t *)buf + got, (size_t)(size - got), &k, err);
        if (st == OMV_OK && k == 0)
            st = omv_error_set(err, OMV_E_IMAGE, "%s: ends after %llu bytes", label, (unsigned long long)got);
        got += k;
    }
    FILE *f = st == OMV_OK ? fmemopen(buf, size ? (size_t)size : 1, "r") : NULL;
    if (st == OMV_OK && !f)
        st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
    if (st == OMV_OK && size == 0)
        fgetc(f); /* fmemopen needs one byte: an empty list reads as empty */
    if (st == OMV_OK)
        st = omvi_firmware_list_read(b, f, label, entry_exists, z, parts, n, err);
    if (f)
        fclose(f);
    omvi_release_stream_close(rs);
    free(buf);
    free(label);
    return st;
}

/* One entry of the board's flash_order, or its absence when some bootloader of the board skips it. */
static omv_status order_entry(const omv_board *b, zip_ctx *z, size_t p, omvi_plan_image_fn add, void *user,
                              omv_error *err)
{
    const char *image = b->parts[p].image;
    char *label = entry_label(z->r, z->folder, image);
    if (!label)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    uint64_t size;
    omv_error probe;
    omv_status st = omvi_release_stat(z->r, z->folder, image, &size, NULL, &probe);
    int missing = st != OMV_OK && omvi_board_part_optional(b, p);
    if (st == OMV_OK || missing)
        st = add(user, p, label, image, missing, err);
    else
        st = omv_error_set(err, probe.code, "%s (image of partition %s); to flash only some partitions, give them "
                                            "as --image NAME=FILE",
                           probe.msg, b->parts[p].name);
    free(label);
    return st;
}

static omv_status zip_images(const omv_board *b, zip_ctx *z, omvi_plan_image_fn add, void *user, omv_error *err)
{
    uint64_t size;
    omv_error probe;
    if (b->firmware_list && omvi_release_stat(z->r, z->folder, b->firmware_list, &size, NULL, &probe) == OMV_OK) {
        size_t *parts = calloc(b->n_parts ? b->n_parts : 1, sizeof *parts), n = 0;
        omv_status st = parts ? zip_list(b, z, size, parts, &n, err) : omv_error_set(err, OMV_E_NOMEM, "out of memory");
        for (size_t i = 0; st == OMV_OK && i < n; i++) {
            char *label = entry_label(z->r, z->folder, b->parts[parts[i]].image);
            st = label ? add(user, parts[i], label, b->parts[parts[i]].image, 0, err)
                       : omv_error_set(err, OMV_E_NOMEM, "out of memory");
            free(label);
        }
        free(parts);
        return st;
    }
    for (size_t i = 0; i < b->flash_order.n; i++) {
        omv_status st = order_entry(b, z, b->flash_order.index[i], add, user, err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}

/* DIR/FOLDER (or DIR itself for the top). */
static char *dir_path(const char *dir, const char *folder)
{
    size_t dl = strlen(dir), n = dl + strlen(folder) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", dir, *folder && dl && dir[dl - 1] != '/' ? "/" : "", folder);
    return s;
}

omv_status omvi_release_plan(const omv_board *b, const char *path, omvi_plan *plan, char **dir,
                             omvi_plan_image_fn add, void *user, omv_error *err)
{
    *dir = NULL;
    omvi_release *r = NULL;
    omv_status st = omvi_release_open(path, &r, err);
    if (st != OMV_OK)
        return omv_error_prefix(err, "--firmware");
    const char *folder = "";
    st = omvi_release_board_folder(r, b->firmware_dir, &folder, err);
    if (st == OMV_OK && omvi_release_kind_of(r) == OMVI_RELEASE_DIR) {
        if (!(*dir = dir_path(path, folder)))
            st = omv_error_set(err, OMV_E_NOMEM, "out of memory");
        omvi_release_close(r);
        return st;
    }
    if (st != OMV_OK) {
        omvi_release_close(r);
        return st;
    }
    plan->release = r; /* freed with the plan, also on failure */
    plan->folder = folder;
    zip_ctx z = {r, folder};
    return zip_images(b, &z, add, user, err);
}
