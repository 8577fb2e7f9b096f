/*
 * omvflash_fakeentry: an entry plugin for the core's unit tests. With
 * "app=1" in $OMV_FAKE_DIR/config it reports one camera in application mode
 * until enter() is called, which creates $OMV_FAKE_DIR/entered (the fake
 * transports configured with present_NAME=after_enter then answer).
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

static int exists(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fdir(), name);
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

/* The camera is in app mode when the config says app=1 and it was not entered yet. */
static int in_app_mode(void)
{
    char path[600], line[128];
    snprintf(path, sizeof path, "%s/config", fdir());
    FILE *f = fopen(path, "r");
    int app = 0;
    while (f && fgets(line, sizeof line, f))
        app |= strncmp(line, "app=1", 5) == 0;
    if (f)
        fclose(f);
    return app && !exists("entered");
}

static omv_status entry_list(const struct omv_host *host, const struct omv_match *match,
                             omv_device_found_fn found, void *user, omv_error *err)
{
    (void)host;
    (void)err;
    if (in_app_mode()) {
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

static omv_status entry_enter(const struct omv_host *host, const struct omv_match *match, omv_error *err)
{
    (void)host;
    (void)match;
    if (!in_app_mode())
        return omv_error_set(err, OMV_E_NO_DEVICE, "no camera in application mode");
    char path[600];
    snprintf(path, sizeof path, "%s/entered", fdir());
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/calls.log", fdir());
    f = fopen(path, "a");
    if (f) {
        fputs("enter\n", f);
        fclose(f);
    }
    return OMV_OK;
}

static const struct omv_entry_ops ops = {.list = entry_list, .enter = entry_enter};

static const struct omv_plugin descriptor = {
    .abi_version = OMV_PLUGIN_ABI_VERSION,
    .size = sizeof(struct omv_plugin),
    .name = "fakeentry",
    .version = "0",
    .description = "test entry plugin",
    .kind = OMV_PLUGIN_ENTRY,
    .entry = &ops,
};

OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void);
OMV_PLUGIN_EXPORT const struct omv_plugin *omv_plugin_entry(void) { return &descriptor; }
