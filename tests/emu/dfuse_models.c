/* The DfuSe cameras' ids, descriptors, alt strings, memory maps and quirks.
 *
 * Sources (public):
 *  - ST AN2662 / AN3156 (DfuSe commands, GETSTATUS rules, error statuses).
 *  - dfu-util's device-logs/stm32f4discovery.lsusb: an STM32F4 ROM's
 *    descriptors (bcdUSB 1.00, "STMicroelectronics", "STM32  BOOTLOADER",
 *    12-hex-digit serial, attributes 0x0B, detach 255 ms, 2048-byte transfers,
 *    bcdDFU 1.1a, alt strings) and its start in dfuERROR/errFIRMWARE.
 *  - Public `dfu-util -l` listings: STM32F42x ROM (bcdDevice 0x2200, option
 *    bytes and device feature strings) and STM32H743 ROM (bcdDevice 0x0200,
 *    "@Internal Flash   /0x08000000/16*128Kg", "@Option Bytes   /0x5200201C/01*128 e").
 *  - arduino/mcuboot-arduino-stm32h7 (app/dfu/usbd_dfu_flash.cpp, usbd_dfu.cpp,
 *    usbd_desc.c, usbd_conf.h): the Arduino bootloader's strings, alt strings,
 *    4096-byte transfers, 0x08040000 default pointer, commands 00/21/41.
 *  - OpenMV firmware sector tables (F427, F765, H743).
 * Not confirmed by any source, and so chosen here (README "Modelling choices"):
 * the ROM strings of the 1 MB F427 and of the F765, the F765 ROM's bcdDevice,
 * the ROMs' transfer size on H7/F7 (2048 like the F4), the Giga's product
 * string and bus speed, and every erase/program time (datasheet-order
 * estimates, applied only when a --model asks for them). */
#include "dfuse_models.h"

#include <strings.h>

#define K 1024u
#define RWE (CAP_R | CAP_E | CAP_W)

/* ---- STM32 ROM bootloaders (0483:DF11) ---- */

static const dfuse_run_t h743_flash[] = {{16, 128 * K, RWE, 1100}, {0, 0, 0, 0}};
static const dfuse_run_t h743_option[] = {{1, 128, CAP_R | CAP_W, 0}, {0, 0, 0, 0}};
static const dfuse_region_t h743_regions[] = {
    {"Internal Flash", DREG_FLASH, 0x08000000u, h743_flash, 32, 500},
    {"Option Bytes", DREG_OPTION, 0x5200201Cu, h743_option, 1, 0},
};

static const dfuse_run_t f765_flash[] = {
    {4, 32 * K, RWE, 300}, {1, 128 * K, RWE, 750}, {7, 256 * K, RWE, 1500}, {0, 0, 0, 0}};
static const dfuse_run_t f765_option[] = {{1, 32, CAP_R | CAP_W, 0}, {0, 0, 0, 0}};
static const dfuse_region_t f765_regions[] = {
    {"Internal Flash", DREG_FLASH, 0x08000000u, f765_flash, 4, 4100},
    {"Option Bytes", DREG_OPTION, 0x1FFF0000u, f765_option, 1, 0},
};

static const dfuse_run_t f427_flash[] = {
    {4, 16 * K, RWE, 250}, {1, 64 * K, RWE, 550}, {7, 128 * K, RWE, 1000}, {0, 0, 0, 0}};
static const dfuse_run_t f427_option[] = {{1, 16, CAP_R | CAP_W, 0}, {0, 0, 0, 0}};
static const dfuse_run_t f427_otp[] = {{1, 512, RWE, 0}, {1, 16, RWE, 0}, {0, 0, 0, 0}};
static const dfuse_run_t f427_feature[] = {{1, 4, CAP_R | CAP_W, 0}, {0, 0, 0, 0}};
static const dfuse_region_t f427_regions[] = {
    {"Internal Flash", DREG_FLASH, 0x08000000u, f427_flash, 4, 4100},
    {"Option Bytes", DREG_OPTION, 0x1FFFC000u, f427_option, 1, 0},
    {"Option Bytes 2", DREG_OPTION, 0x1FFEC000u, f427_option, 1, 0},
    {"OTP Memory", DREG_OTP, 0x1FFF7800u, f427_otp, 1, 0},
    {"Device Feature", DREG_PLAIN, 0xFFFF0000u, f427_feature, 1, 0},
};

static const uint8_t rom_commands[] = {0x00, 0x21, 0x41, 0x92};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct dfuse_model rom_h7 = {
    DFUSE_ST_ROM, "STM32H743", h743_regions, N(h743_regions), 0x08000000u,
    rom_commands, N(rom_commands),
    true,  /* leave: dfu-util reports "Error during download get_status" on H7 */
    false, 0, true};
static const struct dfuse_model rom_f7 = {
    DFUSE_ST_ROM, "STM32F765", f765_regions, N(f765_regions), 0x08000000u,
    rom_commands, N(rom_commands), false, false, 0, false};
static const struct dfuse_model rom_f4 = {
    DFUSE_ST_ROM, "STM32F427", f427_regions, N(f427_regions), 0x08000000u,
    rom_commands, N(rom_commands), false,
    true, /* enumerates in dfuERROR/errFIRMWARE (dfu-util's STM32F4 device log) */
    100,  /* the F4 ROM reports 100 ms for a mass erase that takes seconds (dfu-util) */
    false};

static const usb_identity_t rom_id_f4 = {"STMicroelectronics", "STM32  BOOTLOADER", 0x0100,
                                         0x2200, 0xC0, 50, 0x0B, 255, 2048, 0x011A};
