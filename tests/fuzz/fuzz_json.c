/*
 * fuzz_json - the bounded JSON reader over arbitrary bytes.
 *
 * The whole input is one document. When it parses, a set of keys is looked
 * up on it and on the objects found under them (three levels, by a loop),
 * and every string and number found is converted with several buffer
 * sizes. The reader must never read outside the input (ASan) and its
 * results must keep their documented promises (checked).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "ota_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_keys[] = {"shared", "fw_title", "fw_version", "fw_size",
                                     "fw_checksum", "fw_checksum_algorithm", "Config",
                                     "a", "", "deleted", "\xc3\xa9"};

/* The value's text lies inside the document. */
static void check_view(const ota_json_val_t *v, const char *doc, size_t len)
{
    FUZZ_CHECK(v->p >= doc && v->len <= len && (size_t)(v->p - doc) <= len - v->len);
    FUZZ_CHECK(v->type >= OTA_JSON_OBJECT && v->type <= OTA_JSON_NULL);
}

static void convert(const ota_json_val_t *v)
{
    static const size_t caps[] = {1, 2, 8, 33, 256};
    char *buf;
    uint32_t u = 0;
    size_t out = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        /* An exact-size heap buffer: ASan sees any write past cap. */
        buf = malloc(caps[i]);
        ota_status_t st = ota_json_string(v, buf, caps[i], &out);
        if (st == OTA_OK) {
            FUZZ_CHECK(out < caps[i] && buf[out] == '\0' && strlen(buf) <= out);
        } else if (st == OTA_ERR_NOSPACE) {
            FUZZ_CHECK(buf[0] == '\0');
        }
        FUZZ_CHECK(st != OTA_OK || v->type == OTA_JSON_STRING);
        free(buf);
    }
    if (ota_json_u32(v, &u) == OTA_OK) {
        FUZZ_CHECK(v->type == OTA_JSON_NUMBER);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly `size` bytes (libFuzzer's buffer is one too). */
    char *doc = malloc(size ? size : 1u);
    ota_json_val_t level[4];
    int depth = 0;
    if (size > 0u) {
        memcpy(doc, data, size);
    }
    if (ota_json_parse(doc, size, &level[0]) == OTA_OK) {
        check_view(&level[0], doc, size);
        convert(&level[0]);
        /* Walk down: look every key up, follow the first object found. */
        while (depth < 3) {
            int next = -1;
            for (size_t k = 0; k < sizeof k_keys / sizeof k_keys[0]; k++) {
                ota_json_val_t v;
                ota_status_t st = ota_json_get(&level[depth], k_keys[k], &v);
                FUZZ_CHECK(st == OTA_OK || st == OTA_ERR_NOT_FOUND || st == OTA_ERR_FORMAT ||
                           st == OTA_ERR_PARAM);
                FUZZ_CHECK(st != OTA_ERR_PARAM || level[depth].type != OTA_JSON_OBJECT);
                if (st == OTA_OK) {
                    check_view(&v, doc, size);
                    convert(&v);
                    if (next < 0 && v.type == OTA_JSON_OBJECT) {
                        level[depth + 1] = v;
                        next = depth + 1;
                    }
                }
            }
            if (next < 0) {
                break;
            }
            depth = next;
        }
    }
    /* Hand-made views over the raw bytes: a string and a number. */
    {
        ota_json_val_t v = {doc, size, OTA_JSON_STRING};
        convert(&v);
        v.type = OTA_JSON_NUMBER;
        convert(&v);
    }
    free(doc);
    return 0;
}
