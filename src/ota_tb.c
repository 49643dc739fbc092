/* ThingsBoard device firmware API codec. See ota_tb.h and PROTOCOL.md §1. */
#include "ota_tb.h"

#include <string.h>

#include "ota_json.h"

/* Decimal digits at t[*pos..n) into a uint32_t; at least one digit. */
static ota_status_t parse_dec(const char *t, size_t n, size_t *pos, uint32_t *out)
{
    uint32_t v = 0;
    size_t i = *pos;
    while (i < n && t[i] >= '0' && t[i] <= '9') {
        uint32_t d = (uint32_t)(t[i] - '0');
        if (v > (UINT32_MAX - d) / 10u) {
            return OTA_ERR_FORMAT;
        }
        v = v * 10u + d;
        i++;
    }
    if (i == *pos) {
        return OTA_ERR_FORMAT;
    }
    *pos = i;
    *out = v;
    return OTA_OK;
}

/* Is the topic t[0..n) exactly `pattern`, where each '#' stands for a
 * decimal number (stored in turn into num[0], num[1])? */
static ota_status_t match_topic(const char *t, size_t n, const char *pattern, uint32_t num[2])
{
    size_t pos = 0;
    unsigned used = 0;

    for (; *pattern != '\0'; pattern++) {
        if (*pattern == '#') {
            if (used >= 2u || parse_dec(t, n, &pos, &num[used]) != OTA_OK) {
                return OTA_ERR_FORMAT;
            }
            used++;
        } else if (pos >= n || t[pos] != *pattern) {
            return OTA_ERR_FORMAT;
        } else {
            pos++;
        }
    }
    return (pos == n) ? OTA_OK : OTA_ERR_FORMAT;
}

ota_status_t ota_tb_parse_chunk_topic(const char *t, size_t n, uint32_t *rid, uint32_t *k)
{
    uint32_t num[2];
    if (t == NULL || rid == NULL || k == NULL) {
        return OTA_ERR_PARAM;
    }
    if (match_topic(t, n, "v2/fw/response/#/chunk/#", num) != OTA_OK) {
        return OTA_ERR_FORMAT;
    }
    *rid = num[0];
    *k = num[1];
    return OTA_OK;
}

ota_status_t ota_tb_parse_attr_topic(const char *t, size_t n, uint32_t *id)
{
    uint32_t num[2];
    if (t == NULL || id == NULL) {
        return OTA_ERR_PARAM;
    }
    if (match_topic(t, n, OTA_TB_TOPIC_ATTR_RSP "#", num) != OTA_OK) {
        return OTA_ERR_FORMAT;
    }
    *id = num[0];
    return OTA_OK;
}

int ota_tb_is_error_topic(const char *t, size_t n)
{
    uint32_t num[2];
    return t != NULL && match_topic(t, n, OTA_TB_TOPIC_FW_ERROR, num) == OTA_OK;
}

/* Exactly 2*n hex digits into n bytes, in the order written. */
static ota_status_t hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2u * n) {
        return OTA_ERR_FORMAT;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = ota_hex_value(s[2u * i]);
        int lo = ota_hex_value(s[2u * i + 1u]);
        if (hi < 0 || lo < 0) {
            return OTA_ERR_FORMAT;
        }
        out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
    }
    return OTA_OK;
}

/* Get a string member into buf. NOT_FOUND, PARAM (wrong type), NOSPACE, FORMAT. */
static ota_status_t get_str(const ota_json_val_t *obj, const char *key, char *buf, size_t cap)
{
    ota_json_val_t v;
    ota_status_t st = ota_json_get(obj, key, &v);
    if (st != OTA_OK) {
        return st;
    }
    if (v.type != OTA_JSON_STRING) {
        return OTA_ERR_PARAM;
    }
    return ota_json_string(&v, buf, cap, NULL);
}

/* Append "<key><what>" to why; returns code. */
static ota_code_t bad(ota_sb_t *why, ota_code_t code, const char *what, const char *key)
{
    ota_sb_str(why, key);
    ota_sb_str(why, what);
    return code;
}

