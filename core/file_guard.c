/*
 * Files the user names, opened so that a hostile or unlucky environment
 * cannot turn them against the run:
 *  - inputs (board files, firmware.lst, images) are opened O_NONBLOCK, so a
 *    FIFO or a terminal never blocks the open, and refused unless they are
 *    regular files of a bounded size (/dev/zero as a board file would grow
 *    without end); their identity (device, inode, size, mtime) is what a
 *    later check compares against;
 *  - outputs (--read) are written to a new temporary file made with mkstemp
 *    in the output's own directory (O_EXCL: a link planted under the
 *    temporary name is never followed) and renamed over the output only if
 *    that is a regular file or does not exist: a symbolic link, a device
 *    node or a FIFO given as the output is refused, never followed, written
 *    into or replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const char *omvi_file_type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return S_ISREG(mode) ? "a regular file" : "not a regular file";
}

static void id_of(const struct stat *st, omvi_file_id *id)
{
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime = st->st_mtim;
}

omv_status omvi_open_input(const char *path, const char *what, uint64_t max_size, omv_status code, int *fd_out,
                           omvi_file_id *id, omv_error *err)
{
    char eb[128];
    *fd_out = -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return omv_error_set(err, code, "%s%s: %s", path, what, omvi_strerror(errno, eb, sizeof eb));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return omv_error_set(err, code, "%s%s: %s", path, what, omvi_strerror(e, eb, sizeof eb));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return omv_error_set(err, code, "%s%s is %s, not a regular file", path, what,
                             omvi_file_type_name(st.st_mode));
    }
    if (max_size && (uint64_t)st.st_size > max_size) {
        close(fd);
        return omv_error_set(err, code, "%s%s is %llu bytes; more than %llu is not one", path, what,
                             (unsigned long long)st.st_size, (unsigned long long)max_size);
    }
    /* Blocking again for the reads (a regular file never blocks anyway). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (id)
        id_of(&st, id);
    *fd_out = fd;
    return OMV_OK;
}

FILE *omvi_open_input_file(const char *path, const char *what, uint64_t max_size, omv_status code,
                           omvi_file_id *id, omv_error *err)
{
    int fd;
    if (omvi_open_input(path, what, max_size, code, &fd, id, err) != OMV_OK)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", path);
    }
    return f;
}

int omvi_file_id_same(const omvi_file_id *a, const omvi_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* ---- outputs ----------------------------------------------------------------- */

/* The directory part of @p path ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == path)
        snprintf(dir, n, "/");
    else
        snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

omv_status omvi_output_check(const char *path, omvi_output_id *id, omv_error *err)
{
    char eb[128], dir[4096];
    memset(id, 0, sizeof *id);
    size_t len = strlen(path);
    if (!len || path[len - 1] == '/')
        return omv_error_set(err, OMV_E_USAGE, "%s: output must be a file, not a directory", path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s is %s: --read writes only regular files (it never follows a link or "
                                 "writes into a device); name a regular file or a new one",
                                 path, omvi_file_type_name(st.st_mode));
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    } else if (errno != ENOENT) {
        return omv_error_set(err, OMV_E_IMAGE, "%s: %s", path, omvi_strerror(errno, eb, sizeof eb));
    }
    dir_of(path, dir, sizeof dir);
    struct stat ds;
    if (stat(dir, &ds) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot write to %s: %s", path, dir,
                             omvi_strerror(errno, eb, sizeof eb));
    if (!S_ISDIR(ds.st_mode))
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot write to %s: not a directory", path, dir);
    if (access(dir, W_OK) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "%s: cannot write to %s: %s", path, dir,
                             omvi_strerror(errno, eb, sizeof eb));
    if (!id->exists) {
        /* Not there yet: the same file is the same name in the same directory. */
        id->dev = ds.st_dev;
        id->ino = ds.st_ino;
        const char *base = strrchr(path, '/');
        snprintf(id->name, sizeof id->name, "%s", base ? base + 1 : path);
    }
    return OMV_OK;
}

int omvi_output_id_same(const omvi_output_id *a, const omvi_output_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && strcmp(a->name, b->name) == 0;
}

int omvi_output_is_input(const omvi_output_id *out, const omvi_file_id *in)
{
    return out->exists && out->dev == in->dev && out->ino == in->ino;
}

omv_status omvi_output_open(const char *path, int *fd, char **tmp_path, omv_error *err)
{
    char eb[128];
    size_t n = strlen(path) + sizeof ".partial-XXXXXX";
    char *tmp = malloc(n);
    if (!tmp)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.partial-XXXXXX", path);
    int f = mkstemp(tmp); /* O_CREAT|O_EXCL, mode 0600: a partition may hold secrets (WiFi keys) */
    if (f < 0) {
        omv_status st = omv_error_set(err, OMV_E_IMAGE, "%s: cannot create a temporary file next to it: %s", path,
                                      omvi_strerror(errno, eb, sizeof eb));
        free(tmp);
        return st;
    }
    fcntl(f, F_SETFD, FD_CLOEXEC);
    *fd = f;
    *tmp_path = tmp;
    return OMV_OK;
}

omv_status omvi_output_replace(const char *tmp_path, int fd, const char *path, omv_error *err)
{
    char eb[128], dir[4096];
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s became %s while the partition was being read: not replaced", path,
                                 omvi_file_type_name(st.st_mode));
        (void)fchmod(fd, st.st_mode & 07777); /* an existing file keeps its permissions */
    }
    /* rename() replaces the name itself: never a file a link points to. */
    if (rename(tmp_path, path) != 0)
        return omv_error_set(err, OMV_E_IMAGE, "cannot rename %s to %s: %s", tmp_path, path,
                             omvi_strerror(errno, eb, sizeof eb));
    dir_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* the rename itself survives a power cut */
        close(dfd);
    }
    return OMV_OK;
}
