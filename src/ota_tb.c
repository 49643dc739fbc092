/* ThingsBoard device firmware API codec. See ota_tb.h and PROTOCOL.md §1. */
#include "ota_tb.h"

#include <string.h>

#include "ota_json.h"

#define PFX_CHUNK_RSP "v2/fw/response/"
#define MID_CHUNK "/chunk/"

/* Match a literal at t[*pos..]; advance on success. */
static int match_lit(const char *t, size_t n, size_t *pos, const char *lit)
{
    size_t l = strlen(lit);
    if (n - *pos < l || memcmp(&t[*pos], lit, l) != 0) {
        return 0;
    }
    *pos += l;
    return 1;
}

/* Decimal digits at t[*pos..] into a uint32_t; at least one digit. */
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

ota_status_t ota_tb_parse_chunk_topic(const char *t, size_t n, uint32_t *rid, uint32_t *k)
{
    size_t pos = 0;
    if (t == NULL || rid == NULL || k == NULL) {
        return OTA_ERR_PARAM;
    }
    if (!match_lit(t, n, &pos, PFX_CHUNK_RSP) || parse_dec(t, n, &pos, rid) != OTA_OK ||
        !match_lit(t, n, &pos, MID_CHUNK) || parse_dec(t, n, &pos, k) != OTA_OK || pos != n) {
        return OTA_ERR_FORMAT;
    }
    return OTA_OK;
}

ota_status_t ota_tb_parse_attr_topic(const char *t, size_t n, uint32_t *id)
{
    size_t pos = 0;
    if (t == NULL || id == NULL) {
        return OTA_ERR_PARAM;
    }
    if (!match_lit(t, n, &pos, OTA_TB_TOPIC_ATTR_RSP) || parse_dec(t, n, &pos, id) != OTA_OK ||
        pos != n) {
        return OTA_ERR_FORMAT;
    }
    return OTA_OK;
}

int ota_tb_is_error_topic(const char *t, size_t n)
{
    return t != NULL && n == sizeof(OTA_TB_TOPIC_FW_ERROR) - 1u &&
           memcmp(t, OTA_TB_TOPIC_FW_ERROR, n) == 0;
}

