/*
 * libomvflash internals: shared between the core's source files and the unit
 * tests (which link the static copy of the core). Nothing here is exported
 * from libomvflash.so (see libomvflash.map); every name starts with omvi_.
 */
#ifndef OMVFLASH_INTERNAL_H
#define OMVFLASH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "omvflash/omvflash.h"
#include "omvflash/plugin.h"

#include "board.h"
#include "plugins.h"

/* ---- board values (board_values.c) ------------------------------------- */

/** Parse "123", "0x1000", "64K", "3M" (KiB/MiB). @return 0 on success. */
int omvi_parse_size(const char *s, uint64_t *out);
/** Parse "123" or "0x1F" into a value <= @p max. @return 0 on success. */
int omvi_parse_uint(const char *s, uint64_t max, uint64_t *out);
/** Parse yes/no, true/false, on/off, 1/0 (any case). @return 0 on success. */
int omvi_parse_bool(const char *s, int *out);
/** Parse "37C5:96E3". @return 0 on success. */
int omvi_parse_usb_id(const char *s, struct omv_usb_id *out);
/**
 * Split a comma list into trimmed items (malloc'd array of malloc'd strings).
 * @return 0, -1 on an empty item (*bad_index set), -2 out of memory.
 */
int omvi_split_list(const char *s, char ***items, size_t *n, size_t *bad_index);
void omvi_free_list(char **items, size_t n);
/** Partition name: [A-Za-z0-9_]{1,32}. */
int omvi_valid_partition_name(const char *s);
/** Plugin name: [a-z0-9_-]+, no "..". */
int omvi_valid_plugin_name(const char *s);
/** Plain file name: non-empty, no '/', not "." or "..". */
int omvi_valid_file_name(const char *s);
/** Longest arch string: the firmware's ARCH_STR reply is 64 bytes including its NUL. */
#define OMVI_ARCH_MAX 63
/** Arch string: 1 to OMVI_ARCH_MAX printable ASCII characters (space included). */
int omvi_valid_arch(const char *s);
/** Append ", " (unless @p buf is empty) and @p item to @p buf (@p len bytes), truncating. */
void omvi_join_add(char *buf, size_t len, const char *item);
/** "a, b, c": @p n items joined into @p buf (@p len bytes), truncated to fit. */
void omvi_join(const char *const *items, size_t n, char *buf, size_t len);
/** strdup that returns NULL on NULL. */
char *omvi_strdup(const char *s);
/** Thread-safe strerror into @p buf. */
const char *omvi_strerror(int errnum, char *buf, size_t len);

/* ---- strict INI files (ini_strict.c) ------------------------------------ */

/**
 * What omvi_ini_parse() hands to its caller. Each callback gets the line
 * number and returns OMV_OK to go on, or an error it set in @p err (as
 * "FILE:LINE: ...") to stop the parse.
 */
typedef struct omvi_ini_ops {
    /** A section header; @p title is trimmed ("slot A1" for "[ slot A1 ]"). */
    omv_status (*section)(void *user, const char *title, int line, omv_error *err);
    /** "name = value" (both trimmed by inih; value may be ""). */
    omv_status (*key)(void *user, const char *name, const char *value, int line, omv_error *err);
    /** Said after the path when the file cannot be opened (" (board file)"); may be NULL. */
    const char *what;
} omvi_ini_ops;

/**
 * Parse INI file @p path strictly: malformed lines, NUL bytes, over-long
 * lines and unreadable files fail with @p code and "PATH:LINE: ..."; the
 * callbacks' own errors stop the parse. Section and key semantics are the
 * caller's.
 * @return OMV_OK, @p code, the callbacks' codes, OMV_E_NOMEM.
 */
omv_status omvi_ini_parse(const char *path, omv_status code, const omvi_ini_ops *ops, void *user, omv_error *err);

/* ---- files the user names (file_guard.c) -------------------------------- */

/** What a file was when it was checked: a later look compares all of it. */
typedef struct omvi_file_id {
    dev_t dev;
    ino_t ino;
    uint64_t size;
    struct timespec mtime;
} omvi_file_id;

