/*
 * omv_detect_board(): which board file is the attached camera (omvflashd
 * --board auto)? The USB id a camera shows is its identity where only one
 * board names it: openmv_dfu bootloaders (37C5:92xx) and G2/G3 applications
 * (37C5:12xx) are per camera, and protocol v2 firmware sends no board name,
 * so there is nothing better to ask. The G1 ids (1209:ABD1, application and
 * legacy bootloader alike) are shared by every camera of that era: a camera
 * running its application is then asked for its arch string (debug protocol
 * v1 ARCH_STR, without a reset); a legacy bootloader cannot tell, so that is
 * an error naming the candidates.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define DETECT_MAX_DEVICES 16
#define DETECT_MAX_BOARDS 64
/* How long to wait for a camera when the request does not say (the boards' usual wait_ms). */
#define OMVI_DETECT_WAIT_MS 10000u
/* How often to look: each look lists with every board's plugins. */
#define OMVI_DETECT_POLL_MS 100u

typedef struct seen_dev {
    struct omv_device_info dev;
    char key[OMV_DEVICE_KEY_MAX];
    uint64_t boards; /* bit i: boards[i] names its USB id */
} seen_dev;

typedef struct detect_ctx {
    const omv_board *const *boards;
    size_t n, cur;
    const omv_request *req;
    const omv_callbacks *cb;
    seen_dev devs[DETECT_MAX_DEVICES];
    size_t n_devs;
} detect_ctx;

static void on_found(void *user, const char *board_name, const struct omv_device_info *dev)
{
    (void)board_name;
    detect_ctx *c = user;
    const omv_request *r = c->req;
    if ((r->port_path && strcmp(r->port_path, dev->port_path) != 0) || (r->serial && strcmp(r->serial, dev->serial) != 0))
        return;
    char key[OMV_DEVICE_KEY_MAX];
    omv_device_key(dev, key, sizeof key);
    size_t i = 0;
    while (i < c->n_devs && strcmp(c->devs[i].key, key) != 0)
        i++;
    if (i == c->n_devs) {
        if (c->n_devs == DETECT_MAX_DEVICES)
            return; /* more than enough to say "several cameras" */
        c->devs[c->n_devs++] = (seen_dev){.dev = *dev};
        snprintf(c->devs[i].key, sizeof c->devs[i].key, "%s", key);
    }
    c->devs[i].boards |= (uint64_t)1 << c->cur;
}

/* One look: every board lists what it recognises (each board on its own, so
 * a device shared by several boards is seen by each). */
static omv_status detect_look(void *user, omv_error *err)
{
    detect_ctx *c = user;
    c->n_devs = 0;
    for (c->cur = 0; c->cur < c->n; c->cur++) {
        omv_status st = omv_list_devices_cb(&c->boards[c->cur], 1, c->req->plugin_dir, NULL, on_found, c, err);
        if (st != OMV_OK)
            return st;
    }
    return c->n_devs ? OMV_OK : OMV_E_NO_DEVICE;
}

/* "37C5:9204 bootloader at port 1-1" */
static void describe(const struct omv_device_info *d, char *buf, size_t n)
{
    snprintf(buf, n, "%04X:%04X %s%s%s", d->vid, d->pid, d->mode[0] ? d->mode : "device",
             d->port_path[0] ? " at port " : "", d->port_path);
}

/* "OpenMV Cam H7 (boards/h7.ini), OpenMV Cam M7 (boards/m7.ini)" */
static void list_boards(const detect_ctx *c, uint64_t set, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < c->n; i++) {
        if (!(set >> i & 1))
            continue;
        char one[512];
        snprintf(one, sizeof one, "%s (%s)", c->boards[i]->name, c->boards[i]->path);
        omvi_join_add(buf, n, one);
    }
}

static size_t first_of(uint64_t set)
{
    size_t i = 0;
    while (!(set >> i & 1))
        i++;
    return i;
}

/* Several boards share the camera's USB id and it runs its application: ask
 * it for its arch string (no reset) and keep the boards that name it. */