static int hex_val(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Exactly 2*n hex digits into n bytes, in the order written. */
static ota_status_t hex_decode(const char *s, size_t slen, uint8_t *out, size_t n)
{
    if (slen != 2u * n) {
        return OTA_ERR_FORMAT;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2u * i]);
        int lo = hex_val(s[2u * i + 1u]);
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

static ota_code_t bad(ota_sb_t *why, ota_code_t code, const char *what, const char *key)
{
    ota_sb_str(why, key);
    ota_sb_str(why, what);
    return code;
}

/* The title decides first: no title → 5, another title → 1. */
static ota_code_t decide_title(const ota_json_val_t *shared, const char *my_title,
                               ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_status_t st = get_str(shared, "fw_title", offer->title, sizeof offer->title);
    if (st == OTA_ERR_NOT_FOUND) {
        return bad(why, OTA_CODE_NO_TITLE, " missing: no firmware assigned", "fw_title");
    }
    if (st == OTA_ERR_NOSPACE) {
        return bad(why, OTA_CODE_TITLE_MISMATCH, " longer than this device's titles", "fw_title");
    }
    if (st != OTA_OK) {
        return bad(why, OTA_CODE_FORMAT, " is not a valid string", "fw_title");
    }
    if (offer->title[0] == '\0') {
        return bad(why, OTA_CODE_NO_TITLE, " empty: no firmware assigned", "fw_title");
    }
    if (strcmp(offer->title, my_title) != 0) {
        ota_sb_str(why, "server title ");
        ota_sb_str(why, offer->title);
        ota_sb_str(why, " differs from device title ");
        ota_sb_str(why, my_title);
        return OTA_CODE_TITLE_MISMATCH;
    }
    return OTA_CODE_NONE;
}

static ota_code_t decide_version(const ota_json_val_t *shared, const char *my_version,
                                 ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_status_t st = get_str(shared, "fw_version", offer->version, sizeof offer->version);
    if (st == OTA_ERR_NOSPACE) {
        return bad(why, OTA_CODE_FORMAT, " longer than 32 bytes", "fw_version");
    }
    if (st != OTA_OK || offer->version[0] == '\0') {
        return bad(why, OTA_CODE_FORMAT, " missing, empty or not a string", "fw_version");
    }
    if (strcmp(offer->version, my_version) == 0) {
        ota_sb_str(why, "version ");
        ota_sb_str(why, my_version);
        ota_sb_str(why, " is already running");
        return OTA_CODE_SAME_VERSION;
    }
    return OTA_CODE_NONE;
}

static ota_code_t decide_size(const ota_json_val_t *shared, ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_json_val_t v;
    ota_status_t st = ota_json_get(shared, "fw_size", &v);
    if (st != OTA_OK) {
        return bad(why, OTA_CODE_FORMAT, " missing", "fw_size");
    }
    if (v.type != OTA_JSON_NUMBER) {
        return bad(why, OTA_CODE_FORMAT, " is not a number", "fw_size");
    }
    st = ota_json_u32(&v, &offer->size);
    if (st == OTA_ERR_RANGE) {
        return bad(why, OTA_CODE_FORMAT, " negative or over 4294967295", "fw_size");
    }
    if (st != OTA_OK) {
        return bad(why, OTA_CODE_FORMAT, " is not a whole number", "fw_size");
    }
    if (offer->size == 0u) {
        return bad(why, OTA_CODE_FORMAT, " is 0", "fw_size");
    }
    return OTA_CODE_NONE;
}

static ota_code_t decide_checksum(const ota_json_val_t *shared, ota_tb_offer_t *offer,
                                  ota_sb_t *why)
{
    char text[72];
    size_t n = 0;
    ota_status_t st = get_str(shared, "fw_checksum_algorithm", text, 16u);
    if (st != OTA_OK) {
        return bad(why, OTA_CODE_CHECKSUM, " missing or unreadable", "fw_checksum_algorithm");
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
        ota_sb_str(why, "unsupported checksum algorithm ");
        ota_sb_str(why, text);
        return OTA_CODE_CHECKSUM;
    }
    st = get_str(shared, "fw_checksum", text, sizeof text);
    if (st != OTA_OK || hex_decode(text, strlen(text), offer->checksum, n) != OTA_OK) {
        offer->algo = OTA_ALGO_NONE;
        return bad(why, OTA_CODE_CHECKSUM, " missing or malformed", "fw_checksum");
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
    ota_sb_str(sb, "v2/fw/request/");
    ota_sb_u32(sb, rid);
    ota_sb_str(sb, MID_CHUNK);
    ota_sb_u32(sb, k);
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
    switch (code) {
    case OTA_CODE_TITLE_MISMATCH: return "firmware title mismatch";
    case OTA_CODE_NO_HARDWARE: return "hardware not supported";
    case OTA_CODE_FORMAT: return "command format error";
    case OTA_CODE_TIMEOUT: return "OTA server connection timeout";
    case OTA_CODE_NO_TITLE: return "firmware title not found";
    case OTA_CODE_SAME_VERSION: return "firmware version match, nothing to do";
    case OTA_CODE_CHECKSUM: return "firmware checksum error";
    case OTA_CODE_SUCCESS: return "OTA update successful, waiting for reboot";
    case OTA_CODE_NONE:
    default: return "";
    }
}

void ota_tb_status_msg(ota_sb_t *sb, const char *imei, ota_code_t code, const char *detail)
{
    char text[OTA_CFG_REASON_MAX + 64u];
    ota_sb_t t;

    ota_sb_init(&t, text, sizeof text);
    ota_sb_str(&t, "OTA code ");
    ota_sb_u32(&t, (uint32_t)code);
    ota_sb_str(&t, ": ");
    ota_sb_str(&t, ota_code_str(code));
    if (detail != NULL && detail[0] != '\0') {
        ota_sb_str(&t, ": ");
        ota_sb_str(&t, detail);
    }
    ota_sb_str(sb, "{\"IMEI\":");
    ota_sb_json_str(sb, imei);
    ota_sb_str(sb, ",\"Message\":");
    ota_sb_json_str(sb, text);
    ota_sb_str(sb, "}");
}