static const usb_identity_t rom_id_f7 = {"STMicroelectronics", "STM32  BOOTLOADER", 0x0100,
                                         0x0200, 0xC0, 50, 0x0B, 255, 2048, 0x011A};
static const usb_identity_t rom_id_h7 = {"STMicroelectronics", "STM32  BOOTLOADER", 0x0100,
                                         0x0200, 0xC0, 50, 0x0B, 255, 2048, 0x011A};

/* Alt settings; the names are the literal interface strings. */
static const partition_t rom_h7_alts[] = {
    {"@Internal Flash   /0x08000000/16*128Kg", -1, 0, 0, false},
    {"@Option Bytes   /0x5200201C/01*128 e", -1, 0, 0, false},
};
static const partition_t rom_f7_alts[] = {
    {"@Internal Flash  /0x08000000/04*032Kg,01*128Kg,07*256Kg", -1, 0, 0, false},
    {"@Option Bytes  /0x1FFF0000/01*032 e", -1, 0, 0, false},
};
static const partition_t rom_f4_alts[] = {
    {"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg", -1, 0, 0, false},
    {"@Option Bytes  /0x1FFFC000/01*016 e/0x1FFEC000/01*016 e", -1, 0, 0, false},
    {"@OTP Memory /0x1FFF7800/01*512 g,01*016 g", -1, 0, 0, false},
    {"@Device Feature/0xFFFF0000/01*004 e", -1, 0, 0, false},
};

/* ---- Arduino bootloader (STM32H747 + 16 MB QSPI NOR) ---- */

static const dfuse_run_t h747_flash[] = {
    {1, 128 * K, CAP_R, 1100}, {15, 128 * K, RWE, 1100}, {0, 0, 0, 0}};
static const dfuse_run_t qspi_nor[] = {{4096, 4 * K, RWE, 45}, {0, 0, 0, 0}};
static const dfuse_region_t arduino_regions[] = {
    {"Internal Flash", DREG_FLASH, 0x08000000u, h747_flash, 32, 500},
    {"Ext RAW Flash", DREG_NOR, 0x90000000u, qspi_nor, 1, 1300},
};
static const uint8_t arduino_commands[] = {0x00, 0x21, 0x41};
static const struct dfuse_model arduino = {
    DFUSE_ARDUINO, "STM32H747", arduino_regions, N(arduino_regions), 0x08040000u,
    arduino_commands, N(arduino_commands), false, false, 0, false};

static const partition_t arduino_alts[] = {
    {"@Internal Flash  2MB   /0x08000000/01*128Ka,15*128Kg", -1, 0, 0, false},
    {"@Ext RAW  Flash 16MB   /0x90000000/4096*4Kg", -1, 0, 0, false},
    {"@Ext File Flash  0MB   /0x00000000/0*4Kg", -1, 0, 0, false},
    {"@Arduino  boot  v.06   /0x00000000/0*4Kg", -1, 0, 0, false},
};

static const usb_identity_t portenta_id = {"Arduino SA", "Portenta H7 MCUboot", 0x0200, 0x0200,
                                           0xC0, 0xFA, 0x0B, 255, 4096, 0x011A};
static const usb_identity_t nicla_id = {"Arduino SA", "Nicla Vision MCUboot", 0x0200, 0x0200,
                                        0xC0, 0xFA, 0x0B, 255, 4096, 0x011A};
static const usb_identity_t giga_id = {"Arduino SA", "Giga R1 MCUboot", 0x0200, 0x0200,
                                       0xC0, 0xFA, 0x0B, 255, 4096, 0x011A};

/* Serials: the ROM prints 12 hex digits, the Arduino bootloader the three UID
 * words (24 hex digits). Fixed values, distinct per camera. */
#define DFUSE_CAM(id, board, vid, pid, mbps, serial, alts, usb, model)                          \
    {(id), (board), (vid), (pid), (mbps), (serial), NULL, 0, (alts), N(alts), false, NULL, (usb), \
     (model)}

static const camera_model_t dfuse_cameras[] = {
    DFUSE_CAM("portenta", "ARDUINO_PORTENTA_H7", 0x2341, 0x035B, 480, "0035001C3231510F33353501",
              arduino_alts, &portenta_id, &arduino),
    DFUSE_CAM("nicla", "ARDUINO_NICLA_VISION", 0x2341, 0x035F, 12, "0022003B3231510F33353501",
              arduino_alts, &nicla_id, &arduino),
    DFUSE_CAM("giga", "ARDUINO_GIGA", 0x2341, 0x0366, 12, "0047002E3231510F33353501",
              arduino_alts, &giga_id, &arduino),
    DFUSE_CAM("stm32-rom-h7", "OPENMV4", 0x0483, 0xDF11, 12, "2073327A5301", rom_h7_alts,
              &rom_id_h7, &rom_h7),
    DFUSE_CAM("stm32-rom-f7", "OPENMV3", 0x0483, 0xDF11, 12, "3071336B4E01", rom_f7_alts,
              &rom_id_f7, &rom_f7),
    DFUSE_CAM("stm32-rom-f4", "OPENMV2", 0x0483, 0xDF11, 12, "315A28A0B901", rom_f4_alts,
              &rom_id_f4, &rom_f4),
};

const camera_model_t *dfuse_camera_find(const char *id)
{
    for (size_t i = 0; i < N(dfuse_cameras); i++)
        if (strcasecmp(dfuse_cameras[i].id, id) == 0)
            return &dfuse_cameras[i];
    return NULL;
}

uint32_t dfuse_region_size(const dfuse_region_t *r)
{
    uint32_t n = 0;
    for (const dfuse_run_t *run = r->runs; run->count; run++)
        n += run->count * run->size;
    return n;
}