/* A non-empty string member into buf. On failure appends "<key> missing",
 * "<key> empty", "<key> too long" or "<key> is not a valid string" to why
 * and returns NOT_FOUND (missing or empty), NOSPACE or FORMAT. */
static ota_status_t get_text(const ota_json_val_t *obj, const char *key, char *buf, size_t cap,
                             ota_sb_t *why)
{
    ota_status_t st = get_str(obj, key, buf, cap);
    const char *what = " is not a valid string";

    if (st == OTA_OK && buf[0] != '\0') {
        return OTA_OK;
    }
    if (st == OTA_OK || st == OTA_ERR_NOT_FOUND) {
        what = (st == OTA_OK) ? " empty" : " missing";
        st = OTA_ERR_NOT_FOUND;
    } else if (st == OTA_ERR_NOSPACE) {
        what = " too long";
    } else {
        st = OTA_ERR_FORMAT;
    }
    (void)bad(why, OTA_CODE_NONE, what, key);
    return st;
}

/* The title decides first: no title → 5, another title → 1. */
static ota_code_t decide_title(const ota_json_val_t *shared, const char *my_title,
                               ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_status_t st = get_text(shared, "fw_title", offer->title, sizeof offer->title, why);
    if (st == OTA_ERR_NOT_FOUND) {
        return OTA_CODE_NO_TITLE;
    }
    if (st == OTA_ERR_NOSPACE) {
        return OTA_CODE_TITLE_MISMATCH; /* longer than any title of this device */
    }
    if (st != OTA_OK) {
        return OTA_CODE_FORMAT;
    }
    if (strcmp(offer->title, my_title) != 0) {
        ota_sb_fmt(why, "server title %s", offer->title, 0u, 0u);
        ota_sb_fmt(why, " differs from device title %s", my_title, 0u, 0u);
        return OTA_CODE_TITLE_MISMATCH;
    }
    return OTA_CODE_NONE;
}

static ota_code_t decide_version(const ota_json_val_t *shared, const char *my_version,
                                 ota_tb_offer_t *offer, ota_sb_t *why)
{
    if (get_text(shared, "fw_version", offer->version, sizeof offer->version, why) != OTA_OK) {
        return OTA_CODE_FORMAT;
    }
    if (strcmp(offer->version, my_version) == 0) {
        ota_sb_fmt(why, "version %s is already running", my_version, 0u, 0u);
        return OTA_CODE_SAME_VERSION;
    }
    return OTA_CODE_NONE;
}

static ota_code_t decide_size(const ota_json_val_t *shared, ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_json_val_t v;
    const char *what = NULL;
    ota_status_t st = ota_json_get(shared, "fw_size", &v);

    if (st != OTA_OK) {
        what = " missing";
    } else if (v.type != OTA_JSON_NUMBER) {
        what = " is not a number";
    } else {
        st = ota_json_u32(&v, &offer->size);
        if (st == OTA_ERR_RANGE) {
            what = " negative or over 4294967295";
        } else if (st != OTA_OK) {
            what = " is not a whole number";
        } else if (offer->size == 0u) {
            what = " is 0";
        }
    }
    return (what != NULL) ? bad(why, OTA_CODE_FORMAT, what, "fw_size") : OTA_CODE_NONE;
}

static ota_code_t decide_checksum(const ota_json_val_t *shared, ota_tb_offer_t *offer,
                                  ota_sb_t *why)
{
    char text[72];
    size_t n = 0;
    ota_status_t st;
    if (get_text(shared, "fw_checksum_algorithm", text, 16u, why) != OTA_OK) {
        return OTA_CODE_CHECKSUM;
    }
    if (strcmp(text, "CRC32") == 0) {
        offer->algo = OTA_ALGO_CRC32;
        n = 4u;
#if OTA_CFG_SHA256
    } else if (strcmp(text, "SHA256") == 0) {
        offer->algo = OTA_ALGO_SHA256;
        n = 32u;
#endif
    } else {
        ota_sb_fmt(why, "unsupported checksum algorithm %s", text, 0u, 0u);
        return OTA_CODE_CHECKSUM;
    }
    st = get_text(shared, "fw_checksum", text, sizeof text, why);
    if (st == OTA_OK && hex_decode(text, strlen(text), offer->checksum, n) != OTA_OK) {
        st = OTA_ERR_FORMAT;
        (void)bad(why, OTA_CODE_NONE, " malformed", "fw_checksum");
    }
    if (st != OTA_OK) {
        offer->algo = OTA_ALGO_NONE;
        return OTA_CODE_CHECKSUM;
    }
    return OTA_CODE_NONE;
}

