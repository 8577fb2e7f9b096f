/*
 * omvflash_fakeentry (and _fakeentryb): entry plugins for the core's unit
 * tests. With "app=1" in $OMV_FAKE_DIR/config they report one camera in
 * application mode until enter() is called, which creates
 * $OMV_FAKE_DIR/entered (the fake transports configured with
 * present_NAME=after_enter then answer). "app_after=N": the camera shows up
 * only from the Nth list() on (a camera still booting). "enter_<plugin>=timeout":
 * that plugin's enter() gets no answer (E_TIMEOUT), so the next entry
 * plugin of the board is tried. identify() answers firmware 9.9.9 and the
 * arch of "arch=TEXT".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omvflash/plugin.h>

static const char *fdir(void)
{
    const char *d = getenv("OMV_FAKE_DIR");
    return d ? d : ".";
}

static void path_of(char *path, size_t n, const char *name)
{
    snprintf(path, n, "%s/%s", fdir(), name);
}

static int exists(const char *name)
{
    char path[600];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

static const char *config(const char *key, char *buf, size_t len)
{
    char path[600], line[256];
    path_of(path, sizeof path, "config");
    FILE *f = fopen(path, "r");
    const char *res = NULL;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            snprintf(buf, len, "%s", line + kl + 1);
            res = buf;
        }
    }
    if (f)
        fclose(f);
    return res;
}

static void logcall(const char *text)
{
    char path[600];
    path_of(path, sizeof path, "calls.log");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    }
}

/* How many times list() ran, counted in a file (the core calls it on every look). */
static int list_count(void)
{
    char path[600];
    path_of(path, sizeof path, "list_count");
    int n = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", n + 1);
        fclose(f);
    }
    return n + 1;
}

/* The camera is in app mode when the config says app=1 and it was not entered yet. */
static int in_app_mode(int counting)
{
    char buf[32];
    if (!config("app", buf, sizeof buf) || strcmp(buf, "1") != 0 || exists("entered"))
        return 0;
    return !counting || !config("app_after", buf, sizeof buf) || list_count() >= atoi(buf);
}

static omv_status entry_list(void *pctx, const struct omv_host *host, const struct omv_match *match,
                             omv_device_found_fn found, void *user, omv_error *err)
{
    (void)pctx;
    (void)host;
    (void)err;
    if (in_app_mode(1)) {
        struct omv_device_info info;
        memset(&info, 0, sizeof info);
        info.vid = match->ids[0].vid;
        info.pid = match->ids[0].pid;
        snprintf(info.port_path, sizeof info.port_path, "9-8");
        snprintf(info.mode, sizeof info.mode, "app");
        found(user, &info);
    }
    return OMV_OK;
}

static omv_status entry_enter(void *pctx, const struct omv_host *host, const struct omv_match *match, omv_error *err)
{
    (void)pctx;
    (void)host;
    (void)match;
    char buf[32];
    if (!in_app_mode(0))
        return omv_error_set(err, OMV_E_NO_DEVICE, "no camera in application mode");
    if (config("enter_" PLUGIN_NAME, buf, sizeof buf) && strcmp(buf, "timeout") == 0) {
        logcall("enter timeout " PLUGIN_NAME);
        return omv_error_set(err, OMV_E_TIMEOUT, PLUGIN_NAME ": the firmware did not answer");
    }
    char path[600];
    path_of(path, sizeof path, "entered");
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    logcall("enter " PLUGIN_NAME);
    return OMV_OK;
}

static omv_status entry_identify(void *pctx, const struct omv_host *host, const struct omv_match *match,
                                 struct omv_app_info *out, omv_error *err)
{
    (void)pctx;
    (void)host;
    if (!in_app_mode(0))
        return omv_error_set(err, OMV_E_NO_DEVICE, "no camera in application mode");
    memset(out, 0, sizeof *out);
    out->device.vid = match->ids[0].vid;
    out->device.pid = match->ids[0].pid;
    out->protocol = 1;
    snprintf(out->firmware_version, sizeof out->firmware_version, "9.9.9");
    if (!config("arch", out->arch, sizeof out->arch))
        out->arch[0] = '\0';
    logcall("identify " PLUGIN_NAME);
    return OMV_OK;
}

static const struct omv_entry_ops ops = {.list = entry_list, .enter = entry_enter, .identify = entry_identify};

static const struct omv_plugin descriptor = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = PLUGIN_NAME,
    .version = "0",
    .description = "test entry plugin",
    .kind = OMV_PLUGIN_ENTRY,
    .entry = &ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { return &descriptor; }
