/*
 * A directory used as a release (--firmware DIR): the directory backend of
 * release.h. Images are opened with the core's input guard
 * (omvi_open_input(): O_NONBLOCK so a FIFO planted as an image cannot
 * block, regular files only) and compared with their snapshot
 * (omvi_file_id). Nothing here is exported.
 */
#ifndef OMVFLASH_RELEASE_DIR_H
#define OMVFLASH_RELEASE_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct omvi_rdir omvi_rdir;

/**
 * Take directory descriptor @p dfd (consumed: closed on failure and by
 * omvi_rdir_close()) as the release @p label (copied; the path in messages).
 * Reads its immediate subdirectories (symbolic links followed; names starting
 * with '.' skipped).
 * @return OMV_OK; OMV_E_IMAGE (unreadable); OMV_E_NOMEM.
 */
omv_status omvi_rdir_open(int dfd, const char *label, omvi_rdir **out, omv_error *err);
void omvi_rdir_close(omvi_rdir *d);

/** Subdirectories, sorted. */
size_t omvi_rdir_folder_count(const omvi_rdir *d);
const char *omvi_rdir_folder_at(const omvi_rdir *d, size_t i);
/** The subdirectory called @p name (owned by @p d), or NULL when there is none. */
const char *omvi_rdir_find_folder(const omvi_rdir *d, const char *name);

/**
 * Regular files directly in @p folder ("" = the directory itself), sorted,
 * with sizes; entries starting with '.' and non-regular files are skipped.
 * @return OMV_OK; OMV_E_IMAGE; OMV_E_NOMEM.
 */
omv_status omvi_rdir_list(const omvi_rdir *d, const char *folder,
                          void (*found)(void *user, const char *name, uint64_t size), void *user,
                          omv_error *err);

/**
 * Size of regular file @p rel (a path relative to the directory) and, when
 * @p snap is not NULL, its identity to check it against later.
 */
omv_status omvi_rdir_stat(const omvi_rdir *d, const char *rel, uint64_t *size, omvi_file_id *snap,
                          omv_error *err);

typedef struct omvi_rdir_stream omvi_rdir_stream;

/**
 * Open regular file @p rel for streaming. With @p snap (from
 * omvi_rdir_stat(); may be NULL: taken now) a file that is no longer the one
 * checked is refused, and the source delivers exactly snap->size bytes. A
 * file that shrinks, or whose size or modification time differ once its
 * last byte was read (it was rewritten meanwhile), fails with OMV_E_IMAGE on
 * that read.
 */
omv_status omvi_rdir_stream_open(const omvi_rdir *d, const char *rel, const omvi_file_id *snap,
                                 omvi_rdir_stream **out, omv_error *err);
const struct omv_source *omvi_rdir_stream_source(omvi_rdir_stream *s);
void omvi_rdir_stream_close(omvi_rdir_stream *s);

#endif /* OMVFLASH_RELEASE_DIR_H */