ota_code_t ota_tb_decide(const uint8_t *payload, size_t len, const char *my_title,
                         const char *my_version, ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_json_val_t root;
    ota_json_val_t shared;
    ota_code_t code;
    ota_status_t st;

    memset(offer, 0, sizeof *offer);
    if (payload == NULL ||
        ota_json_parse((const char *)payload, len, &root) != OTA_OK ||
        root.type != OTA_JSON_OBJECT) {
        return bad(why, OTA_CODE_FORMAT, "attribute answer is not a valid JSON object", "");
    }
    st = ota_json_get(&root, "shared", &shared);
    if (st == OTA_ERR_NOT_FOUND) {
        return bad(why, OTA_CODE_NO_TITLE, "no shared attributes: no firmware assigned", "");
    }
    if (st != OTA_OK || shared.type != OTA_JSON_OBJECT) {
        return bad(why, OTA_CODE_FORMAT, "\"shared\" is not a single object", "");
    }
    code = decide_title(&shared, my_title, offer, why);
    if (code == OTA_CODE_NONE) {
        code = decide_version(&shared, my_version, offer, why);
    }
    if (code == OTA_CODE_NONE) {
        code = decide_size(&shared, offer, why);
    }
    if (code == OTA_CODE_NONE) {
        code = decide_checksum(&shared, offer, why);
    }
    return code;
}

void ota_tb_chunk_request_topic(ota_sb_t *sb, uint32_t rid, uint32_t k)
{
    ota_sb_fmt(sb, "v2/fw/request/%u/chunk/%u", NULL, rid, k);
}

void ota_tb_current_fw(ota_sb_t *sb, const char *title, const char *version)
{
    ota_sb_str(sb, "{\"current_fw_title\":");
    ota_sb_json_str(sb, title);
    ota_sb_str(sb, ",\"current_fw_version\":");
    ota_sb_json_str(sb, version);
    ota_sb_str(sb, "}");
}

void ota_tb_fw_state(ota_sb_t *sb, const char *state, const char *error)
{
    ota_sb_str(sb, "{\"fw_state\":");
    ota_sb_json_str(sb, error != NULL ? "FAILED" : state);
    if (error != NULL) {
        ota_sb_str(sb, ",\"fw_error\":");
        ota_sb_json_str(sb, error);
    }
    ota_sb_str(sb, "}");
}

const char *ota_code_str(ota_code_t code)
{
    /* Dragino's texts of codes 1..7, then 100. */
    static const char *const texts[] = {
        "",
        "firmware title mismatch",
        "hardware not supported",
        "command format error",
        "OTA server connection timeout",
        "firmware title not found",
        "firmware version match, nothing to do",
        "firmware checksum error",
        "OTA update successful, waiting for reboot",
    };
    unsigned i = (unsigned)code;

    if (i > (unsigned)OTA_CODE_CHECKSUM) {
        i = (code == OTA_CODE_SUCCESS) ? 8u : 0u;
    }
    return texts[i];
}

void ota_tb_status_msg(ota_sb_t *sb, const char *imei, ota_code_t code, const char *detail)
{
    char text[OTA_CFG_REASON_MAX + 64u];
    ota_sb_t t;

    ota_sb_init(&t, text, sizeof text);
    ota_sb_fmt(&t, "OTA code %u: %s", ota_code_str(code), (uint32_t)code, 0u);
    if (detail != NULL && detail[0] != '\0') {
        ota_sb_fmt(&t, ": %s", detail, 0u, 0u);
    }
    ota_sb_str(sb, "{\"IMEI\":");
    ota_sb_json_str(sb, imei);
    ota_sb_str(sb, ",\"Message\":");
    ota_sb_json_str(sb, text);
    ota_sb_str(sb, "}");
}
