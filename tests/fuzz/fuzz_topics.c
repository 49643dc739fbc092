/*
 * fuzz_topics - the ThingsBoard topic parsers over arbitrary bytes.
 * A topic that parses must be exactly the pattern with the numbers found
 * (leading zeros aside), checked by building it again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "ota_fmt.h"
#include "ota_tb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Drop leading zeros of every digit run (so "007" compares as "7"). */
static size_t normalise(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        bool run_start = (i == 0 || in[i - 1] < '0' || in[i - 1] > '9');
        if (run_start && in[i] == '0' && i + 1 < n && in[i + 1] >= '0' && in[i + 1] <= '9') {
            while (i + 1 < n && in[i] == '0' && in[i + 1] >= '0' && in[i + 1] <= '9') {
                i++;
            }
        }
        out[o++] = in[i];
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *t = malloc(size ? size : 1u);
    char built[96];
    char *norm = malloc(size + 1u); /* a topic may carry any number of leading zeros */
    uint32_t rid = 0;
    uint32_t k = 0;
    uint32_t id = 0;
    ota_sb_t sb;
    if (size > 0u) {
        memcpy(t, data, size);
    }
    if (ota_tb_parse_chunk_topic(t, size, &rid, &k) == OTA_OK) {
        ota_sb_init(&sb, built, sizeof built);
        ota_sb_fmt(&sb, "v2/fw/response/%u/chunk/%u", NULL, rid, k);
        size_t n = normalise(t, size, norm);
        FUZZ_CHECK(n == sb.len && memcmp(norm, built, n) == 0);
    }
    if (ota_tb_parse_attr_topic(t, size, &id) == OTA_OK) {
        ota_sb_init(&sb, built, sizeof built);
        ota_sb_fmt(&sb, "v1/devices/me/attributes/response/%u", NULL, id, 0u);
        size_t n = normalise(t, size, norm);
        FUZZ_CHECK(n == sb.len && memcmp(norm, built, n) == 0);
    }
    if (ota_tb_is_error_topic(t, size)) {
        FUZZ_CHECK(size == 11u && memcmp(t, "v2/fw/error", 11u) == 0);
    }
    free(norm);
    free(t);
    return 0;
}
