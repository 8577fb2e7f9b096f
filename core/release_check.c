/*
 * Is each image for this board? OpenMV firmware compiles its board's arch
 * string (OMV_BOARD_ARCH, what `omv.arch()` and the debug protocol's
 * ARCH_STR report) into the image as a NUL-terminated literal, so one pass
 * over every image before anything is written tells: the board's own string
 * (fine), another board file's string and not this board's (built for that
 * board: refused, unless --force), or none (ROMFS images, Wi-Fi blobs:
 * "unchecked", never guessed). The same pass gives each image's SHA-256.
 */
#include <string.h>

#include "image_id.h"
#include "internal.h"

typedef struct needles {
    const char *arch[OMVI_ARCH_SCAN_MAX];
    const omv_board *board[OMVI_ARCH_SCAN_MAX]; /* whose arch string it is; [0] = the board flashed */
    size_t n;
} needles;

/* The board's arch string first, then every other known board's (each string once). */
static void collect(const omv_board *b, const omv_request *req, needles *nd)
{
    nd->n = 0;
    nd->arch[nd->n] = b->arch;
    nd->board[nd->n++] = b;
    for (size_t i = 0; i < req->n_known_boards && req->known_boards && nd->n < OMVI_ARCH_SCAN_MAX; i++) {
        const omv_board *k = req->known_boards[i];
        const char *a = omv_board_arch(k);
        int dup = !a;
        for (size_t j = 0; !dup && j < nd->n; j++)
            dup = nd->arch[j] && strcmp(nd->arch[j], a) == 0;
        if (dup)
            continue;
        nd->arch[nd->n] = a;
        nd->board[nd->n++] = k;
    }
}

/* Read step @p s's image once: its SHA-256 and what the scan finds. */
static omv_status look_at(const omvi_plan *plan, const omvi_step *s, const needles *nd, omvi_arch_scan *scan,
                          omvi_image_id *id, omv_error *err)
{
    omv_status st = omvi_arch_scan_init(scan, nd->arch, nd->n, err);
    if (st != OMV_OK)
        return st;
    omvi_step_source src;
    st = omvi_step_source_open(&src, plan, s, err);
    if (st == OMV_OK)
        st = omvi_image_identify(&src.src, s->path, scan, id, err);
    omvi_step_source_close(&src);
    return st;
}

/* What the scan says about step @p s; OMV_E_MISMATCH for another board's image without --force. */
static omv_status judge(const omv_board *b, const omv_request *req, omvi_step *s, const needles *nd,
                        const omvi_arch_scan *scan, omv_error *err)
{
    if (omvi_arch_scan_found(scan, 0, NULL)) {
        s->check = OMVI_CHECK_ARCH;
        return OMV_OK;
    }
    for (size_t i = 1; i < nd->n; i++) {
        uint64_t at = 0;
        if (!omvi_arch_scan_found(scan, i, &at))
            continue;
        if (req->force) {
            s->check = OMVI_CHECK_FORCED;
            return OMV_OK;
        }
        return omv_error_set(err, OMV_E_MISMATCH,
                             "%s was built for %s, not %s: it carries the arch string '%s' (at offset 0x%llX)%s%s%s; "
                             "nothing was written (--force writes it anyway)",
                             s->path, omv_board_name(nd->board[i]), b->name, nd->arch[i], (unsigned long long)at,
                             b->arch ? " and not '" : "", b->arch ? b->arch : "", b->arch ? "'" : "");
    }
    s->check = OMVI_CHECK_UNCHECKED;
    return OMV_OK;
}

omv_status omvi_plan_check_images(const omv_board *b, const omv_request *req, omvi_plan *plan, omv_error *err)
{
    needles nd;
    collect(b, req, &nd);
    omvi_arch_scan scan;
    for (size_t i = 0; i < plan->n; i++) {
        omvi_step *s = &plan->steps[i];
        if (s->kind != OMVI_STEP_WRITE || s->missing)
            continue;
        omvi_image_id id;
        omv_status st = look_at(plan, s, &nd, &scan, &id, err);
        if (st == OMV_OK)
            st = judge(b, req, s, &nd, &scan, err);
        if (st != OMV_OK)
            return st;
        memcpy(s->sha256, id.sha256_hex, sizeof s->sha256);
        /* Its verify (the next steps of the same partition) compares with the same bytes. */
        for (size_t j = i + 1; j < plan->n && plan->steps[j].kind == OMVI_STEP_VERIFY; j++) {
            if (plan->steps[j].part != s->part)
                continue;
            memcpy(plan->steps[j].sha256, s->sha256, sizeof s->sha256);
            plan->steps[j].check = s->check;
        }
    }
    return OMV_OK;
}
