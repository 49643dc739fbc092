/* ThingsBoard device firmware API codec. See ota_tb.h and PROTOCOL.md §1. */
#include "ota_tb.h"

#include <string.h>

#include "ota_json.h"

/* Is the topic t[0..n) exactly `pattern`, where each '#' stands for a
 * decimal number of at least one digit that fits in a uint32_t (stored in
 * turn into num[0], num[1])? */
static ota_status_t match_topic(const char *t, size_t n, const char *pattern, uint32_t num[2])
{
    const char *end = t + n;

    for (; *pattern != '\0'; pattern++) {
        if (*pattern == '#') {
            const char *digits = t;
            uint32_t v = 0u;
            uint32_t d;
            while (t < end && (d = (uint32_t)(unsigned char)*t - '0') <= 9u) {
                if (v > 429496729u || v * 10u + d < d) {
                    return OTA_ERR_FORMAT; /* over UINT32_MAX */
                }
                v = v * 10u + d;
                t++;
            }
            if (t == digits) {
                return OTA_ERR_FORMAT;
            }
            *num++ = v;
        } else if (t >= end || *t != *pattern) {
            return OTA_ERR_FORMAT;
        } else {
            t++;
        }
    }
    return (t == end) ? OTA_OK : OTA_ERR_FORMAT;
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
    ota_json_val_t v;
    ota_status_t st = ota_json_get(obj, key, &v);
    const char *what = " missing";

    if (st == OTA_OK) {
        st = (v.type == OTA_JSON_STRING) ? ota_json_string(&v, buf, cap, NULL) : OTA_ERR_PARAM;
        if (st == OTA_OK) {
            if (buf[0] != '\0') {
                return OTA_OK;
            }
            what = " empty";
            st = OTA_ERR_NOT_FOUND;
        }
    }
    if (st == OTA_ERR_NOSPACE) {
        what = " too long";
    } else if (st != OTA_ERR_NOT_FOUND) {
        what = " is not a valid string";
        st = OTA_ERR_FORMAT;
    }
    (void)bad(why, OTA_CODE_NONE, what, key);
    return st;
}

/* The size: a whole number from 1 to 4294967295; else why it is not. */
static const char *size_problem(const ota_json_val_t *shared, uint32_t *size)
{
    ota_json_val_t v;
    ota_status_t st;

    if (ota_json_get(shared, "fw_size", &v) != OTA_OK) {
        return " missing";
    }
    if (v.type != OTA_JSON_NUMBER) {
        return " is not a number";
    }
    st = ota_json_u32(&v, size);
    if (st == OTA_ERR_RANGE) {
        return " negative or over 4294967295";
    }
    if (st != OTA_OK) {
        return " is not a whole number";
    }
    return (*size == 0u) ? " is 0" : NULL;
}

/* The checksum: a supported algorithm, and exactly 2 * n hex digits for its
 * n bytes, kept in the order written. On success offer->algo is set. */
static ota_code_t decide_checksum(const ota_json_val_t *shared, ota_tb_offer_t *offer,
                                  ota_sb_t *why)
{
    char text[72];
    ota_algo_t algo = OTA_ALGO_CRC32;
    size_t n = 4u;
    size_t i;
    unsigned acc = 0u;

    if (get_text(shared, "fw_checksum_algorithm", text, 16u, why) != OTA_OK) {
        return OTA_CODE_CHECKSUM;
    }
    if (strcmp(text, "CRC32") != 0) {
        algo = OTA_ALGO_SHA256;
        n = 32u;
        if (!OTA_CFG_SHA256 || strcmp(text, "SHA256") != 0) {
            ota_sb_fmt(why, "unsupported checksum algorithm %s", text, 0u, 0u);
            return OTA_CODE_CHECKSUM;
        }
    }
    if (get_text(shared, "fw_checksum", text, sizeof text, why) != OTA_OK) {
        return OTA_CODE_CHECKSUM;
    }
    /* i ends at 2 * n only with the right length and every digit valid. */
    for (i = (strlen(text) == 2u * n) ? 0u : 2u * n + 1u; i < 2u * n; i++) {
        int h = ota_hex_value(text[i]);
        if (h < 0) {
            break;
        }
        acc = (acc << 4) | (unsigned)h;
        if ((i & 1u) != 0u) {
            offer->checksum[i / 2u] = (uint8_t)acc;
        }
    }
    if (i != 2u * n) {
        return bad(why, OTA_CODE_CHECKSUM, " malformed", "fw_checksum");
    }
    offer->algo = algo;
    return OTA_CODE_NONE;
}

