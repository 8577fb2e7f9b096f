/*
 * libFuzzer harness: what omvflash parses from a serial camera, i.e. bytes a
 * device (or a noisy line) controls: legacy bootloader replies (START version,
 * FLASH_LAYOUT, QSPIF_LAYOUT) and their plausibility and sector arithmetic
 * (plugins/cdc_bootloader/legacy_proto.h), the board-file sector ranges, and
 * the protocol-v2 header scan and SYNC-ACK check of the entry plugin
 * (plugins/omv_entry/entry_proto.h). Input is copied to an exact-size heap
 * block so ASan catches any read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry_proto.h"
#include "legacy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);

    int v = leg_decode_version(in, size);
    if (v < 0 || v > 3)
        __builtin_trap();

    struct leg_flash_layout fl;
    if (leg_decode_flash_layout(in, size, &fl) == 0 && leg_flash_layout_valid(&fl)) {
        /* A plausible layout drives sector arithmetic: must stay in bounds. */
        for (enum leg_mcu m = LEG_MCU_F4; m <= LEG_MCU_H7; m++) {
            struct leg_range r = {1, fl.fw_first, fl.last};
            (void)leg_range_bytes(m, &r);
            if (fl.fw_first < leg_sector_count(m))
                (void)leg_sector_offset(m, fl.fw_first);
        }
    }
    struct leg_qspi_layout ql;
    (void)leg_decode_qspi_layout(in, size, &ql);

    /* Board-file text such as "2-15": NUL-terminated copy of the input. */
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        struct leg_range r;
        if (leg_parse_range(text, &r) == 0) {
            char buf[32];
            leg_format_range(&r, buf, sizeof buf);
            if (!memchr(buf, '\0', sizeof buf))
                __builtin_trap();
            if (r.present && r.first > r.last)
                __builtin_trap();
        }
        free(text);
    }

    struct omv_v2_header h;
    long off = omv_v2_find_header(in, size, &h);
    if (off >= 0 && (size_t)off + 10 > size)
        __builtin_trap(); /* a header it reports must lie inside the buffer */
    (void)omv_v2_is_sync_ack(in, size);

    free(in);
    return 0;
}
