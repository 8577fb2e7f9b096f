/* omvflashd: when no camera of the board appeared, say which OpenMV cameras
 * are attached instead (the usual cause is a wrong --board: an H7 plugged in,
 * --board ae3 given). */
#define _POSIX_C_SOURCE 200809L
#include "cli_text.h"
#include "cli_hints.h"

#include <stdio.h>
#include <string.h>

#include "cli_boards.h"

#define HINT_MAX_DEVICES 8

struct seen {
    struct omv_device_info dev;
    char boards[160];     /* "h7, h7plus" */
    int ours;             /* the requested board sees it too */
};

struct hint_ctx {
    struct seen v[HINT_MAX_DEVICES];
    size_t n;
    const char *board_arg; /* the board being listed ("h7"), NULL for the requested one */
};

static int same_device(const struct omv_device_info *a, const struct omv_device_info *b)
{
    char ka[OMV_DEVICE_KEY_MAX], kb[OMV_DEVICE_KEY_MAX];
    omv_device_key(a, ka, sizeof ka);
    omv_device_key(b, kb, sizeof kb);
    return strcmp(ka, kb) == 0;
}

static void on_device(void *user, const char *board_name, const struct omv_device_info *dev)
{
    (void)board_name;
    struct hint_ctx *c = user;
    struct seen *s = NULL;
    for (size_t i = 0; i < c->n && !s; i++)
        if (same_device(&c->v[i].dev, dev))
            s = &c->v[i];
    if (!s) {
        if (c->n == HINT_MAX_DEVICES)
            return;
        s = &c->v[c->n++];
        memset(s, 0, sizeof *s);
        s->dev = *dev;
    }
    if (!c->board_arg) {
        s->ours = 1;
        return;
    }
    cli_join_add(s->boards, sizeof s->boards, c->board_arg);
}

/* "boards/h7.ini" -> "h7": what --board NAME takes. */
static void board_arg(const omv_board *b, char *out, size_t n)
{
    const char *path = omv_board_path(b);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".ini") == 0)
        len -= 4;
    snprintf(out, n, "%.*s", (int)len, base);
}

void cli_other_cameras_hint(const omv_board *board, const char *plugin_dir, char *buf, size_t n)
{
    buf[0] = '\0';
    omv_board *all[CLI_MAX_BOARDS];
    size_t n_all = 0;
    omv_error err;
    struct hint_ctx c = {.n = 0};
    const omv_board *mine[1] = {board};
    if (omv_list_devices(mine, 1, plugin_dir, on_device, &c, &err) != OMV_OK ||
        cli_load_all_boards(all, CLI_MAX_BOARDS, &n_all, &err) != OMV_OK) {
        for (size_t i = 0; i < n_all; i++)
            omv_board_free(all[i]);
        return;
    }
    for (size_t i = 0; i < n_all; i++) {
        char arg[64];
        board_arg(all[i], arg, sizeof arg);
        const omv_board *one[1] = {all[i]};
        c.board_arg = arg;
        if (strcmp(omv_board_name(all[i]), omv_board_name(board)) != 0)
            (void)omv_list_devices(one, 1, plugin_dir, on_device, &c, &err); /* a hint: failures say nothing */
        omv_board_free(all[i]);
    }
    size_t off = 0;
    for (size_t i = 0; i < c.n && off < n; i++) {
        const struct seen *s = &c.v[i];
        if (s->ours || !s->boards[0])
            continue;
        int k = snprintf(buf + off, n - off, "%s%04x:%04x (%s) at port %s, serial %s: a camera for --board %s",
                         off ? "; " : "; attached instead: ", s->dev.vid, s->dev.pid,
                         s->dev.mode[0] ? s->dev.mode : "?", s->dev.port_path[0] ? s->dev.port_path : "?",
                         s->dev.serial[0] ? s->dev.serial : "unknown", s->boards);
        if (k < 0)
            break;
        off += (size_t)k;
    }
}