/** Largest board file and firmware.lst accepted (they are a few KiB). */
#define OMVI_MAX_BOARD_FILE (1024u * 1024u)
#define OMVI_MAX_LIST_FILE (64u * 1024u)

/** "a FIFO", "a directory", ... for messages. */
const char *omvi_file_type_name(mode_t mode);
/**
 * Open @p path read-only with O_NONBLOCK|O_NOCTTY (a FIFO or terminal never
 * blocks), then refuse it unless it is a regular file of at most @p max_size
 * bytes (0: any size). Errors carry @p code and read "PATH<what>: ..."
 * (@p what: "" or " (image for HP)"). *fd_out is a blocking fd; @p id (may
 * be NULL) receives the file's identity.
 */
omv_status omvi_open_input(const char *path, const char *what, uint64_t max_size, omv_status code, int *fd_out,
                           omvi_file_id *id, omv_error *err);
/** omvi_open_input() as a FILE (NULL on failure, @p err set). */
FILE *omvi_open_input_file(const char *path, const char *what, uint64_t max_size, omv_status code,
                           omvi_file_id *id, omv_error *err);
/** Same file, same size, same modification time. */
int omvi_file_id_same(const omvi_file_id *a, const omvi_file_id *b);

/** Identity of an output: the file (device, inode) if it exists, else its directory and name. */
typedef struct omvi_output_id {
    int exists;
    dev_t dev;
    ino_t ino;
    char name[256];
} omvi_output_id;

/**
 * Plan-time check of a --read output: a regular file or none (lstat: a link,
 * device, FIFO or directory is refused, OMV_E_IMAGE), in a writable
 * directory; @p id gets its identity for comparisons.
 */
omv_status omvi_output_check(const char *path, omvi_output_id *id, omv_error *err);
int omvi_output_id_same(const omvi_output_id *a, const omvi_output_id *b);
/** The output exists and is the input file @p in. */
int omvi_output_is_input(const omvi_output_id *out, const omvi_file_id *in);
/** A new temporary file PATH.partial-XXXXXX (mkstemp: O_EXCL, mode 0600). */
omv_status omvi_output_open(const char *path, int *fd, char **tmp_path, omv_error *err);
/**
 * Rename the complete temporary file over PATH if PATH is a regular file
 * (keeping its permissions) or absent; refuse anything else; fsync the
 * directory.
 */
omv_status omvi_output_replace(const char *tmp_path, int fd, const char *path, omv_error *err);

/* ---- plan (plan.c) ----------------------------------------------------- */

typedef enum omvi_step_kind {
    OMVI_STEP_WRITE,
    OMVI_STEP_VERIFY,
    OMVI_STEP_READ,
    OMVI_STEP_RESET,
    OMVI_STEP_ERASE,    /**< --erase-filesystem: the transport's erase() of the filesystem partition */
    OMVI_STEP_ACTION,   /**< a board action; `part` is the index into board->actions */
} omvi_step_kind;

/** What the plan knows about an image's target (the arch string it carries, image_id.h). */
typedef enum omvi_image_check {
    OMVI_CHECK_NONE = 0,  /**< not an image (or not looked at yet) */
    OMVI_CHECK_ARCH,      /**< carries the board's arch string */
    OMVI_CHECK_UNCHECKED, /**< carries no arch string of a known board (ROMFS, Wi-Fi blobs) */
    OMVI_CHECK_FORCED,    /**< carries another board's arch string, written because of --force */
} omvi_image_check;

/** "arch", "unchecked", "forced" (NULL for OMVI_CHECK_NONE): the word events and the plan use. */
const char *omvi_image_check_name(omvi_image_check c);

