/* omvemu: run a command against emulated OpenMV cameras.
 *
 *   omvemu --camera ae3 [options] -- COMMAND [ARGS...]
 *
 * This file is the launcher: re-exec under umockdev's preload, the testbed,
 * the child process and the main loop (signals, timers), then the exit-time
 * dump and stats. Options: omvemu_args.c; device models: omvemu_build.c and
 * dfu_device.c; presence and port power: omvemu_presence.c. */
#define _GNU_SOURCE
#include "omvemu.h"

#include <errno.h>
#include <glib-unix.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ASan-built children refuse to start when libumockdev-preload comes before
 * libasan in the link order; this check is safe to disable here. */
static void set_asan_options(void)
{
    const char *cur = getenv("ASAN_OPTIONS");
    if (cur && strstr(cur, "verify_asan_link_order"))
        return;
    char *v = cur && *cur ? g_strdup_printf("%s:verify_asan_link_order=0", cur)
                          : g_strdup("verify_asan_link_order=0");
    setenv("ASAN_OPTIONS", v, 1);
    g_free(v);
}

/* The preload must be active from process start, and uevents (hot-plug,
 * removal) only reach a running libusb when the emulator itself is preloaded:
 * so re-exec through umockdev-wrapper once. */
static void ensure_preload(char **argv)
{
    const char *lp = getenv("LD_PRELOAD");
    if (lp && strstr(lp, "libumockdev-preload"))
        return;
    if (getenv("OMVEMU_REEXECED")) {
        fprintf(stderr, "omvemu: libumockdev-preload is not active after re-exec via "
                        "umockdev-wrapper\n");
        exit(EXIT_INTERNAL);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        perror("omvemu: readlink /proc/self/exe");
        exit(EXIT_INTERNAL);
    }
    self[n] = '\0';
    setenv("OMVEMU_REEXECED", "1", 1);
    int argc = 0;
    while (argv[argc])
        argc++;
    char **nargv = g_new0(char *, argc + 2);
    nargv[0] = (char *)"umockdev-wrapper";
    nargv[1] = self;
    for (int i = 1; i < argc; i++)
        nargv[i + 1] = argv[i];
    execvp(nargv[0], nargv);
    fprintf(stderr, "omvemu: cannot run umockdev-wrapper: %s (install umockdev)\n",
            strerror(errno));
    exit(EXIT_INTERNAL);
}

static void child_exited(GPid pid, gint status, gpointer user)
{
    (void)pid;
    emu_t *e = user;
    e->child_status = status;
    e->child_done = true;
    g_main_loop_quit(e->loop);
}

/* A signal for omvemu goes to COMMAND; a second one insists (SIGKILL). */
typedef struct {
    emu_t *emu;
    int sig;
} signal_route_t;

static gboolean on_signal(gpointer p)
{
    const signal_route_t *r = p;
    r->emu->signals_seen++;
    if (r->emu->child > 0)
        kill(r->emu->child, r->emu->signals_seen > 1 ? SIGKILL : r->sig);
    return G_SOURCE_CONTINUE;
}

static pid_t spawn(char **cmd)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("omvemu: fork");
        return -1;
    }
    if (pid == 0) {
        /* Don't outlive a SIGKILLed emulator. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(cmd[0], cmd);
        int e = errno;
        fprintf(stderr, "omvemu: cannot run %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    return pid;
}

/* The USB cameras' device nodes, and those present from the start on the bus. */
static bool attach_usb_cameras(emu_t *e)
{
    for (size_t i = 0; i < e->ncams; i++) {
        camera_inst_t *c = &e->cams[i];
        if (c->cdc)
            continue; /* started by emu_start_serial_cameras() */
        c->usb = usbfs_dev_new(c->dfu, c->cam->speed_mbps, emu_on_leave, c);
        if (c->no_appear)
            continue;
        if (!emu_testbed_attach(e->tb, c->devnum, c->usb->handler))
            return false;
        if (c->appear_after_ms == 0 && !emu_appear(c, false))
            return false;
    }
    return true;
}

/* COMMAND with its environment, and the hot-plug timers that count from its start. */
static bool start_command(emu_t *e)
{
    emu_host_fault_env(e);
    if (!(e->power = power_ctl_new(emu_port_power, e)))
        return false;
    setenv(OMVEMU_POWER_ENV, power_ctl_path(e->power), 1);
    e->child = spawn(e->cmd);
    if (e->child < 0)
        return false;
    g_child_watch_add(e->child, child_exited, e);
    for (size_t i = 0; i < e->ncams; i++)
        if (emu_starts_on_usb(&e->cams[i]) && !e->cams[i].no_appear && e->cams[i].appear_after_ms > 0)
            g_timeout_add((guint)e->cams[i].appear_after_ms, emu_appear_timeout, &e->cams[i]);
    return true;
}

/* COMMAND's status as omvemu's exit code, then --dump and --stats. */
static int finish(const emu_t *e)
{
    int rc = EXIT_INTERNAL;
    if (WIFEXITED(e->child_status))
        rc = WEXITSTATUS(e->child_status);
    else if (WIFSIGNALED(e->child_status))
        rc = 128 + WTERMSIG(e->child_status);
    if (e->dump_dir && !emu_dump_all(e))
        rc = EXIT_INTERNAL;
    if (e->stats_file && !emu_write_stats(e, e->stats_file))
        rc = EXIT_INTERNAL;
    return rc;
}

static void cleanup(emu_t *e)
{
    /* Testbed first: it stops serving ioctls before the handlers go away. */
    emu_testbed_free(e->tb);
    for (size_t i = 0; i < e->ncams; i++) {
        cdc_cam_free(e->cams[i].cdc);
        usbfs_dev_free(e->cams[i].usb);
        if (e->cams[i].retired)
            g_ptr_array_free(e->cams[i].retired, TRUE);
        dfu_device_free(e->cams[i].dfu);
    }
    tty_hub_free(e->hub);
    power_ctl_free(e->power);
    g_main_loop_unref(e->loop);
    g_free(e->host_faults);
}

int main(int argc, char **argv)
{
    /* Emulator state lives as long as the process; the main loop's callbacks
     * reach it through their user pointers. */
    static emu_t emu;
    emu_t *e = &emu;
    /* Parse and validate before re-exec so bad options fail fast (exit 2). */
    char **argv_copy = g_strdupv(argv);
    emu_parse_args(e, argc, argv_copy);
    set_asan_options();
    ensure_preload(argv);
    unsetenv("OMVEMU_REEXECED");
    emu_build_devices(e);

    /* Signals are routed through the main loop so cleanup always runs. */
    e->loop = g_main_loop_new(NULL, FALSE);
    signal_route_t routes[] = {{e, SIGINT}, {e, SIGTERM}, {e, SIGHUP}};
    for (size_t i = 0; i < G_N_ELEMENTS(routes); i++)
        g_unix_signal_add(routes[i].sig, on_signal, &routes[i]);

    e->next_devnum = (unsigned)e->ncams + 2;
    e->tb = emu_testbed_new();
    if (!e->tb) {
        fprintf(stderr, "omvemu: cannot create umockdev testbed\n");
        return EXIT_INTERNAL;
    }
    int rc = EXIT_INTERNAL;
    if (emu_start_serial_cameras(e) && attach_usb_cameras(e) && start_command(e)) {
        g_main_loop_run(e->loop);
        rc = finish(e);
    }
    cleanup(e);
    g_strfreev(argv_copy);
    return rc;
}
