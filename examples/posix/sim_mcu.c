/* The simulated MCU: internal flash, bootloader, firmware identity. See sim_mcu.h. */
#include "sim_mcu.h"

#include <stdio.h>
#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota_posix/cellota_posix.h"

#define MARKER "cellota-fw "

int sim_mcu_open(sim_mcu_t *m, const char *iflash_path, const ota_flash_t *nor, uint32_t meta_addr,
                 uint32_t backup_addr, uint32_t backup_size)
{
    memset(m, 0, sizeof *m);
    m->nor = *nor;
    m->meta_addr = meta_addr;
    m->backup_addr = backup_addr;
    m->backup_size = backup_size;
    int rc = cellota_iflash_file_open(&m->iflash, iflash_path, CELLOTA_IFLASH_BASE,
                                      CELLOTA_IFLASH_SIZE);
    m->iport = cellota_iflash_file_port(&m->iflash);
    return rc;
}

void sim_mcu_close(sim_mcu_t *m)
{
    cellota_iflash_file_close(&m->iflash);
}

/* Take "<title> <version>[ noconfirm];" after the marker. */
static bool parse_marker(sim_mcu_t *m, const char *p)
{
    char rest[16] = "";
    int n = sscanf(p, "%32s %32[^; ]%15[^;]", m->title, m->version, rest);
    m->noconfirm = (n == 3 && strstr(rest, "noconfirm") != NULL);
    return n >= 2;
}

void sim_mcu_identify(sim_mcu_t *m)
{
    char head[96];
    m->known = false;
    m->noconfirm = false;
    m->title[0] = m->version[0] = '\0';
    if (m->iport.read(m->iport.ctx, CELLOTA_IFLASH_BASE, head, sizeof head - 1u) != 0) {
        return;
    }
    head[sizeof head - 1u] = '\0';
    if (strncmp(head, MARKER, sizeof MARKER - 1u) == 0) {
        m->known = parse_marker(m, head + sizeof MARKER - 1u);
    }
}

int sim_mcu_factory(sim_mcu_t *m, const char *image_path)
{
    static uint8_t image[CELLOTA_IFLASH_SIZE];
    sim_mcu_identify(m);
    if (m->known) {
        return 0;
    }
    FILE *fp = fopen(image_path, "rb");
    if (fp == NULL) {
        return CELLOTA_POSIX_EIO;
    }
    size_t n = fread(image, 1u, sizeof image, fp);
    bool more = fgetc(fp) != EOF;
    (void)fclose(fp);
    if (n == 0u || more) {
        return CELLOTA_POSIX_ESIZE;
    }
    int rc = cellota_iflash_file_program_raw(&m->iflash, CELLOTA_IFLASH_BASE, image, (uint32_t)n);
    sim_mcu_identify(m);
    return rc == 0 ? 1 : rc;
}

ota_status_t sim_mcu_boot(sim_mcu_t *m)
{
    ota_boot_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = m->nor;
    cfg.meta_addr = m->meta_addr;
    cfg.backup_addr = m->backup_addr;
    cfg.backup_size = m->backup_size;
    cfg.iflash = m->iport;
    cfg.buf = m->page;
    cfg.buf_size = sizeof m->page;
    ota_status_t st = ota_boot_run(&cfg, &m->last);
    sim_mcu_identify(m);
    return st;
}

uint32_t sim_mcu_app_crc(sim_mcu_t *m, uint32_t len)
{
    uint32_t crc = 0;
    for (uint32_t off = 0; off < len; off += sizeof m->page) {
        uint32_t n = (len - off < sizeof m->page) ? len - off : (uint32_t)sizeof m->page;
        if (m->iport.read(m->iport.ctx, CELLOTA_IFLASH_BASE + off, m->page, n) != 0) {
            return 0;
        }
        crc = ota_crc32(crc, m->page, n);
    }
    return crc;
}
