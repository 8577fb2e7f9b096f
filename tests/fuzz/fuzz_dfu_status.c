/*
 * libFuzzer harness: the pure DFU protocol parsers of plugins/dfu
 * (dfu_status.h): GETSTATUS reply, functional descriptor, configuration
 * descriptor walk, string descriptors, LANGID, bootloader header, status and
 * state names, port paths. Every parser sees the same input; output buffers
 * are heap blocks of the exact size given, so ASan catches a byte too many.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfu_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte: output buffer size for the string-producing parsers. */
    size_t outlen = data[0];
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    /* Exact-size copy: reading past len is an ASan error, not a silent read of our own bytes. */
    uint8_t *in = malloc(len ? len : 1);
    if (!in)
        return 0;
    if (len)
        memcpy(in, buf, len);

    struct dfu_status st;
    if (dfu_parse_status(in, len, &st) == 0) {
        if (st.poll_timeout > 0xFFFFFF)
            __builtin_trap(); /* bwPollTimeout is 24-bit */
        char desc[160];
        dfu_describe_status(desc, sizeof desc, st.status, st.state);
        if (!memchr(desc, '\0', sizeof desc))
            __builtin_trap();
    }

    struct dfu_func_desc fd;
    int r = dfu_find_func_desc(in, len, &fd);
    if (r < -1 || r > 1)
        __builtin_trap();

    struct dfu_layout lay;
    if (dfu_parse_config(in, len, &lay) == 0 && lay.n_alts > DFU_MAX_ALTS)
        __builtin_trap();

    char *out = malloc(outlen ? outlen : 1);
    if (out) {
        int n = dfu_parse_string_desc(in, len, out, outlen);
        if (n >= 0 && ((size_t)n >= outlen || out[n] != '\0'))
            __builtin_trap(); /* the returned length is what was written, NUL-terminated in the buffer */
        uint16_t langid;
        (void)dfu_parse_langid(in, len, &langid);
        r = dfu_parse_boot_header(in, len, out, outlen);
        if (r == 1 && outlen > 0 && !memchr(out, '\0', outlen))
            __builtin_trap();
        if (len >= 1) {
            int nports = len - 1 > 7 ? 7 : (int)(len - 1);
            (void)dfu_format_port_path(in[0], in + 1, nports, out, outlen);
            if (outlen > 0 && !memchr(out, '\0', outlen))
                __builtin_trap();
        }
        free(out);
    }

    if (len >= 2) {
        volatile size_t s = strlen(dfu_status_name(in[0])) + strlen(dfu_status_words(in[0])) +
                            strlen(dfu_state_name(in[1]));
        (void)s;
        /* Tiny output buffers for the formatter too. */
        char *d = malloc(outlen ? outlen : 1);
        if (d) {
            dfu_describe_status(d, outlen, in[0], in[1]);
            if (outlen > 0 && !memchr(d, '\0', outlen))
                __builtin_trap();
            free(d);
        }
    }
    free(in);
    return 0;
}

/* Legacy serial bootloader replies (plugins/legacy, the CDC "internal"
 * protocol): a fuzz_legacy_reply harness goes here once that plugin lands
 * (its reply parsing: version reply, FW_SAVE/ERASE acks, short reads). */
