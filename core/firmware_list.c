/*
 * firmware.lst (OpenMV releases ship one for the AE3): one image file name
 * per line, '#' comments and blank lines ignored; it restricts a full flash
 * to the images it names. The file is opened as an input (file_guard.c: a
 * FIFO or a directory is refused, at most OMVI_MAX_LIST_FILE bytes); a UTF-8
 * byte order mark (editors on Windows write one) and CR LF line ends are
 * accepted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static long find_by_image(const omv_board *b, const char *image)
{
    for (size_t i = 0; i < b->n_parts; i++)
        if (b->parts[i].image && strcmp(b->parts[i].image, image) == 0)
            return (long)i;
    return -1;
}

/* "firmware_M55_HP.bin, ..." for messages. */
static void image_names(const omv_board *b, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < b->n_parts; i++)
        if (b->parts[i].image && !b->parts[i].info.read_only)
            omvi_join_add(buf, n, b->parts[i].image);
}

/* A listed image in directory @p user: it exists. */
static omv_status file_exists(void *user, const char *lst, int lineno, const char *name, omv_error *err)
{
    const char *dir = user;
    char eb[128];
    size_t dl = strlen(dir), n = dl + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        return omv_error_set(err, OMV_E_NOMEM, "out of memory");
    snprintf(path, n, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
    struct stat sb;
    omv_status st = OMV_OK;
    if (stat(path, &sb) != 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s:%d: %s: %s", lst, lineno, path, omvi_strerror(errno, eb, sizeof eb));
    free(path);
    return st;
}

typedef struct list_src {
    omvi_list_exists_fn exists;
    void *user;
} list_src;

/* One line's name: the partition it is the image of, after every check. */
static omv_status check_name(const omv_board *b, const list_src *src, const char *lst, int lineno, const char *name,
                             const size_t *listed, long *idx, omv_error *err)
{
    char images[512];
    if (!omvi_valid_file_name(name))
        return omv_error_set(err, OMV_E_IMAGE, "%s:%d: '%s' must be a file name without '/'", lst, lineno, name);
    *idx = find_by_image(b, name);
    if (*idx < 0) {
        image_names(b, images, sizeof images);
        return omv_error_set(err, OMV_E_IMAGE, "%s:%d: '%s' is not the image of any partition of %s (images: %s)",
                             lst, lineno, name, b->name, images);
    }
    if (b->parts[*idx].info.read_only)
        return omv_error_set(err, OMV_E_READONLY, "%s:%d: '%s' is for partition %s, which is read-only", lst,
                             lineno, name, b->parts[*idx].name);
    if (listed[*idx])
        return omv_error_set(err, OMV_E_IMAGE, "%s:%d: '%s' is listed twice (first at line %zu)", lst, lineno,
                             name, listed[*idx]);
    return src->exists(src->user, lst, lineno, name, err);
}

/* Read the names into listed[] (line per partition) and order[] (list order). */
static omv_status read_list(const omv_board *b, const list_src *src, const char *lst, FILE *f, size_t *listed,
                            size_t *order, size_t *n_order, omv_error *err)
{
    char *line = NULL;
    size_t cap = 0, bytes = 0;
    int lineno = 0;
    ssize_t len;
    omv_status st = OMV_OK;
    while (st == OMV_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bytes += (size_t)len;
        if (bytes > OMVI_MAX_LIST_FILE) { /* it grew while being read */
            st = omv_error_set(err, OMV_E_IMAGE, "%s: more than %u bytes: not a list of image names", lst,
                               OMVI_MAX_LIST_FILE);
            break;
        }
        char *s = line;
        if (lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
            (unsigned char)s[2] == 0xBF)
            s += 3; /* UTF-8 byte order mark */
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        char *name = trim(s);
        if (!*name)
            continue;
        long idx;
        st = check_name(b, src, lst, lineno, name, listed, &idx, err);
        if (st == OMV_OK) {
            listed[idx] = (size_t)lineno;
            order[(*n_order)++] = (size_t)idx;
        }
    }
    free(line);
    return st;
}

omv_status omvi_firmware_list(const omv_board *b, const char *dir, const char *lst_path, size_t *parts,
                              size_t *n_parts, omv_error *err)
{
    *n_parts = 0;
    FILE *f = omvi_open_input_file(lst_path, "", OMVI_MAX_LIST_FILE, OMV_E_IMAGE, NULL, err);
    if (!f)
        return err ? err->code : OMV_E_IMAGE;
    omv_status st = omvi_firmware_list_read(b, f, lst_path, file_exists, (void *)dir, parts, n_parts, err);
    fclose(f);
    return st;
}

omv_status omvi_firmware_list_read(const omv_board *b, FILE *f, const char *lst_path, omvi_list_exists_fn exists,
                                   void *user, size_t *parts, size_t *n_parts, omv_error *err)
{
    *n_parts = 0;
    list_src src = {exists, user};
    size_t *listed = calloc(b->n_parts ? b->n_parts : 1, sizeof *listed); /* line per partition, 0 = not listed */
    size_t *order = calloc(b->n_parts ? b->n_parts : 1, sizeof *order);
    size_t n_order = 0;
    omv_status st = listed && order ? read_list(b, &src, lst_path, f, listed, order, &n_order, err)
                                    : omv_error_set(err, OMV_E_NOMEM, "out of memory");
    if (st == OMV_OK && n_order == 0)
        st = omv_error_set(err, OMV_E_IMAGE, "%s lists no images", lst_path);
    /* the board's flash order first, then anything else listed, in list order */
    for (size_t i = 0; st == OMV_OK && i < b->flash_order.n; i++)
        if (listed[b->flash_order.index[i]])
            parts[(*n_parts)++] = b->flash_order.index[i];
    for (size_t i = 0; st == OMV_OK && i < n_order; i++) {
        int in = 0;
        for (size_t k = 0; k < *n_parts; k++)
            in |= parts[k] == order[i];
        if (!in)
            parts[(*n_parts)++] = order[i];
    }
    free(listed);
    free(order);
    return st;
}
