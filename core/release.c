/*
 * Releases: a zip or a directory behind one interface (release.h). This file
 * opens the path once, tells a zip's layout from its names (OpenMV's CI
 * zips a stable release as one folder per firmware target, `zip -r
 * firmware_<tag>.zip *`, and a development build per target with the files
 * at the top, `zip -r -j firmware_<TARGET>.zip`; FW tools/ci.sh), picks a
 * board's folder and hands out streams from the right backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "release.h"
#include "release_dir.h"
#include "release_zip.h"

struct omvi_release {
    omvi_release_kind kind;
    const char *path;
    omvi_zip *zip;          /* zip kinds */
    omvi_rdir *dir;         /* OMVI_RELEASE_DIR */
    char **folders;         /* zip: folders holding files, sorted */
    size_t n_folders;
    char *name_target;      /* development zip: TARGET of firmware_TARGET.zip */
};

struct omvi_release_stream {
    omvi_zip_stream *zs;
    omvi_rdir_stream *ds;
    char *label;
};

/* ---- opening -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct folders of the zip's files, sorted ("" for top-level files is left out). */
static omv_status zip_folders(omvi_release *r, omv_error *err)
{
    size_t n = omvi_zip_file_count(r->zip);
    r->folders = calloc(n ? n : 1, sizeof *r->folders);
    if (!r->folders)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", r->path);
    for (size_t i = 0; i < n; i++) {
        const char *p = omvi_zip_file_path(r->zip, i);
        const char *slash = strrchr(p, '/');
        if (!slash)
            continue;
        size_t len = (size_t)(slash - p);
        /* files are sorted by path, so a folder's files are next to each other */
        if (r->n_folders && strlen(r->folders[r->n_folders - 1]) == len &&
            strncmp(r->folders[r->n_folders - 1], p, len) == 0)
            continue;
        char *f = malloc(len + 1);
        if (!f)
            return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", r->path);
        memcpy(f, p, len);
        f[len] = '\0';
        r->folders[r->n_folders++] = f;
    }
    /* "A/B/x" sorts between "A/x" and "A/y": sort and drop repeats. */
    qsort(r->folders, r->n_folders, sizeof *r->folders, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < r->n_folders; i++) {
        if (w && strcmp(r->folders[w - 1], r->folders[i]) == 0)
            free(r->folders[i]);
        else
            r->folders[w++] = r->folders[i];
    }
    r->n_folders = w;
    return OMV_OK;
}

/* "firmware_OPENMV4.zip" -> "OPENMV4" (the development release's names). */
static omv_status name_target(omvi_release *r, omv_error *err)
{
    const char *base = strrchr(r->path, '/');
    base = base ? base + 1 : r->path;
    size_t len = strlen(base);
    static const char pre[] = "firmware_", suf[] = ".zip";
    if (len <= sizeof pre - 1 + sizeof suf - 1 || strncmp(base, pre, sizeof pre - 1) != 0 ||
        strcmp(base + len - (sizeof suf - 1), suf) != 0)
        return OMV_OK;
    size_t tl = len - (sizeof pre - 1) - (sizeof suf - 1);
    if (!(r->name_target = malloc(tl + 1)))
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", r->path);
    memcpy(r->name_target, base + sizeof pre - 1, tl);
    r->name_target[tl] = '\0';
    return OMV_OK;
}

static omv_status open_zip(omvi_release *r, int fd, omv_error *err)
{
    omv_status st = omvi_zip_open_fd(fd, r->path, &r->zip, err);
    if (st == OMV_OK)
        st = zip_folders(r, err);
    if (st != OMV_OK)
        return st;
    r->kind = r->n_folders ? OMVI_RELEASE_ZIP_STABLE : OMVI_RELEASE_ZIP_DEVELOPMENT;
    return r->kind == OMVI_RELEASE_ZIP_DEVELOPMENT ? name_target(r, err) : OMV_OK;
}