typedef struct omvi_step {
    omvi_step_kind kind;
    size_t part;        /**< board partition index (unused for RESET; action index for ACTION) */
    char *path;         /**< image (write/verify) or output file (read) */
    uint64_t size;      /**< bytes: image size (write/verify), partition size (read) */
    uint64_t offset;    /**< write/verify: partition offset of the first byte (a container's segment) */
    uint64_t image_offset; /**< write/verify: where the bytes start in the file (a container's segment) */
    struct omv_usb_id for_device; /**< write: the device the image is for (0:0 = any; segments) */
    int missing;        /**< full flash: image absent, but some bootloader of the board skips
                             this partition (its own flash_order); an error only if the
                             bootloader that answers needs it */
    omvi_file_id snap;  /**< write/verify: the image as checked when the plan was made; it must
                             still be that file when it is opened and when its write ends */
    char *entry;        /**< write/verify: the image is file `entry` of the plan's release zip, in
                             its board folder (path is then its label, "fw.zip:OPENMV4/x.bin");
                             NULL for a file on disk */
    char sha256[65];    /**< write/verify: the image's SHA-256 in hex, "" when not known */
    omvi_image_check check; /**< write/verify: whether the image was shown to be for this board */
} omvi_step;

typedef struct omvi_plan {
    omvi_step *steps;
    size_t n;
    struct omvi_release *release; /**< the --firmware zip the steps' entries are in, or NULL */
    const char *folder;           /**< the board's folder in it ("" = the top) */
} omvi_plan;

/**
 * Steps 1 and 2 of omv_flash(): resolve what is written/read and check every
 * image. Adds VERIFY steps (readable partitions, req->verify) and a final
 * RESET step unless req->no_reset.
 */
omv_status omvi_plan_resolve(const omv_board *b, const omv_request *req, omvi_plan *out,
                             omv_error *err);
void omvi_plan_free(omvi_plan *p);
/** Append a step (@p path copied, may be NULL). @return OMV_OK or OMV_E_NOMEM. */
omv_status omvi_plan_add(omvi_plan *p, omvi_step_kind k, size_t part, const char *path, uint64_t size,
                         omv_error *err);
/**
 * Replace every write of a container image a transport of @p set recognises
 * (omv_transport_ops.segments) by one write per segment (and its verify by
 * one verify per segment), after checking each fits a writable partition.
 * @return OMV_OK, OMV_E_IMAGE, OMV_E_READONLY, OMV_E_UNSUPPORTED, OMV_E_NOMEM.
 */
omv_status omvi_plan_segments(omvi_plan *plan, const omv_board *b, const omvi_plugin_set *set, omv_error *err);
/**
 * --read NAME=FILE of @p req as READ steps appended to @p out: partitions
 * that exist and can be read, outputs that are regular files or new
 * (omvi_output_check()), no two outputs the same file (by device and inode,
 * whatever their spelling). @p ids receives each output's identity.
 * @return OMV_OK, OMV_E_USAGE, OMV_E_UNSUPPORTED, OMV_E_IMAGE, OMV_E_NOMEM.
 */
omv_status omvi_plan_reads(const omv_board *b, const omv_request *req, omvi_plan *out, omvi_output_id *ids,
                           omv_error *err);
/**
 * Parse firmware.lst (@p lst_path) for a full flash from @p dir: @p parts
 * (room for every partition of @p b) gets the partitions it names in write
 * order (the board's flash_order first, then list order), *n_parts how
 * many. Opened as an input (a FIFO, device or directory is refused; at most
 * OMVI_MAX_LIST_FILE bytes); a UTF-8 BOM and CR LF are accepted.
 * @return OMV_OK; OMV_E_IMAGE ("FILE:LINE: ..." for a bad line, or a list
 *         that names nothing); OMV_E_READONLY; OMV_E_NOMEM.
 */
omv_status omvi_firmware_list(const omv_board *b, const char *dir, const char *lst_path, size_t *parts,
                              size_t *n_parts, omv_error *err);
/** Says whether image @p name listed at @p lst:@p lineno exists (OMV_E_IMAGE "LST:LINE: ..." if not). */
typedef omv_status (*omvi_list_exists_fn)(void *user, const char *lst, int lineno, const char *name, omv_error *err);
/**
 * omvi_firmware_list() of a list already open as @p f (at most
 * OMVI_MAX_LIST_FILE bytes are read), named @p lst_path in messages, whose
 * images are looked up with @p exists.
 */
