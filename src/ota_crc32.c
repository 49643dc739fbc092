/*
 * ota_crc32.c - CRC-32/ISO-HDLC (zlib), four bits at a time.
 *
 * A 16-entry table (64 bytes of flash) is a good trade on a Cortex-M0+:
 * about a quarter of the speed of a 1 KB byte table for a sixteenth of the
 * flash. Bytes are read one at a time, so any alignment is fine.
 */
#include "cellota/ota_crc32.h"

/* crc_nibble[i] = the CRC register after shifting nibble i through 4 steps. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t ota_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;

    if (p == NULL) {
        return crc;
    }
    while (len > 0u) {
        c ^= *p;
        c = (c >> 4) ^ crc_nibble[c & 0x0Fu];
        c = (c >> 4) ^ crc_nibble[c & 0x0Fu];
        p++;
        len--;
    }
    return ~c;
}

void ota_crc32_to_tb_hex(uint32_t crc, char out[9])
{
    unsigned i;

    if (out == NULL) {
        return;
    }
    /* Little-endian byte order: lowest byte first, high nibble first within
     * a byte, so digit i is the nibble at bit 4 * (i ^ 1). */
    for (i = 0u; i < 8u; i++) {
        unsigned d = (unsigned)(crc >> (4u * (i ^ 1u))) & 0x0Fu;
        out[i] = (char)((d < 10u) ? '0' + d : 'a' - 10u + d);
    }
    out[8] = '\0';
}
