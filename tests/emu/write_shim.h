/* Wire format between write_shim.so (in the COMMAND) and omvemu: one
 * SOCK_SEQPACKET message per event. For every write()/writev() on a pty
 * slave the shim sends BEGIN(len) before passing the bytes on and END(n)
 * with the real result afterwards (n = bytes the kernel took, 0 on error),
 * so the emulator can cut the pty byte stream into the host's transfers. */
#ifndef OMVEMU_WRITE_SHIM_H
#define OMVEMU_WRITE_SHIM_H

#include <stdint.h>

#define OMVEMU_SHIM_ENV_SOCK "OMVEMU_SHIM_SOCK" /* socket path; shim idle if unset */
#define OMVEMU_SHIM_MAGIC 0x4F4D5657u            /* "WVMO" */

enum { OMVEMU_SHIM_BEGIN = 1, OMVEMU_SHIM_END = 2 };

typedef struct {
    uint32_t magic;
    uint32_t kind;      /* OMVEMU_SHIM_BEGIN / OMVEMU_SHIM_END */
    uint32_t rdev_major;
    uint32_t rdev_minor;
    uint64_t len;       /* BEGIN: bytes about to be written; END: bytes written */
} omvemu_shim_msg_t;

#endif
