/*
 * Firmware releases as omvflash reads them: an OpenMV release zip (stable:
 * one folder per firmware target, e.g. OPENMV4/, plus CYW4343/ and
 * WINC1500/; development: one target's files at the top of
 * firmware_<TARGET>.zip) or a directory (--firmware DIR), behind one
 * interface, so the plan treats `--firmware DIR` and `--firmware ZIP` alike.
 * Images are streamed (struct omv_source), never extracted or loaded whole.
 *
 * A release object is used from one thread at a time. Errors are OMV_E_IMAGE
 * (or OMV_E_NOMEM) with one line naming the release and the entry:
 * "firmware_v4.8.1.zip: entry 'OPENMV4/../x.bin': '..' path component
 * (leaves the archive)". Nothing here is exported from libomvflash.so.
 */
#ifndef OMVFLASH_RELEASE_H
#define OMVFLASH_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/** What a release is. */
typedef enum omvi_release_kind {
    OMVI_RELEASE_DIR = 1,         /**< a directory */
    OMVI_RELEASE_ZIP_STABLE,      /**< a zip whose files are in folders (firmware_<tag>.zip) */
    OMVI_RELEASE_ZIP_DEVELOPMENT, /**< a zip with every file at its top (firmware_<TARGET>.zip) */
} omvi_release_kind;

typedef struct omvi_release omvi_release;

/**
 * Open @p path: a directory, or a regular file read as a zip archive. A zip
 * is checked whole before this returns: every entry name (zip-slip forms,
 * control bytes, case-only duplicates, file/folder clashes, see
 * omvi_zip_name_check()), no encrypted entry, only stored or deflated
 * entries, no symbolic link or other special file, sizes that agree, local
 * headers that match the central directory. The path is opened once,
 * O_NONBLOCK like every input (a FIFO cannot block; anything but a directory
 * or a regular file is refused), and a zip's descriptor serves every later
 * read, so a file renamed or replaced at its path meanwhile changes nothing
 * for this release; a later omvi_release_open() of the same path is compared
 * with the snapshots (omvi_release_stat()).
 * @param path  kept by reference in messages: must outlive the release.
 * @return OMV_OK with *out set; OMV_E_IMAGE (missing, unreadable, not a
 *         directory or zip, any refused entry); OMV_E_NOMEM.
 */
omv_status omvi_release_open(const char *path, omvi_release **out, omv_error *err);

/** Close and free @p r. NULL is a no-op. Streams must be closed first. */
void omvi_release_close(omvi_release *r);

omvi_release_kind omvi_release_kind_of(const omvi_release *r);
/** The path the release was opened with. */
const char *omvi_release_path(const omvi_release *r);

/**
 * Folders that hold files, sorted: a stable zip's target folders as paths
 * inside it ("CYW4343", "OPENMV4", or "firmware/OPENMV4" in a re-packed
 * zip); a directory's immediate subdirectories; none in a development zip.
 */
size_t omvi_release_folder_count(const omvi_release *r);
/** Folder @p i (0 .. count-1), or NULL beyond the end. */
const char *omvi_release_folder_at(const omvi_release *r, size_t i);

/**
 * The target a development zip's file name claims: "OPENMV4" for
 * ".../firmware_OPENMV4.zip"; NULL for other names, stable zips and
 * directories. Evidence only: the file may have been renamed.
 */
const char *omvi_release_name_target(const omvi_release *r);

/**
 * Where the images of the board whose firmware_dir is @p firmware_dir are:
 * - stable zip: the one folder whose last component is @p firmware_dir
 *   (exact case); none or several is an error listing the folders;
 * - development zip: its top ("");
 * - directory: DIR/@p firmware_dir when that is a directory, else DIR itself.
 * @p firmware_dir may be NULL (the board names none): then only a
 * development zip or a directory's top qualifies.
 * @param folder  receives "" or a folder path; valid while @p r is open.
 * @return OMV_OK; OMV_E_IMAGE ("firmware_v4.8.1.zip has no OPENMV9/ folder
 *         (folders: ...)").
 */
omv_status omvi_release_board_folder(const omvi_release *r, const char *firmware_dir,
                                     const char **folder, omv_error *err);

/** Receives one file of omvi_release_list(): its name in the folder and size. */
typedef void (*omvi_release_file_fn)(void *user, const char *name, uint64_t size);

/**
 * Call @p found for every file directly in @p folder ("" = the top), sorted
 * by name (directories: regular files only, symbolic links followed).
 * @return OMV_OK (also for an empty folder); OMV_E_IMAGE when @p folder does
 *         not exist or a directory cannot be read; OMV_E_NOMEM.
 */
omv_status omvi_release_list(const omvi_release *r, const char *folder, omvi_release_file_fn found,
                             void *user, omv_error *err);

/**
 * Size of file @p name in @p folder and, when @p snap is not NULL, the
 * snapshot to check it against when it is opened again: the image file's
 * identity (directory) or the archive's (zip), see omvi_file_id.
 * @return OMV_OK; OMV_E_IMAGE when it is missing ("firmware_v4.8.1.zip has
 *         no OPENMV4/romfs0.img"), not a regular file ("DIR/x.bin is a FIFO,
 *         not a regular file"), or unreadable.
 */
omv_status omvi_release_stat(const omvi_release *r, const char *folder, const char *name,
                             uint64_t *size, omvi_file_id *snap, omv_error *err);

/** An open image: a struct omv_source plus what it came from. */
typedef struct omvi_release_stream omvi_release_stream;

/**
 * Open file @p name of @p folder for streaming. @p snap (from
 * omvi_release_stat(), possibly of an earlier open of the same release; may
 * be NULL) must still describe the file or archive, else OMV_E_IMAGE
 * ("... changed after it was checked ..."). The source delivers exactly the
 * size omvi_release_stat() reports; it fails with OMV_E_IMAGE when the bytes
 * cannot be read, a zip entry is corrupt (inflate error), shorter or longer
 * than its recorded size, or fails its CRC-32: libzip checks the CRC once
 * the entry's last byte is read, so the read() that completes the image is
 * the one that reports it, as it reports a file or archive whose size or
 * modification time changed while it was read.
 * Several streams of one release may be open at once (one thread).
 * @return OMV_OK with *out set; OMV_E_IMAGE; OMV_E_NOMEM.
 */
omv_status omvi_release_stream_open(omvi_release *r, const char *folder, const char *name,
                                    const omvi_file_id *snap, omvi_release_stream **out,
                                    omv_error *err);

/** The stream's source, valid until omvi_release_stream_close(). */
const struct omv_source *omvi_release_stream_source(omvi_release_stream *s);

/**
 * Where the bytes come from, for messages and the plan:
 * "firmware_v4.8.1.zip:OPENMV4/firmware.bin" or "DIR/OPENMV4/firmware.bin".
 */
const char *omvi_release_stream_label(const omvi_release_stream *s);

/** Close and free @p s. NULL is a no-op. */
void omvi_release_stream_close(omvi_release_stream *s);

#endif /* OMVFLASH_RELEASE_H */
