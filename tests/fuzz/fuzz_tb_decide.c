/*
 * fuzz_tb_decide - the shared-attribute answer and the decision it leads to.
 *
 * Input: [device byte][why-buffer byte][payload...]. The device byte picks
 * the device's title and version; the payload is the attribute answer. The
 * decision must be one of the documented codes, its reason must stay
 * inside the reason buffer, and an accepted offer must be complete.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "ota_fmt.h"
#include "ota_tb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_titles[] = {"s31-nb", "", "t", "s31-nb-v2",
                                       "tttttttttttttttttttttttttttttttt"};
static const char *const k_versions[] = {"v1.5.0", "", "v1.6.0", "1.2.1",
                                         "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in_t in = {data, size};
    uint8_t dev = fz_u8(&in);
    size_t cap = 1u + fz_u8(&in) % 160u;
    const char *title = k_titles[dev % 5u];
    const char *version = k_versions[(dev / 5u) % 5u];
    size_t len = in.n;
    uint8_t *payload = malloc(len ? len : 1u);
    char *why = malloc(cap);
    ota_tb_offer_t offer;
    ota_sb_t sb;
    ota_code_t code;

    if (len > 0u) {
        memcpy(payload, in.p, len);
    }
    ota_sb_init(&sb, why, cap);
    code = ota_tb_decide(payload, len, title, version, &offer, &sb);
    FUZZ_CHECK(code == OTA_CODE_NONE || code == OTA_CODE_TITLE_MISMATCH || code == OTA_CODE_FORMAT ||
               code == OTA_CODE_NO_TITLE || code == OTA_CODE_SAME_VERSION ||
               code == OTA_CODE_CHECKSUM);
    FUZZ_CHECK(sb.len < cap && strlen(why) == sb.len);
    FUZZ_CHECK(memchr(offer.title, '\0', sizeof offer.title) != NULL);
    FUZZ_CHECK(memchr(offer.version, '\0', sizeof offer.version) != NULL);
    if (code == OTA_CODE_NONE) {
        FUZZ_CHECK(strcmp(offer.title, title) == 0);
        FUZZ_CHECK(offer.version[0] != '\0' && strcmp(offer.version, version) != 0);
        FUZZ_CHECK(offer.size != 0u);
        FUZZ_CHECK(offer.algo == OTA_ALGO_CRC32 || offer.algo == OTA_ALGO_SHA256);
    }
    if (code == OTA_CODE_SAME_VERSION) {
        FUZZ_CHECK(strcmp(offer.title, title) == 0 && strcmp(offer.version, version) == 0);
    }
    free(why);
    free(payload);
    return 0;
}