static omv_status by_arch(const detect_ctx *c, const seen_dev *s, uint64_t *set, omv_error *err)
{
    const omv_board *ask = NULL;
    for (size_t i = 0; i < c->n && !ask; i++)
        if ((*set >> i & 1) && c->boards[i]->n_entries)
            ask = c->boards[i];
    if (!ask)
        return OMV_OK;
    omv_request q = {.plugin_dir = c->req->plugin_dir, .cancel = c->req->cancel, .wait_ms = c->req->wait_ms};
    if (s->dev.port_path[0])
        q.port_path = s->dev.port_path;
    else
        q.serial = s->dev.serial;
    struct omv_app_info app;
    omv_status st = omv_identify(ask, &q, c->cb, &app, err);
    if (st != OMV_OK)
        return omv_error_prefix(err, "--board auto: ask the camera which board it is");
    if (!app.arch[0])
        return OMV_OK; /* protocol v2: the USB id was all it has */
    uint64_t named = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->boards[i]->arch && strcmp(c->boards[i]->arch, app.arch) == 0)
            named |= (uint64_t)1 << i;
    if (!(named & *set)) {
        char where[256];
        describe(&s->dev, where, sizeof where);
        return omv_error_set(err, OMV_E_BOARD,
                             "--board auto: the camera (%s) reports arch '%s' (firmware %s), which no board file "
                             "names",
                             where, app.arch, app.firmware_version[0] ? app.firmware_version : "?");
    }
    *set &= named;
    omvi_log(c->cb, OMV_LOG_INFO, "--board auto: the camera reports arch '%s' (firmware %s)", app.arch,
             app.firmware_version[0] ? app.firmware_version : "?");
    return OMV_OK;
}

/* The one camera found: its board, by USB id, else by its arch string. */
static omv_status pick(const detect_ctx *c, const seen_dev *s, size_t *index, omv_error *err)
{
    uint64_t set = s->boards;
    omv_status st = OMV_OK;
    if (set & (set - 1) && !strstr(s->dev.mode, "bootloader"))
        st = by_arch(c, s, &set, err);
    if (st != OMV_OK)
        return st;
    char where[256], names[2048];
    describe(&s->dev, where, sizeof where);
    list_boards(c, set, names, sizeof names);
    if (set & (set - 1))
        return omv_error_set(err, OMV_E_AMBIGUOUS,
                             "--board auto: the camera (%s) could be any of %s; %s: name its board with --board",
                             where, names,
                             strstr(s->dev.mode, "bootloader") ? "its bootloader does not say which"
                                                               : "its firmware does not say which");
    *index = first_of(set);
    omvi_log(c->cb, OMV_LOG_INFO, "--board auto: the camera (%s) is %s", where, names);
    return OMV_OK;
}

omv_status omv_detect_board(const omv_board *const *boards, size_t n_boards, const omv_request *req,
                            const omv_callbacks *cb, size_t *index, struct omv_device_info *dev, omv_error *err)
{
    if (!boards || !n_boards || !req || !index)
        return omv_error_set(err, OMV_E_USAGE, "omv_detect_board: boards, request and index are required");
    if (n_boards > DETECT_MAX_BOARDS)
        return omv_error_set(err, OMV_E_USAGE, "omv_detect_board: at most %d boards", DETECT_MAX_BOARDS);
    detect_ctx c = {.boards = boards, .n = n_boards, .req = req, .cb = cb};
    uint32_t wait = req->wait_ms == OMV_WAIT_DEFAULT ? OMVI_DETECT_WAIT_MS : req->wait_ms;
    omvi_log(cb, OMV_LOG_INFO, "--board auto: looking for a camera of %zu board files", n_boards);
    omv_status st = omvi_poll(wait, OMVI_DETECT_POLL_MS, req->cancel, detect_look, &c, err);
    if (st == OMV_E_NO_DEVICE)
        return omv_error_set(err, OMV_E_NO_DEVICE,
                             "--board auto: no camera of any of the %zu board files appeared within %u ms", n_boards,
                             wait);
    if (st != OMV_OK)
        return st;
    if (c.n_devs > 1) {
        char all[1024] = "";
        for (size_t i = 0; i < c.n_devs; i++) {
            char one[256];
            describe(&c.devs[i].dev, one, sizeof one);
            omvi_join_add(all, sizeof all, one);
        }
        return omv_error_set(err, OMV_E_MULTIPLE, "--board auto: %zu cameras attached (%s); choose one with --port",
                             c.n_devs, all);
    }
    st = pick(&c, &c.devs[0], index, err);
    if (st == OMV_OK && dev)
        *dev = c.devs[0].dev;
    return st;
}
