/*
 * The directory backend of releases (--firmware DIR). Images are opened with
 * the core's input guard (omvi_open_input(): O_NONBLOCK so a FIFO cannot
 * block, regular files only, judged on the opened descriptor) and streamed
 * with read(). Their identity (device, inode, size, mtime) is compared with
 * the snapshot taken when they were checked, when they are opened again and
 * after their last byte, so an image rewritten or replaced meanwhile is
 * reported instead of written half old, half new.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "release_dir.h"

struct omvi_rdir {
    int dfd;
    char *label;
    char **folders;
    size_t n_folders;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names (and sizes) of @p dirfd's entries whose stat() passes @p keep; unsorted. */
static omv_status read_names(int dirfd, const char *label, int (*keep)(const struct stat *),
                             char ***names, uint64_t **sizes, size_t *n, omv_error *err)
{
    char eb[128];
    *names = NULL;
    *n = 0;
    if (sizes)
        *sizes = NULL;
    int fd = dup(dirfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", label, omvi_strerror(e, eb, sizeof eb));
    }
    rewinddir(dir); /* the dup shares the offset with dirfd */
    omv_status st = OMV_OK;
    size_t cap = 0;
    struct dirent *e;
    while (st == OMV_OK && (errno = 0, e = readdir(dir))) {
        struct stat sb;
        if (e->d_name[0] == '.' || fstatat(dirfd, e->d_name, &sb, 0) != 0 || !keep(&sb))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*names, cap * sizeof *nv);
            uint64_t *sv = sizes ? realloc(*sizes, cap * sizeof *sv) : NULL;
            if (nv)
                *names = nv;
            if (sv)
                *sizes = sv;
            if (!nv || (sizes && !sv)) {
                st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
                break;
            }
        }
        if (!((*names)[*n] = omvi_strdup(e->d_name))) {
            st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
            break;
        }
        if (sizes)
            (*sizes)[*n] = (uint64_t)sb.st_size;
        (*n)++;
    }
    if (st == OMV_OK && errno != 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", label, omvi_strerror(errno, eb, sizeof eb));
    closedir(dir);
    return st;
}

static int is_dir(const struct stat *sb) { return S_ISDIR(sb->st_mode); }
static int is_reg(const struct stat *sb) { return S_ISREG(sb->st_mode); }

omv_status omvi_rdir_open(int dfd, const char *label, omvi_rdir **out, omv_error *err)
{
    *out = NULL;
    omvi_rdir *d = calloc(1, sizeof *d);
    if (!d || !(d->label = omvi_strdup(label))) {
        free(d);
        close(dfd);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
    }
    d->dfd = dfd;
    omv_status st = read_names(dfd, label, is_dir, &d->folders, NULL, &d->n_folders, err);
    if (st != OMV_OK) {
        omvi_rdir_close(d);
        return st;
    }
    if (d->n_folders > 1)
        qsort(d->folders, d->n_folders, sizeof *d->folders, cmp_str);
    *out = d;
    return OMV_OK;
}

void omvi_rdir_close(omvi_rdir *d)
{
    if (!d)
        return;
    close(d->dfd);
    omvi_free_list(d->folders, d->n_folders);
    free(d->label);
    free(d);
}

size_t omvi_rdir_folder_count(const omvi_rdir *d) { return d->n_folders; }
const char *omvi_rdir_folder_at(const omvi_rdir *d, size_t i) { return d->folders[i]; }

const char *omvi_rdir_find_folder(const omvi_rdir *d, const char *name)
{
    if (!d->n_folders)
        return NULL; /* folders is NULL then, which bsearch() must not get */
    char *const *hit = bsearch(&name, d->folders, d->n_folders, sizeof *d->folders, cmp_str);
    return hit ? *hit : NULL;
}

typedef struct named_size {
    char *name;
    uint64_t size;
} named_size;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named_size *)a)->name, ((const named_size *)b)->name);
}