omv_status omvi_release_open(const char *path, omvi_release **out, omv_error *err)
{
    char eb[128];
    *out = NULL;
    omvi_release *r = calloc(1, sizeof *r);
    if (!r)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    r->path = path;
    /* As omvi_open_input() opens inputs (a FIFO at PATH must not block the
     * open), but a directory is welcome too; fstat() decides on the
     * descriptor itself, with no window for a swap. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat sb;
    omv_status st = OMV_OK;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", path, omvi_strerror(errno, eb, sizeof eb));
        if (fd >= 0)
            close(fd);
    } else if (S_ISDIR(sb.st_mode)) {
        r->kind = OMVI_RELEASE_DIR;
        st = omvi_rdir_open(fd, path, &r->dir, err);
    } else if (S_ISREG(sb.st_mode)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        st = open_zip(r, fd, err);
    } else {
        close(fd);
        st = omv_error_set(err, OMV_E_IMAGE, "%s is %s, neither a directory nor a zip file", path,
                           omvi_file_type_name(sb.st_mode));
    }
    if (st != OMV_OK) {
        omvi_release_close(r);
        return st;
    }
    *out = r;
    return OMV_OK;
}

void omvi_release_close(omvi_release *r)
{
    if (!r)
        return;
    omvi_zip_close(r->zip);
    omvi_rdir_close(r->dir);
    omvi_free_list(r->folders, r->n_folders);
    free(r->name_target);
    free(r);
}

/* ---- what is in it ---------------------------------------------------------- */

omvi_release_kind omvi_release_kind_of(const omvi_release *r) { return r->kind; }
const char *omvi_release_path(const omvi_release *r) { return r->path; }
const char *omvi_release_name_target(const omvi_release *r) { return r->name_target; }

size_t omvi_release_folder_count(const omvi_release *r)
{
    return r->dir ? omvi_rdir_folder_count(r->dir) : r->n_folders;
}

const char *omvi_release_folder_at(const omvi_release *r, size_t i)
{
    if (i >= omvi_release_folder_count(r))
        return NULL;
    return r->dir ? omvi_rdir_folder_at(r->dir, i) : r->folders[i];
}

static void folder_list(const omvi_release *r, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_folders; i++)
        omvi_join_add(buf, len, r->folders[i]);
}

static const char *last_component(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

omv_status omvi_release_board_folder(const omvi_release *r, const char *firmware_dir,
                                     const char **folder, omv_error *err)
{
    *folder = "";
    if (r->kind == OMVI_RELEASE_DIR) {
        const char *f = firmware_dir ? omvi_rdir_find_folder(r->dir, firmware_dir) : NULL;
        *folder = f ? f : "";
        return OMV_OK;
    }
    if (r->kind == OMVI_RELEASE_ZIP_DEVELOPMENT)
        return OMV_OK;
    char names[512];
    folder_list(r, names, sizeof names);
    if (!firmware_dir)
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s holds one folder per camera (%s), and the board file names none "
                             "of them (firmware_dir)",
                             r->path, names);
    size_t hits = 0;
    for (size_t i = 0; i < r->n_folders; i++)
        if (strcmp(last_component(r->folders[i]), firmware_dir) == 0) {
            if (!hits++)
                *folder = r->folders[i];
        }
    if (hits == 1)
        return OMV_OK;
    *folder = "";
    if (hits == 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s has no %s/ folder (folders: %s)", r->path,
                             firmware_dir, names);
    return omv_error_set(err, OMV_E_IMAGE, "%s has %zu folders named %s/ (folders: %s)", r->path,
                         hits, firmware_dir, names);
}

/* ---- files ------------------------------------------------------------------ */

/* FOLDER/NAME (or NAME at the top), malloc'd; NULL when out of memory. */
static char *join(const char *folder, const char *name)
{
    size_t n = strlen(folder) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", folder, *folder ? "/" : "", name);
    return p;
}

static omv_status check_name(const omvi_release *r, const char *name, omv_error *err)
{
    if (omvi_valid_file_name(name))
        return OMV_OK;
    return omv_error_set(err, OMV_E_IMAGE, "%s: '%s' is not a plain file name", r->path, name);
}

