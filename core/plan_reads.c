/*
 * --read NAME=FILE: which partitions are read into which files. Each output
 * is checked before any device I/O (a regular file or a new one, in a
 * writable directory: file_guard.c), and two outputs that are the same file
 * under different spellings ("b.img" and "./b.img", a hard link, a linked
 * directory) are refused: compared by device and inode, not by name.
 */
#include <string.h>

#include "internal.h"

omv_status omvi_plan_reads(const omv_board *b, const omv_request *req, omvi_plan *out, omvi_output_id *ids,
                           omv_error *err)
{
    char names[512];
    omvi_board_part_names(b, names, sizeof names);
    for (size_t i = 0; i < req->n_reads; i++) {
        const omv_image_spec *r = &req->reads[i];
        if (!r->partition || !r->path || !*r->path)
            return omv_error_set(err, OMV_E_USAGE, "read %zu: partition and file are required", i + 1);
        long idx = omvi_board_find(b, r->partition);
        if (idx < 0)
            return omv_error_set(err, OMV_E_USAGE, "%s has no partition '%s' (partitions: %s)", b->name,
                                 r->partition, names);
        if (!b->parts[idx].info.readable)
            return omv_error_set(err, OMV_E_UNSUPPORTED, "partition %s cannot be read back (readable = no in %s)",
                                 r->partition, b->path);
        omv_status st = omvi_output_check(r->path, &ids[i], err);
        if (st != OMV_OK)
            return st;
        for (size_t j = 0; j < i; j++)
            if (omvi_output_id_same(&ids[j], &ids[i]))
                return omv_error_set(err, OMV_E_USAGE,
                                     "%s (--read %s) and %s (--read %s) are the same file: each read needs its "
                                     "own output",
                                     req->reads[j].path, req->reads[j].partition, r->path, r->partition);
        st = omvi_plan_add(out, OMVI_STEP_READ, (size_t)idx, r->path, b->parts[idx].info.size, err);
        if (st != OMV_OK)
            return st;
    }
    return OMV_OK;
}