omv_status omvi_firmware_list_read(const omv_board *b, FILE *f, const char *lst_path, omvi_list_exists_fn exists,
                                   void *user, size_t *parts, size_t *n_parts, omv_error *err);
const char *omvi_step_name(omvi_step_kind k);
/** Copy what a step says about its image (entry, SHA-256, check) from @p from to @p to. */
omv_status omvi_step_copy_image(omvi_step *to, const omvi_step *from, omv_error *err);

/* ---- plans from a release (release_plan.c) ------------------------------ */

/** Receives one image of a full flash: partition, path or label, zip entry (NULL: a file), missing. */
typedef omv_status (*omvi_plan_image_fn)(void *user, size_t part, const char *path, const char *entry,
                                         int missing, omv_error *err);

/**
 * Open --firmware @p path (a directory or a release zip, release.h) and find
 * the board's images in it: the board's folder (firmware_dir), its
 * firmware.lst when there is one, else the board's flash_order. A directory
 * is handed back as the folder's path in @p dir (malloc'd; the caller plans
 * from it as before, files on disk); a zip stays open in @p plan
 * (plan->release, plan->folder) and its images go to @p add.
 * @return OMV_OK; OMV_E_IMAGE; OMV_E_READONLY; OMV_E_NOMEM.
 */
omv_status omvi_release_plan(const omv_board *b, const char *path, omvi_plan *plan, char **dir,
                             omvi_plan_image_fn add, void *user, omv_error *err);

/**
 * Look at every image the plan writes, before anything is written: its
 * SHA-256 and the arch strings it carries, of @p b and of req->known_boards.
 * An image with the board's arch string is OMVI_CHECK_ARCH; one with another
 * board's (and not this board's) is refused with OMV_E_MISMATCH naming that
 * board, or with req->force is OMVI_CHECK_FORCED; one with none is
 * OMVI_CHECK_UNCHECKED. A verify step gets what its write got.
 * @return OMV_OK; OMV_E_MISMATCH; OMV_E_IMAGE (unreadable, changed); OMV_E_NOMEM.
 */
omv_status omvi_plan_check_images(const omv_board *b, const omv_request *req, omvi_plan *plan, omv_error *err);

/* ---- the plan as a transport sees it (plan_view.c) --------------------- */

/** omv_host.run_plan of one transport, and where its steps come from. */
typedef struct omvi_plan_view {
    struct omv_run_plan view;
    size_t *plan_index;   /**< index into omvi_plan.steps of each view step */
} omvi_plan_view;

/**
 * Fill @p v from @p plan: its writes, erases, reads and verifies (a write is
 * optional in a @p full_flash); reset_at_end unless req->no_reset.
 */
omv_status omvi_plan_view_build(omvi_plan_view *v, const omvi_plan *plan, const omv_board *b,
                                const omv_request *req, int full_flash, omv_error *err);
/** The transport's reason for not doing plan step @p plan_index, or NULL. */
const char *omvi_plan_view_cannot(const omvi_plan_view *v, size_t plan_index);
void omvi_plan_view_free(omvi_plan_view *v);

/* ---- image streams (image_io.c) ---------------------------------------- */

typedef struct omvi_file_source {
    struct omv_source src;
    FILE *f;
    const char *path;
    omvi_file_id snap;  /**< the file as planned */
    uint64_t done;      /**< bytes of src.size delivered or skipped */
} omvi_file_source;

/**
 * Open the image @p path for streaming, refusing it (OMV_E_IMAGE) unless it
 * is still the file @p snap describes (same file, size and mtime as when the
 * plan was made).
 */
omv_status omvi_file_source_open(omvi_file_source *s, const char *path, const omvi_file_id *snap,
                                 omv_error *err);
/** omvi_file_source_open() of @p length bytes from @p offset of the file (a container's segment). */
omv_status omvi_file_source_open_range(omvi_file_source *s, const char *path, const omvi_file_id *snap,
                                       uint64_t offset, uint64_t length, omv_error *err);
/**
 * omv_source.skip for streams that cannot seek: read @p n bytes through
 * @p src->read and drop them (a checksum wrapper still sees them).
 */