/* In Dragino's order: the title (none → 5, another → 1), the version (the
 * running one → 6), then the package: size (→ 3), checksum (→ 7). */
ota_code_t ota_tb_decide(const uint8_t *payload, size_t len, const char *my_title,
                         const char *my_version, ota_tb_offer_t *offer, ota_sb_t *why)
{
    ota_json_val_t root;
    ota_json_val_t shared;
    const char *what;
    ota_status_t st;

    memset(offer, 0, sizeof *offer);
    if (payload == NULL || ota_json_parse((const char *)payload, len, &root) != OTA_OK ||
        root.type != OTA_JSON_OBJECT) {
        ota_sb_str(why, "attribute answer is not a valid JSON object");
        return OTA_CODE_FORMAT;
    }
    st = ota_json_get(&root, "shared", &shared);
    if (st == OTA_ERR_NOT_FOUND) {
        ota_sb_str(why, "no shared attributes: no firmware assigned");
        return OTA_CODE_NO_TITLE;
    }
    if (st != OTA_OK || shared.type != OTA_JSON_OBJECT) {
        ota_sb_str(why, "\"shared\" is not a single object");
        return OTA_CODE_FORMAT;
    }

    st = get_text(&shared, "fw_title", offer->title, sizeof offer->title, why);
    if (st != OTA_OK) {
        /* A title too long is longer than any title of this device. */
        return (st == OTA_ERR_NOT_FOUND) ? OTA_CODE_NO_TITLE
               : (st == OTA_ERR_NOSPACE) ? OTA_CODE_TITLE_MISMATCH
                                         : OTA_CODE_FORMAT;
    }
    if (strcmp(offer->title, my_title) != 0) {
        ota_sb_fmt(why, "server title %s", offer->title, 0u, 0u);
        ota_sb_fmt(why, " differs from device title %s", my_title, 0u, 0u);
        return OTA_CODE_TITLE_MISMATCH;
    }

    if (get_text(&shared, "fw_version", offer->version, sizeof offer->version, why) != OTA_OK) {
        return OTA_CODE_FORMAT;
    }
    if (strcmp(offer->version, my_version) == 0) {
        ota_sb_fmt(why, "version %s is already running", my_version, 0u, 0u);
        return OTA_CODE_SAME_VERSION;
    }

    what = size_problem(&shared, &offer->size);
    if (what != NULL) {
        return bad(why, OTA_CODE_FORMAT, what, "fw_size");
    }
    return decide_checksum(&shared, offer, why);
}

void ota_tb_chunk_request_topic(ota_sb_t *sb, uint32_t rid, uint32_t k)
{
    ota_sb_fmt(sb, "v2/fw/request/%u/chunk/%u", NULL, rid, k);
}

/* {"<k1>":<v1>} or, with k2, {"<k1>":<v1>,"<k2>":<v2>}: values as JSON strings. */
static void json_obj(ota_sb_t *sb, const char *k1, const char *v1, const char *k2, const char *v2)
{
    const char *sep = "{\"";

    while (k1 != NULL) {
        ota_sb_str(sb, sep);
        ota_sb_str(sb, k1);
        ota_sb_str(sb, "\":");
        ota_sb_json_str(sb, v1);
        sep = ",\"";
        k1 = k2;
        v1 = v2;
        k2 = NULL;
    }
    ota_sb_str(sb, "}");
}

void ota_tb_current_fw(ota_sb_t *sb, const char *title, const char *version)
{
    json_obj(sb, "current_fw_title", title, "current_fw_version", version);
}

void ota_tb_fw_state(ota_sb_t *sb, const char *state, const char *error)
{
    json_obj(sb, "fw_state", (error != NULL) ? "FAILED" : state, (error != NULL) ? "fw_error" : NULL,
             error);
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
    json_obj(sb, "IMEI", imei, "Message", text);
}
