/* Small helpers shared by the unit tests: files, and loading a board file. */
#ifndef OMV_TEST_UTIL_H
#define OMV_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "omvflash/omvflash.h"

/** rm -rf @p dir, then mkdir -p it. */
void tu_fresh_dir(const char *dir);
/** Write @p len bytes to @p path (aborts on failure). */
void tu_write(const char *path, const void *data, size_t len);
/** Write a text file. */
void tu_write_text(const char *path, const char *text);
/** Write @p size bytes: byte i = (i * 7 + seed) & 0xFF. */
void tu_write_pattern(const char *path, size_t size, unsigned seed);
/** Create a sparse file of @p size bytes. */
void tu_write_sparse(const char *path, uint64_t size);
/** Read a whole file (malloc'd, NUL-terminated); NULL if missing. */
char *tu_read(const char *path, size_t *len);
/** Whether @p path exists. */
int tu_exists(const char *path);
/** Join into one of a few rotating static buffers. */
const char *tu_join(const char *dir, const char *name);
/** Whether files @p a and @p b have identical contents. */
int tu_same_file(const char *a, const char *b);

/** Load board file @p path, which must load: on an error the test fails, printing its message. */
omv_board *tu_load_board(const char *path);

#endif
