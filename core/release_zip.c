/*
 * A release zip opened with libzip and checked whole before anything is read
 * from it: a firmware archive is refused outright when any entry is odd
 * (hostile name, encryption, an unsupported compression method, a symbolic
 * link, sizes that disagree), rather than only when that entry is used.
 * OpenMV's CI makes these archives with `zip -r` (FW tools/ci.sh), which
 * writes stored and deflated entries only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "internal.h"
#include "release_zip.h"

typedef struct zfile {
    char *path;
    zip_uint64_t index;   /* libzip's entry index */
    uint64_t size;
} zfile;

struct omvi_zip {
    zip_t *za;
    int fd;               /* the archive, kept to see whether it changes; -1 from memory */
    omvi_file_id id;      /* ... as it was when opened */
    char *label;
    zfile *files;         /* sorted by path */
    size_t n_files;
};

/* ---- errors -------------------------------------------------------------- */

static omv_status entry_error(const char *label, const uint8_t *name, size_t len, omv_error *err,
                              const char *why)
{
    char shown[160];
    omvi_zip_name_escape((const char *)name, len, shown, sizeof shown);
    return omv_error_set(err, OMV_E_IMAGE, "%s: entry '%s': %s", label, shown, why);
}

static omv_status open_error(const char *label, int code, omv_error *err)
{
    if (code == ZIP_ER_MEMORY)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    omv_status st;
    if (code == ZIP_ER_INCONS)
        st = omv_error_set(err, OMV_E_IMAGE,
                           "%s: inconsistent zip archive (an entry's local header disagrees with "
                           "the central directory, or the archive is truncated)",
                           label);
    else if (code == ZIP_ER_EXISTS)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: two entries with the same name", label);
    else if (code == ZIP_ER_NOZIP)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: not a zip archive", label);
    else
        st = omv_error_set(err, OMV_E_IMAGE, "%s: cannot open as a zip archive: %s", label,
                           zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
}

/* ---- one entry ----------------------------------------------------------- */

static const char *method_name(zip_uint16_t m)
{
    switch (m) {
    case ZIP_CM_SHRINK: return "shrink";
    case ZIP_CM_IMPLODE: return "implode";
    case ZIP_CM_DEFLATE64: return "deflate64";
    case ZIP_CM_BZIP2: return "bzip2";
    case ZIP_CM_LZMA: return "lzma";
    case ZIP_CM_XZ: return "xz";
    case 93: return "zstd"; /* APPNOTE 4.4.5; libzip 1.7 has no name for it */
    default: return "unknown";
    }
}

/* What a release never holds: a link, a device, a FIFO (Unix mode in the
 * external attributes, where Info-ZIP and libzip keep it). */
static const char *file_type_problem(zip_t *za, zip_uint64_t i, int is_dir)
{
    zip_uint8_t os = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(za, i, 0, &os, &attr) != 0 || os != ZIP_OPSYS_UNIX)
        return NULL;
    unsigned type = (attr >> 16) & S_IFMT;
    if (type == S_IFLNK)
        return "a symbolic link (refused: a release holds only files and folders)";
    if (type == S_IFDIR && !is_dir)
        return "marked as a folder but its name does not end in '/'";
    if (type != 0 && type != S_IFREG && type != S_IFDIR)
        return "a special file (device, FIFO or socket), not a regular file";
    return NULL;
}

static omv_status check_entry(omvi_zip *z, zip_uint64_t i, const omvi_cdir_entry *raw, int *is_dir,
                              uint64_t *size, omv_error *err)
{
    char why[128];
    const char *lz = zip_get_name(z->za, i, ZIP_FL_ENC_RAW);
    if (!lz || strlen(lz) != raw->name_len || memcmp(lz, raw->name, raw->name_len) != 0)
        return entry_error(z->label, raw->name, raw->name_len, err,
                           "libzip reads a different name than the central directory holds");
    zip_stat_t st;
    zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
                        ZIP_STAT_ENCRYPTION_METHOD | ZIP_STAT_CRC;
    if (zip_stat_index(z->za, i, 0, &st) != 0 || (st.valid & need) != need)
        return entry_error(z->label, raw->name, raw->name_len, err, "libzip cannot describe it");
    *is_dir = raw->name[raw->name_len - 1] == '/';
    *size = st.size;
    if (st.encryption_method != ZIP_EM_NONE)
        return entry_error(z->label, raw->name, raw->name_len, err,
                           "encrypted (a release archive is never encrypted)");
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
        snprintf(why, sizeof why,
                 "compression method %u (%s) is not supported (only stored and deflated entries)",
                 st.comp_method, method_name(st.comp_method));
        return entry_error(z->label, raw->name, raw->name_len, err, why);
    }
    const char *type = file_type_problem(z->za, i, *is_dir);
    if (type)
        return entry_error(z->label, raw->name, raw->name_len, err, type);
    if (st.comp_method == ZIP_CM_STORE && st.comp_size != st.size) {
        snprintf(why, sizeof why, "stored (uncompressed) but its sizes disagree: %llu bytes "
                                  "recorded, %llu stored",
                 (unsigned long long)st.size, (unsigned long long)st.comp_size);
        return entry_error(z->label, raw->name, raw->name_len, err, why);
    }
    if (*is_dir && st.size != 0)
        return entry_error(z->label, raw->name, raw->name_len, err, "a folder entry that holds data");
    return OMV_OK;
}

