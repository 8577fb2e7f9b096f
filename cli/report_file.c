/* --report FILE: durable JSON lines, one per camera per run (see report_file.h). */
#define _GNU_SOURCE /* O_CLOEXEC, pread */
#include "report_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct report_file {
    int fd;
    char *path;
    pthread_mutex_t lock;  /* one append at a time: the torn-line check and the write belong together */
};

/* A new file's directory entry must be durable too, or a power loss can take
 * the whole file (and every record in it) away. */
static void sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

omv_status report_open(const char *path, struct report_file **out, omv_error *err)
{
    *out = NULL;
    /* O_RDWR: the append checks the file's last byte (pread). */
    int created = 1;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY);
    }
    if (fd < 0)
        return omv_error_set(err, OMV_E_CONFIG, "--report %s: cannot open: %s", path, strerror(errno));
    struct report_file *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        close(fd);
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    }
    r->fd = fd;
    pthread_mutex_init(&r->lock, NULL);
    if (created)
        sync_dir_of(path);
    *out = r;
    return OMV_OK;
}

/* Whether the file ends inside a line: a record torn by a crash, which the
 * next record must not be glued to. */
static int ends_mid_line(int fd)
{
    struct stat st;
    char last;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    return pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

/* Write all of iov[0..n): one writev() in the normal case (one atomic append);
 * only a short write (disk full, a file size limit) takes more. */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

omv_status report_append(struct report_file *r, const char *line, size_t len, omv_error *err)
{
    pthread_mutex_lock(&r->lock);
    struct iovec iov[2];
    int n = 0;
    if (ends_mid_line(r->fd))
        iov[n++] = (struct iovec){.iov_base = (void *)"\n", .iov_len = 1};
    iov[n++] = (struct iovec){.iov_base = (void *)line, .iov_len = len};
    omv_status st = OMV_OK;
    if (write_all(r->fd, iov, n) != 0)
        st = omv_error_set(err, OMV_E_CONFIG, "--report %s: cannot append a record: %s", r->path, strerror(errno));
    else if (fsync(r->fd) != 0 && errno != EINVAL && errno != EROFS)
        st = omv_error_set(err, OMV_E_CONFIG, "--report %s: cannot sync a record to disk: %s", r->path,
                           strerror(errno));
    pthread_mutex_unlock(&r->lock);
    return st;
}

const char *report_path(const struct report_file *r)
{
    return r->path;
}

void report_close(struct report_file *r)
{
    if (!r)
        return;
    close(r->fd);
    pthread_mutex_destroy(&r->lock);
    free(r->path);
    free(r);
}
