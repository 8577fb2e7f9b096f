/* --on-stuck CMD: run it for a camera that stopped answering (see on_stuck.h). */
#define _GNU_SOURCE /* environ */
#include "on_stuck.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How often the wait checks the deadline and the abort flag. */
#define ON_STUCK_POLL_MS 20u

#define N_OURS 6

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* systemd's variables are for omvflashd alone (a command that notified
 * systemd or fed the watchdog would speak for the service); ours replace any
 * inherited ones of the same name. */
static int inherited(const char *kv)
{
    static const char *const dropped[] = {"NOTIFY_SOCKET=", "WATCHDOG_", "OMVFLASH_PORT=", "OMVFLASH_HUB=",
                                          "OMVFLASH_HUB_PORT=", "OMVFLASH_SLOT=", "OMVFLASH_SERIAL=",
                                          "OMVFLASH_BOARD="};
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        if (strncmp(kv, dropped[i], strlen(dropped[i])) == 0)
            return 0;
    return 1;
}

/* Our environment less systemd's, plus the camera's OMVFLASH_* (in @p ours). */
static char **child_env(const struct stuck_camera *cam, char ours[N_OURS][512])
{
    char hub[64] = "", hub_port[16] = "";
    const char *cut = strrchr(cam->port, '.');
    if (!cut)
        cut = strrchr(cam->port, '-');
    if (cut) {
        snprintf(hub, sizeof hub, "%.*s", (int)(cut - cam->port), cam->port);
        snprintf(hub_port, sizeof hub_port, "%s", cut + 1);
    }
    snprintf(ours[0], 512, "OMVFLASH_PORT=%s", cam->port);
    snprintf(ours[1], 512, "OMVFLASH_HUB=%s", hub);
    snprintf(ours[2], 512, "OMVFLASH_HUB_PORT=%s", hub_port);
    snprintf(ours[3], 512, "OMVFLASH_SLOT=%s", cam->slot ? cam->slot : "");
    snprintf(ours[4], 512, "OMVFLASH_SERIAL=%s", cam->serial ? cam->serial : "");
    snprintf(ours[5], 512, "OMVFLASH_BOARD=%s", cam->board ? cam->board : "");
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + N_OURS + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (inherited(environ[i]))
            env[k++] = environ[i];
    for (size_t i = 0; i < N_OURS; i++)
        env[k++] = ours[i];
    return env;
}

/* Wait for @p pid until it ends, the deadline passes or *abort_flag is set
 * (then its process group is killed). */
static int wait_for(pid_t pid, const omv_cancel *abort_flag, char *what, size_t what_len)
{
    const uint64_t deadline = mono_ms() + ON_STUCK_TIMEOUT_MS;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(what, what_len, "cannot wait for it: %s", strerror(errno));
            return -1;
        }
        int late = mono_ms() >= deadline, aborted = omv_cancel_requested(abort_flag);
        if (late || aborted) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(what, what_len, late ? "timed out after %u s, killed" : "cancelled, killed",
                     ON_STUCK_TIMEOUT_MS / 1000u);
            return -1;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ON_STUCK_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status)) {
        snprintf(what, what_len, "exit %d", WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    snprintf(what, what_len, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

int on_stuck_run(const char *cmd, const struct stuck_camera *cam, const omv_cancel *abort_flag,
                 char *what, size_t what_len)
{
    char ours[N_OURS][512];
    char **env = child_env(cam, ours);
    if (!env) {
        snprintf(what, what_len, "out of memory");
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* Standard output carries omvflashd's events: the command writes to stderr. */
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    /* Its own process group (killed as a whole on timeout), default signal
     * handling and an empty mask (the worker thread blocks SIGINT/SIGTERM). */
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    if (r != 0) {
        snprintf(what, what_len, "cannot run /bin/sh: %s", strerror(r));
        return -1;
    }
    return wait_for(pid, abort_flag, what, what_len);
}
