/* --load and --dump for the openmv_dfu cameras: partition contents in and
 * out of the emulated memories (DfuSe cameras: dfuse_dump.c). */
#include "dfu_device.h"

#include "dfuse_device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool dfu_device_load(dfu_device_t *d, const char *part, const char *file, char *err, size_t errlen)
{
    if (d->dfuse)
        return dfuse_load(d, part, file, err, errlen);
    int alt = camera_model_find_partition(d->cam, part);
    if (alt < 0) {
        snprintf(err, errlen, "--load %s: camera %s has no partition '%s'", part, d->cam->id, part);
        return false;
    }
    const partition_t *p = &d->cam->parts[alt];
    if (p->mem < 0) {
        snprintf(err, errlen, "--load: partition %s has no storage", p->name);
        return false;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        snprintf(err, errlen, "--load %s=%s: %s", part, file, strerror(errno));
        return false;
    }
    uint32_t size = p->limit - p->start, off = 0;
    uint8_t buf[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (n > size - off) {
            snprintf(err, errlen, "--load %s=%s: file larger than the partition (%u bytes)",
                     p->name, file, size);
            ok = false;
            break;
        }
        flash_memory_preset(d->mem[p->mem], p->start + off, buf, n);
        off += (uint32_t)n;
    }
    if (ok && ferror(f)) {
        snprintf(err, errlen, "--load %s=%s: read error", part, file);
        ok = false;
    }
    fclose(f);
    /* --dump shows what the memory holds over everything the test put there
     * or the host wrote: a host that leaves unchanged data alone still gets
     * the whole image compared. */
    if (ok && off && (!d->written[alt] || off > d->written_end[alt]))
        d->written_end[alt] = off;
    d->written[alt] |= ok && off;
    return ok;
}

/* A hung camera still holds what was written before; HUNG.txt says why it
 * stopped answering, so a test sees it next to the partitions. */
static bool dump_hung(const dfu_device_t *d, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/HUNG.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "--dump %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = fprintf(f, "%s\n", d->hung_why) >= 0;
    if (fclose(f) != 0 || !ok) {
        snprintf(err, errlen, "--dump %s: write failed", path);
        return false;
    }
    return true;
}

bool dfu_device_dump(dfu_device_t *d, const char *dir, char *err, size_t errlen)
{
    if (d->dfuse)
        return dfuse_dump(d, dir, err, errlen);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "--dump %s: %s", dir, strerror(errno));
        return false;
    }
    if (d->hung && !dump_hung(d, dir, err, errlen))
        return false;
    for (size_t i = 0; i < d->cam->nparts; i++) {
        const partition_t *p = &d->cam->parts[i];
        if (!d->written[i] || p->mem < 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.bin", dir, p->name);
        FILE *f = fopen(path, "wb");
        if (!f) {
            snprintf(err, errlen, "--dump %s: %s", path, strerror(errno));
            return false;
        }
        uint8_t buf[65536];
        for (uint32_t off = 0; off < d->written_end[i];) {
            uint32_t n = d->written_end[i] - off;
            if (n > sizeof(buf))
                n = sizeof(buf);
            flash_memory_read(d->mem[p->mem], p->start + off, buf, n);
            if (fwrite(buf, 1, n, f) != n)
                break;
            off += n;
        }
        if (fclose(f) != 0) {
            snprintf(err, errlen, "--dump %s: write failed", path);
            return false;
        }
    }
    return true;
}