/* ---- the whole archive --------------------------------------------------- */

static int cmp_zfile(const void *a, const void *b)
{
    return strcmp(((const zfile *)a)->path, ((const zfile *)b)->path);
}

/* Names first, from the raw directory, before libzip reads the archive:
 * libzip shows a NUL in a name as a space and refuses a repeated name with a
 * bare "File already exists". */
static omv_status check_names(const char *label, const omvi_cdir *cd, omv_error *err)
{
    char why[1200];
    char **names = calloc(cd->n ? cd->n : 1, sizeof *names);
    if (!names)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
    omv_status st = OMV_OK;
    for (size_t i = 0; i < cd->n && st == OMV_OK; i++) {
        const omvi_cdir_entry *e = &cd->v[i];
        if (omvi_zip_name_check((const char *)e->name, e->name_len, why, sizeof why) != 0)
            st = entry_error(label, e->name, e->name_len, err, why);
        else if (!(names[i] = malloc(e->name_len + 1)))
            st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
        else {
            memcpy(names[i], e->name, e->name_len);
            names[i][e->name_len] = '\0';
        }
    }
    size_t a, b;
    int r = st == OMV_OK ? omvi_zip_names_clash((const char *const *)names, cd->n, &a, &b) : 0;
    if (r < 0)
        st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
    if (r > 0) {
        if (strcmp(names[a], names[b]) == 0)
            snprintf(why, sizeof why, "duplicate of entry %zu", a + 1);
        else if (strcasecmp(names[a], names[b]) == 0)
            snprintf(why, sizeof why, "differs only in case from '%s' (entry %zu): one path on a "
                     "case-insensitive file system", names[a], a + 1);
        else
            snprintf(why, sizeof why, "'%s' (entry %zu) would be both a file and a folder",
                     names[a], a + 1);
        st = entry_error(label, cd->v[b].name, cd->v[b].name_len, err, why);
    }
    omvi_free_list(names, cd->n);
    return st;
}

/* Check every entry against the raw directory @p cd and index the files. */
static omv_status build_index(omvi_zip *z, const omvi_cdir *cd, omv_error *err)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    if (n < 0 || (uint64_t)n != cd->n)
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s: inconsistent zip archive: libzip sees %lld entries, the central "
                             "directory holds %zu",
                             z->label, (long long)n, cd->n);
    z->files = calloc(cd->n ? cd->n : 1, sizeof *z->files);
    if (!z->files)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", z->label);
    omv_status st = OMV_OK;
    for (size_t i = 0; i < cd->n && st == OMV_OK; i++) {
        int is_dir = 0;
        uint64_t size = 0;
        st = check_entry(z, i, &cd->v[i], &is_dir, &size, err);
        if (st != OMV_OK)
            break;
        if (is_dir)
            continue;
        zfile *f = &z->files[z->n_files];
        if (!(f->path = omvi_strdup(zip_get_name(z->za, i, ZIP_FL_ENC_RAW))))
            st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", z->label);
        f->index = i;
        f->size = size;
        z->n_files++;
    }
    if (st == OMV_OK && z->n_files == 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: the archive holds no files", z->label);
    if (st == OMV_OK)
        qsort(z->files, z->n_files, sizeof *z->files, cmp_zfile);
    return st;
}

static omvi_zip *new_zip(const char *label)
{
    omvi_zip *z = calloc(1, sizeof *z);
    if (z && !(z->label = omvi_strdup(label))) {
        free(z);
        z = NULL;
    }
    if (z)
        z->fd = -1;
    return z;
}

static int fd_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = *(const int *)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* the file shrank under us */
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

typedef struct membuf {
    const uint8_t *data;
    size_t size;
} membuf;

static int mem_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    const membuf *m = ctx;
    if (off > m->size || len > m->size - off) {
        errno = EIO;
        return -1;
    }
    memcpy(buf, m->data + off, len);
    return 0;
}

