/*
 * The simulated MCU around the OTA client: its internal flash (a file with
 * the STM32L0's rules), the bootloader that runs the boot core at every
 * reset, and the identity of the firmware the internal flash holds.
 *
 * A simulated firmware image is any file; the one thing the simulation reads
 * from it is a marker at its very start:
 *
 *     cellota-fw <title> <version>[ noconfirm];
 *
 * so that the device knows which version it runs after a reboot. A firmware
 * marked `noconfirm` plays a broken build: it resets before it reaches its
 * server, so it never confirms and the bootloader rolls it back.
 */
#ifndef CELLOTA_EXAMPLES_SIM_MCU_H
#define CELLOTA_EXAMPLES_SIM_MCU_H

#include <stdbool.h>
#include <stdint.h>

#include "cellota/ota_boot.h"
#include "cellota/ota_port.h"
#include "cellota_posix/cellota_iflash.h"

typedef struct {
    ota_flash_t nor;               /* the external flash */
    uint32_t meta_addr;            /* the client's metadata area */
    uint32_t backup_addr;          /* the backup slot */
    uint32_t backup_size;
    cellota_iflash_file_t iflash;  /* the application area */
    ota_boot_iflash_t iport;
    uint8_t page[CELLOTA_IFLASH_PAGE];
    ota_boot_decision_t last;      /* what the last boot decided */
    char title[OTA_BOOTREQ_STR_MAX + 1];   /* the running firmware, from its marker */
    char version[OTA_BOOTREQ_STR_MAX + 1];
    bool known;                    /* a marker was found */
    bool noconfirm;                /* the running firmware never confirms */
} sim_mcu_t;

/* Open the internal flash file. 0 or a CELLOTA_POSIX_E* code. */
int sim_mcu_open(sim_mcu_t *m, const char *iflash_path, const ota_flash_t *nor, uint32_t meta_addr,
                 uint32_t backup_addr, uint32_t backup_size);

/* Close the internal flash file. */
void sim_mcu_close(sim_mcu_t *m);

/* Factory programming: when the application area holds no firmware marker,
 * program `image_path` into it. 1 programmed, 0 already holds firmware,
 * < 0 error (unreadable file, too large). */
int sim_mcu_factory(sim_mcu_t *m, const char *image_path);

/* A reset: the bootloader runs the boot core, then the firmware's identity is
 * read from the application area. Returns the boot core's status; the
 * decision is in m->last. */
ota_status_t sim_mcu_boot(sim_mcu_t *m);

/* Read the marker of the firmware in the application area into m. */
void sim_mcu_identify(sim_mcu_t *m);

/* CRC-32 of the first `len` bytes of the application area (0 on error). */
uint32_t sim_mcu_app_crc(sim_mcu_t *m, uint32_t len);

#endif /* CELLOTA_EXAMPLES_SIM_MCU_H */
