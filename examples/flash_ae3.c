/*
 * flash_ae3: flash an OpenMV camera through libomvflash, with its own
 * progress display instead of omvflashd's.
 *
 *   cc -o flash_ae3 flash_ae3.c $(pkg-config --cflags --libs omvflash)
 *   ./flash_ae3 "$(pkg-config --variable=boarddir omvflash)/ae3.ini" firmware/
 *
 * Usage: flash_ae3 BOARD_FILE FIRMWARE_DIR [SERIAL]
 *
 * Writes the board's images from FIRMWARE_DIR (a full flash, like
 * `omvflashd --board ae3 --firmware DIR`), optionally only to the camera
 * with USB serial SERIAL. Every line of output names the camera it is
 * about, so several copies can run side by side (one per camera, each with
 * its SERIAL) and their output stays attributable. The exit code is the
 * library's status, the same numbers omvflashd uses.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include <omvflash/omvflash.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* What the event callback keeps between events. */
struct progress {
    char device[128];  /* "serial @ port" once the camera is open */
    int last_percent;  /* of the current step, -1 before the first report */
};

/* SIGINT/SIGTERM ask the library to stop: omv_cancel_request() is
 * async-signal-safe, and omv_flash() reads the request from its thread. */
static omv_cancel *cancel;

static void on_signal(int sig)
{
    (void)sig;
    omv_cancel_request(cancel);
}

/* Event strings that do not apply are NULL (e.g. the partition of "reset"). */
static const char *str(const char *s)
{
    return s ? s : "";
}

static void on_event(void *user, const omv_event *ev)
{
    struct progress *p = user;
    switch (ev->type) {
    case OMV_EV_PLAN:
        if (ev->file)
            printf("plan: %s %s <- %s (%llu bytes)\n", str(ev->step), str(ev->partition), ev->file,
                   (unsigned long long)ev->total);
        else
            printf("plan: %s %s\n", str(ev->step), str(ev->partition));
        break;
    case OMV_EV_WAITING:
        printf("waiting up to %llu ms for the bootloader...\n", (unsigned long long)ev->total);
        break;
    case OMV_EV_DEVICE:
        snprintf(p->device, sizeof p->device, "%s @ %s",
                 ev->device->serial[0] ? ev->device->serial : "(no serial)",
                 ev->device->port_path[0] ? ev->device->port_path : "?");
        printf("[%s] %s (%04x:%04x)\n", p->device, ev->device->product, ev->device->vid,
               ev->device->pid);
        break;
    case OMV_EV_STEP_START:
        p->last_percent = -1;
        printf("[%s] step %d/%d: %s %s\n", p->device, ev->index, ev->count, str(ev->step),
               str(ev->partition));
        break;
    case OMV_EV_PROGRESS: {
        /* One line per 25 %: enough for a log, and the callback stays cheap. */
        int percent = ev->total ? (int)(ev->done * 100 / ev->total) : 100;
        if (percent / 25 != p->last_percent / 25 || p->last_percent < 0) {
            printf("[%s] %s %s: %3d%% (%llu/%llu bytes)\n", p->device, str(ev->step),
                   str(ev->partition), percent, (unsigned long long)ev->done, (unsigned long long)ev->total);
            p->last_percent = percent;
        }
        break;
    }
    case OMV_EV_STEP_DONE:
        printf("[%s] %s %s done in %llu ms (%llu bytes already there)\n", p->device, str(ev->step),
               str(ev->partition), (unsigned long long)ev->elapsed_ms, (unsigned long long)ev->skipped);
        break;
    case OMV_EV_RETRY: /* only with omv_request.retries */
        fprintf(stderr, "[%s] retry %d of %d: %s\n", p->device, ev->attempt, ev->retries, str(ev->message));
        break;
    case OMV_EV_COMPARED: /* only with omv_request.skip_unchanged */
        printf("[%s] %s: %llu of %llu bytes differ\n", p->device, str(ev->partition), (unsigned long long)ev->done,
               (unsigned long long)ev->total);
        break;
    case OMV_EV_LOG:
        if (ev->level <= OMV_LOG_INFO) /* errors, warnings, info; not debug */
            printf("[%s] %s\n", p->device[0] ? p->device : "-", str(ev->message));
        break;
    case OMV_EV_ERROR:
        fprintf(stderr, "[%s] error (%s): %s\n", p->device[0] ? p->device : "-",
                omv_status_name(ev->status), str(ev->message));
        break;
    case OMV_EV_FINISHED:
        printf("[%s] finished: %s after %llu ms\n", p->device[0] ? p->device : "-",
               omv_status_name(ev->status), (unsigned long long)ev->elapsed_ms);
        break;
    case OMV_EV_CONFIRM:
        /* A full flash has no destructive extra steps; refuse anything else. */
        break;
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s BOARD_FILE FIRMWARE_DIR [SERIAL]\n", argv[0]);
        return OMV_E_USAGE;
    }
    cancel = omv_cancel_new();
    if (!cancel) {
        fprintf(stderr, "flash_ae3: out of memory\n");
        return OMV_E_NOMEM;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    omv_error err;
    omv_error_clear(&err);
    omv_board *board = NULL;
    omv_status st = omv_board_load(argv[1], &board, &err);
    if (st != OMV_OK) {
        fprintf(stderr, "flash_ae3: %s\n", err.msg);
        return (int)st;
    }
    printf("board: %s (%s, transport %s, %zu partitions)\n", omv_board_name(board),
           omv_board_path(board), omv_board_transport(board), omv_board_partition_count(board));

    omv_request req;
    memset(&req, 0, sizeof req);
    req.firmware_dir = argv[2];
    req.serial = argc > 3 ? argv[3] : NULL;
    req.wait_ms = OMV_WAIT_DEFAULT;
    req.cancel = cancel;

    struct progress p = {.device = "", .last_percent = -1};
    omv_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.event = on_event;
    cb.user = &p;

    st = omv_flash(board, &req, &cb, &err);
    omv_board_free(board);
    if (st != OMV_OK)
        fprintf(stderr, "flash_ae3: %s\n", err.msg);
    return (int)st;
}