static int zip_has_folder(const omvi_release *r, const char *folder)
{
    return !*folder || bsearch(&folder, r->folders, r->n_folders, sizeof *r->folders, cmp_str);
}

omv_status omvi_release_list(const omvi_release *r, const char *folder, omvi_release_file_fn found,
                             void *user, omv_error *err)
{
    if (r->dir)
        return omvi_rdir_list(r->dir, folder, found, user, err);
    if (!zip_has_folder(r, folder))
        return omv_error_set(err, OMV_E_IMAGE, "%s has no %s/ folder", r->path, folder);
    size_t fl = strlen(folder);
    for (size_t i = 0; i < omvi_zip_file_count(r->zip); i++) {
        const char *p = omvi_zip_file_path(r->zip, i);
        if (fl && (strncmp(p, folder, fl) != 0 || p[fl] != '/'))
            continue;
        const char *name = fl ? p + fl + 1 : p;
        if (!strchr(name, '/'))
            found(user, name, omvi_zip_file_size(r->zip, i));
    }
    return OMV_OK;
}

omv_status omvi_release_stat(const omvi_release *r, const char *folder, const char *name,
                             uint64_t *size, omvi_file_id *snap, omv_error *err)
{
    omv_status st = check_name(r, name, err);
    char *rel = st == OMV_OK ? join(folder, name) : NULL;
    if (st == OMV_OK && !rel)
        st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", r->path);
    if (st != OMV_OK)
        return st;
    if (r->dir) {
        st = omvi_rdir_stat(r->dir, rel, size, snap, err);
    } else {
        long i = omvi_zip_find(r->zip, rel);
        if (i < 0)
            st = omv_error_set(err, OMV_E_IMAGE, "%s has no %s", r->path, rel);
        else
            *size = omvi_zip_file_size(r->zip, (size_t)i);
        if (st == OMV_OK && snap)
            *snap = *omvi_zip_identity(r->zip);
    }
    free(rel);
    return st;
}

omv_status omvi_release_stream_open(omvi_release *r, const char *folder, const char *name,
                                    const omvi_file_id *snap, omvi_release_stream **out,
                                    omv_error *err)
{
    *out = NULL;
    omv_status st = check_name(r, name, err);
    if (st != OMV_OK)
        return st;
    omvi_release_stream *s = calloc(1, sizeof *s);
    char *rel = join(folder, name);
    size_t ln = strlen(r->path) + (rel ? strlen(rel) : 0) + 2;
    if (s)
        s->label = malloc(ln);
    if (!s || !rel || !s->label) {
        free(rel);
        omvi_release_stream_close(s);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", r->path);
    }
    snprintf(s->label, ln, "%s%s%s", r->path, r->dir ? "/" : ":", rel);
    if (r->dir) {
        st = omvi_rdir_stream_open(r->dir, rel, snap, &s->ds, err);
    } else {
        long i = omvi_zip_find(r->zip, rel);
        if (i < 0)
            st = omv_error_set(err, OMV_E_IMAGE, "%s has no %s", r->path, rel);
        else if (snap && !omvi_file_id_same(snap, omvi_zip_identity(r->zip)))
            st = omv_error_set(err, OMV_E_IMAGE,
                               "%s changed after it was checked (another archive, or rewritten): "
                               "run again once the file is complete",
                               r->path);
        else
            st = omvi_zip_stream_open(r->zip, (size_t)i, &s->zs, err);
    }
    free(rel);
    if (st != OMV_OK) {
        omvi_release_stream_close(s);
        return st;
    }
    *out = s;
    return OMV_OK;
}

const struct omv_source *omvi_release_stream_source(omvi_release_stream *s)
{
    return s->zs ? omvi_zip_stream_source(s->zs) : omvi_rdir_stream_source(s->ds);
}

const char *omvi_release_stream_label(const omvi_release_stream *s) { return s->label; }

void omvi_release_stream_close(omvi_release_stream *s)
{
    if (!s)
        return;
    omvi_zip_stream_close(s->zs);
    omvi_rdir_stream_close(s->ds);
    free(s->label);
    free(s);
}