omv_status omvi_source_skip_by_reading(const struct omv_source *src, uint64_t n, omv_error *err);
/**
 * After the transport's write: OMV_E_IMAGE when the image changed while it
 * was written (appended to, rewritten in place, replaced): the camera then
 * holds a mix, and the run must not end as a success.
 */
omv_status omvi_file_source_recheck(const omvi_file_source *s, omv_error *err);
void omvi_file_source_close(omvi_file_source *s);

typedef struct omvi_verify_sink {
    struct omv_sink sink;
    FILE *f;
    const char *path;
    uint64_t size;     /**< bytes to compare */
    uint64_t base;     /**< file offset of the first of them (messages give file offsets) */
    uint64_t off;
} omvi_verify_sink;

/**
 * Open the image @p path (still the file @p snap describes) to compare
 * read-back bytes with: @p length bytes from @p offset of the file.
 */
omv_status omvi_verify_sink_open(omvi_verify_sink *s, const char *path, const omvi_file_id *snap, uint64_t offset,
                                 uint64_t length, omv_error *err);
/** After read(): checks the whole image was compared. */
omv_status omvi_verify_sink_finish(omvi_verify_sink *s, omv_error *err);
void omvi_verify_sink_close(omvi_verify_sink *s);

typedef struct omvi_file_sink {
    struct omv_sink sink;
    FILE *f;
    char *path;        /**< final name */
    char *partial;     /**< PATH.partial-XXXXXX (mkstemp) */
    uint64_t written;
} omvi_file_sink;

/** Create the temporary file next to PATH (see omvi_output_open()). */
omv_status omvi_file_sink_open(omvi_file_sink *s, const char *path, omv_error *err);
/** Flush, fsync and rename the temporary file to PATH (see omvi_output_replace()). */
omv_status omvi_file_sink_commit(omvi_file_sink *s, omv_error *err);
/** Remove the temporary file if not committed and free. */
void omvi_file_sink_abort(omvi_file_sink *s);

/* ---- the source of a step's image (release_source.c) -------------------- */

/** A write's bytes: a file on disk or a zip entry, its range, checked against the plan's SHA-256. */
typedef struct omvi_step_source {
    struct omv_source src;        /**< hand this to the transport */
    omvi_file_source file;
    int is_file;
    struct omvi_release_stream *rs;
    const struct omv_source *inner;
    uint64_t left;                /**< bytes of the range still to deliver */
    int checked;                  /**< src goes through sha (the whole image, SHA-256 known) */
    struct omvi_sha256_check *sha;
} omvi_step_source;

/**
 * Open the image of write/verify step @p s of @p plan: @p s->size bytes from
 * @p s->image_offset, refused when it is no longer the image the plan checked.
 * When @p s covers the whole image and its SHA-256 is known, the read that
 * ends it fails (OMV_E_IMAGE) unless the bytes have that digest.
 * @p out must stay where it is until omvi_step_source_close().
 */
omv_status omvi_step_source_open(omvi_step_source *out, const omvi_plan *plan, const omvi_step *s, omv_error *err);
/** After the transport read it: the image is still the one checked (a zip entry is read to its end for its CRC). */
omv_status omvi_step_source_finish(omvi_step_source *src, omv_error *err);
void omvi_step_source_close(omvi_step_source *src);

/**
 * A sink for a verify of zip step @p s: compares the bytes the device
 * returns with the image (OMV_E_VERIFY naming the first differing offset).
 */
typedef struct omvi_compare_sink {
    struct omv_sink sink;
    omvi_step_source src;
    const char *label;
    uint64_t base;
    uint64_t off;
    uint64_t size;
} omvi_compare_sink;

omv_status omvi_compare_sink_open(omvi_compare_sink *c, const omvi_plan *plan, const omvi_step *s, omv_error *err);
/** After read(): the whole range was compared. */
omv_status omvi_compare_sink_finish(omvi_compare_sink *c, omv_error *err);
void omvi_compare_sink_close(omvi_compare_sink *c);

#endif /* OMVFLASH_INTERNAL_H */