/* Raw directory first (names as stored), then libzip's view, then the index. */
static omv_status open_common(omvi_zip *z, omvi_cdir *cd, omv_error *err)
{
    omv_status st = build_index(z, cd, err);
    omvi_zip_cdir_free(cd);
    return st;
}

omv_status omvi_zip_open_fd(int fd, const char *label, omvi_zip **out, omv_error *err)
{
    *out = NULL;
    struct stat sb;
    char eb[128];
    omvi_cdir cd;
    omv_status st;
    if (fstat(fd, &sb) != 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s: %s", label, omvi_strerror(errno, eb, sizeof eb));
    else if ((st = omvi_zip_cdir_read(fd_read_at, &fd, (uint64_t)sb.st_size, &cd, err)) != OMV_OK)
        omv_error_prefix(err, "%s", label);
    else if ((st = check_names(label, &cd, err)) != OMV_OK)
        omvi_zip_cdir_free(&cd);
    omvi_zip *z = st == OMV_OK ? new_zip(label) : NULL;
    if (st == OMV_OK && !z) {
        omvi_zip_cdir_free(&cd);
        st = omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", label);
    }
    if (st != OMV_OK) {
        close(fd);
        return st;
    }
    z->fd = fd;
    z->id = (omvi_file_id){sb.st_dev, sb.st_ino, (uint64_t)sb.st_size, sb.st_mtim};
    /* libzip reads through a descriptor of its own (it dup()s this one
     * again, and closes the one it is given only on success). */
    int lz = dup(fd);
    int code = ZIP_ER_OPEN;
    z->za = lz >= 0 ? zip_fdopen(lz, ZIP_CHECKCONS | ZIP_RDONLY, &code) : NULL;
    if (!z->za) {
        if (lz >= 0)
            close(lz);
        omvi_zip_cdir_free(&cd);
        omvi_zip_close(z);
        return open_error(label, code, err);
    }
    st = open_common(z, &cd, err);
    if (st != OMV_OK)
        omvi_zip_close(z);
    else
        *out = z;
    return st;
}

omv_status omvi_zip_open_buffer(const void *data, size_t size, const char *label, omvi_zip **out,
                                omv_error *err)
{
    *out = NULL;
    membuf m = {data, size};
    omvi_cdir cd;
    omv_status st = omvi_zip_cdir_read(mem_read_at, &m, size, &cd, err);
    if (st != OMV_OK)
        return omv_error_prefix(err, "%s", label);
    if ((st = check_names(label, &cd, err)) != OMV_OK) {
        omvi_zip_cdir_free(&cd);
        return st;
    }
    omvi_zip *z = new_zip(label);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = z ? zip_source_buffer_create(data, size, 0, &ze) : NULL;
    if (src)
        z->za = zip_open_from_source(src, ZIP_CHECKCONS | ZIP_RDONLY, &ze);
    if (!z || !z->za) {
        int code = z ? zip_error_code_zip(&ze) : ZIP_ER_MEMORY;
        zip_source_free(src); /* NULL-safe; not owned by an archive that failed to open */
        zip_error_fini(&ze);
        omvi_zip_cdir_free(&cd);
        omvi_zip_close(z);
        return open_error(label, code, err);
    }
    zip_error_fini(&ze);
    st = open_common(z, &cd, err);
    if (st != OMV_OK)
        omvi_zip_close(z);
    else
        *out = z;
    return st;
}

void omvi_zip_close(omvi_zip *z)
{
    if (!z)
        return;
    if (z->za)
        zip_discard(z->za); /* read-only: never write anything back */
    if (z->fd >= 0)
        close(z->fd);
    for (size_t i = 0; i < z->n_files; i++)
        free(z->files[i].path);
    free(z->files);
    free(z->label);
    free(z);
}

/* ---- lookups ------------------------------------------------------------- */

const char *omvi_zip_label(const omvi_zip *z) { return z->label; }
const omvi_file_id *omvi_zip_identity(const omvi_zip *z) { return &z->id; }
size_t omvi_zip_file_count(const omvi_zip *z) { return z->n_files; }
const char *omvi_zip_file_path(const omvi_zip *z, size_t i) { return z->files[i].path; }
uint64_t omvi_zip_file_size(const omvi_zip *z, size_t i) { return z->files[i].size; }

long omvi_zip_find(const omvi_zip *z, const char *path)
{
    size_t lo = 0, hi = z->n_files;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->files[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- streaming one entry ----------------------------------------------- */

struct omvi_zip_stream {
    struct omv_source src;
    omvi_zip *z;
    zip_file_t *zf;
    const char *path;
    uint64_t done;
};

static omv_status stream_error(omvi_zip_stream *s, omv_error *err, const char *what)
{
    zip_error_t *ze = zip_file_get_error(s->zf);
    int code = zip_error_code_zip(ze);
    const char *why;
    char buf[160];
    if (code == ZIP_ER_CRC)
        why = "CRC-32 mismatch: the entry is corrupt";
    else if (code == ZIP_ER_COMPRESSED_DATA || code == ZIP_ER_INCONS)
        why = "corrupt compressed data";
    else if (code == ZIP_ER_EOF)
        why = "unexpected end of the archive (truncated)";
    else {
        snprintf(buf, sizeof buf, "%s", zip_error_strerror(ze));
        why = buf;
    }
    return omv_error_set(err, OMV_E_IMAGE, "%s: entry '%s': %s %s (after %llu of %llu bytes)",
                         s->z->label, s->path, what, why, (unsigned long long)s->done,
                         (unsigned long long)s->src.size);
}

/* After the last byte: one more read must hit the end. That read is what makes
 * libzip compare the CRC-32 and size (it can tell only at the end), so a
 * corrupt entry fails here, on the read that completes the image. */
static omv_status check_end(omvi_zip_stream *s, omv_error *err)
{
    uint8_t extra;
    zip_int64_t r = zip_fread(s->zf, &extra, 1);
    if (r < 0)
        return stream_error(s, err, "at its end:");
    if (r > 0)
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s: entry '%s': holds more than the %llu bytes the archive records "
                             "(corrupt, or a wrong size recorded)",
                             s->z->label, s->path, (unsigned long long)s->src.size);
    struct stat now;
    const omvi_file_id *id = &s->z->id;
    if (s->z->fd >= 0 && (fstat(s->z->fd, &now) != 0 || (uint64_t)now.st_size != id->size ||
                          now.st_mtim.tv_sec != id->mtime.tv_sec ||
                          now.st_mtim.tv_nsec != id->mtime.tv_nsec))
        return omv_error_set(err, OMV_E_IMAGE,
                             "%s changed while entry '%s' was being read (size or modification "
                             "time): the bytes read are not one consistent archive",
                             s->z->label, s->path);
    return OMV_OK;
}

static omv_status stream_read(void *ctx, uint8_t *buf, size_t len, size_t *got, omv_error *err)
{
    omvi_zip_stream *s = ctx;
    *got = 0;
    uint64_t left = s->src.size - s->done;
    if (len > left)
        len = (size_t)left;
    size_t n = 0;
    while (n < len) {
        zip_int64_t r = zip_fread(s->zf, buf + n, len - n);
        if (r < 0)
            return stream_error(s, err, "cannot read:");
        if (r == 0)
            return omv_error_set(err, OMV_E_IMAGE,
                                 "%s: entry '%s': ends after %llu of the %llu bytes the archive "
                                 "records (truncated)",
                                 s->z->label, s->path, (unsigned long long)s->done,
                                 (unsigned long long)s->src.size);
        n += (size_t)r;
        s->done += (uint64_t)r;
    }
    /* len == 0 with bytes left never happens (callers ask for > 0); at the end it does. */
    if (s->done == s->src.size && (n > 0 || s->src.size == 0)) {
        omv_status st = check_end(s, err);
        if (st != OMV_OK)
            return st;
    }
    *got = n;
    return OMV_OK;
}

/* A compressed entry cannot seek: its bytes are inflated and dropped. */
static omv_status stream_skip(void *ctx, uint64_t n, omv_error *err)
{
    return omvi_source_skip_by_reading(&((omvi_zip_stream *)ctx)->src, n, err);
}

omv_status omvi_zip_stream_open(omvi_zip *z, size_t i, omvi_zip_stream **out, omv_error *err)
{
    *out = NULL;
    omvi_zip_stream *s = calloc(1, sizeof *s);
    if (!s)
        return omv_error_set(err, OMV_E_NOMEM, "%s: out of memory", z->label);
    s->z = z;
    s->path = z->files[i].path;
    s->zf = zip_fopen_index(z->za, z->files[i].index, 0);
    if (!s->zf) {
        omv_status st = omv_error_set(err, OMV_E_IMAGE, "%s: entry '%s': cannot open: %s",
                                      z->label, s->path, zip_strerror(z->za));
        free(s);
        return st;
    }
    s->src.ctx = s;
    s->src.size = z->files[i].size;
    s->src.read = stream_read;
    s->src.skip = stream_skip;
    *out = s;
    return OMV_OK;
}

const struct omv_source *omvi_zip_stream_source(omvi_zip_stream *s) { return &s->src; }

void omvi_zip_stream_close(omvi_zip_stream *s)
{
    if (!s)
        return;
    if (s->zf)
        zip_fclose(s->zf);
    free(s);
}
