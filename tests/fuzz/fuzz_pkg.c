/*
 * fuzz_pkg - the package geometry and the chunk decoder.
 *
 * Input: [format][pkg_size u32][chunk_size u32][k u32][flags][chunk bytes...].
 * With flag bit 0 the chunk gets a correct CRC-32 appended (so the Dragino
 * record path past the CRC check is reached too). Invariants: the geometry
 * is consistent, chunk lengths add up to the package, and an accepted
 * chunk's data lies inside the image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_geometry(const ota_pkg_geom_t *g)
{
    uint64_t sum = 0;
    FUZZ_CHECK(g->chunks > 0u && g->chunk_size > 0u && g->image_size > 0u);
    FUZZ_CHECK(g->image_size <= g->pkg_size);
    FUZZ_CHECK((uint64_t)(g->chunks - 1u) * g->chunk_size < g->pkg_size);
    FUZZ_CHECK((uint64_t)g->chunks * g->chunk_size >= g->pkg_size);
    FUZZ_CHECK(ota_pkg_chunk_len(g, g->chunks) == 0u);
    FUZZ_CHECK(ota_pkg_chunk_len(g, UINT32_MAX) == 0u);
    if (g->chunks <= 4096u) {
        for (uint32_t k = 0; k < g->chunks; k++) {
            uint32_t n = ota_pkg_chunk_len(g, k);
            FUZZ_CHECK(n > 0u && n <= g->chunk_size);
            sum += n;
        }
        FUZZ_CHECK(sum == g->pkg_size);
    }
    if (g->format == OTA_PKG_DRAGINO) {
        FUZZ_CHECK(g->chunk_size == OTA_DRAGINO_RECORD);
        FUZZ_CHECK(ota_pkg_dragino_size(g->image_size) == g->pkg_size);
    } else {
        FUZZ_CHECK(g->image_size == g->pkg_size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    ota_pkg_format_t fmt = (fz_u8(&in) & 1u) ? OTA_PKG_RAW : OTA_PKG_DRAGINO;
    uint32_t pkg_size = fz_u32(&in);
    uint32_t chunk_size = fz_u32(&in);
    uint32_t k = fz_u32(&in);
    uint8_t flags = fz_u8(&in);
    size_t n = 0;
    const uint8_t *body = fz_bytes(&in, 70000u, &n);
    uint8_t *chunk = malloc(n + 4u);
    ota_pkg_geom_t g;
    uint32_t off = 0;
    uint32_t dlen = 0;

    /* Sizes near the interesting ranges more often than not. */
    if (flags & 0x02u) {
        pkg_size %= 200000u;
    }
    if (flags & 0x04u) {
        chunk_size %= 2100u;
    }
    if (n > 0u) {
        memcpy(chunk, body, n);
    }
    if (flags & 0x01u) {
        uint32_t crc = ota_crc32(0, chunk, n);
        for (int b = 0; b < 4; b++) {
            chunk[n++] = (uint8_t)(crc >> (8 * b));
        }
    }
    (void)ota_pkg_dragino_size(pkg_size);
    if (ota_pkg_geometry(fmt, pkg_size, chunk_size, &g) == OTA_OK) {
        check_geometry(&g);
        if (flags & 0x08u) {
            k %= g.chunks;
        }
        ota_status_t st = ota_pkg_check_chunk(&g, k, chunk, n, &off, &dlen);
        if (st == OTA_OK) {
            FUZZ_CHECK(k < g.chunks && n == ota_pkg_chunk_len(&g, k));
            FUZZ_CHECK(dlen > 0u && dlen <= n);
            FUZZ_CHECK(off < g.image_size && dlen <= g.image_size - off);
        }
    }
    free(chunk);
    return 0;
}