omv_status omvi_rdir_list(const omvi_rdir *d, const char *folder,
                          void (*found)(void *user, const char *name, uint64_t size), void *user,
                          omv_error *err)
{
    char eb[128];
    int fd = *folder ? openat(d->dfd, folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(d->dfd);
    if (fd < 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s/%s: %s", d->label, folder,
                             omvi_strerror(errno, eb, sizeof eb));
    char **names;
    uint64_t *sizes;
    size_t n;
    omv_status st = read_names(fd, d->label, is_reg, &names, &sizes, &n, err);
    close(fd);
    if (st != OMV_OK) {
        omvi_free_list(names, n);
        free(sizes);
        return st;
    }
    named_size *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        omvi_free_list(names, n);
        free(sizes);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", d->label);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (named_size){names[i], sizes[i]};
    qsort(v, n, sizeof *v, cmp_named);
    for (size_t i = 0; i < n; i++)
        found(user, v[i].name, v[i].size);
    free(v);
    omvi_free_list(names, n);
    free(sizes);
    return OMV_OK;
}

/* ---- regular files, opened once ------------------------------------------ */

/* DIR/REL, malloc'd. */
static char *path_of(const omvi_rdir *d, const char *rel)
{
    size_t n = strlen(d->label) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", d->label, rel);
    return p;
}

omv_status omvi_rdir_stat(const omvi_rdir *d, const char *rel, uint64_t *size, omvi_file_id *snap,
                          omv_error *err)
{
    char *path = path_of(d, rel);
    if (!path)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", d->label);
    int fd = -1;
    omvi_file_id id;
    omv_status st = omvi_open_input(path, "", 0, OMV_E_IMAGE, &fd, &id, err);
    free(path);
    if (st != OMV_OK)
        return st;
    close(fd);
    *size = id.size;
    if (snap)
        *snap = id;
    return OMV_OK;
}

struct omvi_rdir_stream {
    struct omv_source src;
    int fd;
    char *path;          /* DIR/rel */
    omvi_file_id snap;   /* the file as checked: src.size is snap.size */
    uint64_t done;
};

/* How the file on @p fd differs from @p snap ("" when it does not). */
static void what_changed(int fd, const omvi_file_id *snap, char *buf, size_t n)
{
    struct stat now;
    buf[0] = '\0';
    if (fstat(fd, &now) != 0)
        snprintf(buf, n, "it can no longer be examined");
    else if ((uint64_t)now.st_size != snap->size)
        snprintf(buf, n, "its size went from %llu to %llu bytes", (unsigned long long)snap->size,
                 (unsigned long long)now.st_size);
    else if (now.st_mtim.tv_sec != snap->mtime.tv_sec || now.st_mtim.tv_nsec != snap->mtime.tv_nsec)
        snprintf(buf, n, "it was modified (same size, new modification time)");
}

static omv_status rdir_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    omvi_rdir_stream *s = ctx;
    char eb[128];
    *got = 0;
    uint64_t left = s->src.size - s->done;
    if (len > left)
        len = (size_t)left;
    size_t n = 0;
    while (n < len) {
        ssize_t r = read(s->fd, buf + n, len - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return omv_error_set(err, OMV_E_IMAGE, "%s: read error at offset %llu: %s", s->path,
                                 (unsigned long long)(s->done + n), omvi_strerror(errno, eb, sizeof eb));
        if (r == 0)
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s: file shrank while being read (ends at %llu, expected %llu bytes)",
                                 s->path, (unsigned long long)(s->done + n),
                                 (unsigned long long)s->src.size);
        n += (size_t)r;
    }
    s->done += n;
    if (s->done == s->src.size && n > 0) {
        char what[160];
        what_changed(s->fd, &s->snap, what, sizeof what);
        if (what[0])
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s changed while it was being read (%s): the bytes read are not one "
                                 "consistent file",
                                 s->path, what);
    }
    *got = n;
    return OMV_OK;
}

/* The stream is a plain file, but reading keeps the end-of-file and shrink checks of rdir_read() in one place. */
static omv_status rdir_skip(void *ctx, uint64_t n, omv_error *err)
{
    return omvi_source_skip_by_reading(&((omvi_rdir_stream *)ctx)->src, n, err);
}

omv_status omvi_rdir_stream_open(const omvi_rdir *d, const char *rel, const omvi_file_id *snap,
                                 omvi_rdir_stream **out, omv_error *err)
{
    *out = NULL;
    omvi_rdir_stream *s = calloc(1, sizeof *s);
    if (s)
        s->path = path_of(d, rel);
    if (!s || !s->path) {
        free(s);
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", d->label);
    }
    omvi_file_id now;
    omv_status st = omvi_open_input(s->path, "", 0, OMV_E_IMAGE, &s->fd, &now, err);
    if (st == OMV_OK && snap && !omvi_file_id_same(&now, snap)) {
        char what[160];
        what_changed(s->fd, snap, what, sizeof what);
        st = omv_error_set(err, OMV_E_IMAGE,
                           "%s changed after it was checked (%s): run again once the file is complete",
                           s->path, what[0] ? what : "another file was put in its place");
    }
    if (st != OMV_OK) {
        omvi_rdir_stream_close(s);
        return st;
    }
    s->snap = snap ? *snap : now;
    s->src.ctx = s;
    s->src.size = s->snap.size;
    s->src.read = rdir_read;
    s->src.skip = rdir_skip;
    *out = s;
    return OMV_OK;
}

const struct omv_source *omvi_rdir_stream_source(omvi_rdir_stream *s) { return &s->src; }

void omvi_rdir_stream_close(omvi_rdir_stream *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->path);
    free(s);
}
