/*
 * ThingsBoard device firmware API codec (private to the core): topics,
 * the shared-attribute answer and the decision it leads to, and the
 * messages the device publishes. See PROTOCOL.md section 1.
 */
#ifndef CELLOTA_SRC_OTA_TB_H
#define CELLOTA_SRC_OTA_TB_H

#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_client.h"
#include "cellota/ota_status.h"
#include "ota_fmt.h"

#define OTA_TB_TOPIC_TELEMETRY "v1/devices/me/telemetry"
#define OTA_TB_TOPIC_ATTR_REQ "v1/devices/me/attributes/request/"
#define OTA_TB_TOPIC_ATTR_RSP "v1/devices/me/attributes/response/"
#define OTA_TB_SUB_ATTR_RSP "v1/devices/me/attributes/response/+"
#define OTA_TB_SUB_CHUNKS "v2/fw/response/+/chunk/+"
#define OTA_TB_TOPIC_FW_ERROR "v2/fw/error"
#define OTA_TB_ATTR_KEYS "{\"sharedKeys\":\"fw_checksum,fw_checksum_algorithm,fw_size,fw_title,fw_version\"}"

/* What the server offers. */
typedef struct {
    char title[OTA_CFG_TITLE_MAX + 1];
    char version[OTA_CFG_VERSION_MAX + 1];
    uint32_t size;
    ota_algo_t algo;
    uint8_t checksum[32];
} ota_tb_offer_t;

/* Parse "v2/fw/response/<rid>/chunk/<k>". OTA_OK or OTA_ERR_FORMAT
 * (other topic, empty/over-long/non-digit number, > UINT32_MAX). */
ota_status_t ota_tb_parse_chunk_topic(const char *t, size_t n, uint32_t *rid, uint32_t *k);

/* Parse "v1/devices/me/attributes/response/<id>". OTA_OK or OTA_ERR_FORMAT. */
ota_status_t ota_tb_parse_attr_topic(const char *t, size_t n, uint32_t *id);

/* True when the topic is exactly "v2/fw/error". */
int ota_tb_is_error_topic(const char *t, size_t n);

/*
 * Parse the shared-attribute answer and decide, in Dragino's order:
 * no title → 5, other title → 1, same version → 6; then the package:
 * bad version or size → 3, unsupported algorithm or malformed checksum → 7.
 * Returns OTA_CODE_NONE when the offer is acceptable (offer filled), else
 * the code, with a detailed reason appended to `why`.
 */
ota_code_t ota_tb_decide(const uint8_t *payload, size_t len, const char *my_title,
                         const char *my_version, ota_tb_offer_t *offer, ota_sb_t *why);

/* Build "v2/fw/request/<rid>/chunk/<k>". */
void ota_tb_chunk_request_topic(ota_sb_t *sb, uint32_t rid, uint32_t k);

/* Build {"current_fw_title":…,"current_fw_version":…}. */
void ota_tb_current_fw(ota_sb_t *sb, const char *title, const char *version);

/* Build {"fw_state":"<state>"} or, with error != NULL,
 * {"fw_state":"FAILED","fw_error":"<error>"}. */
void ota_tb_fw_state(ota_sb_t *sb, const char *state, const char *error);

/* Build the Dragino status message {"IMEI":"<imei>","Message":"<text>"}
 * where text is "OTA code <n>: " and the standard text of `code`
 * (ota_code_str(), in ota_status.c), followed by ": <detail>" when detail
 * is not empty. */
void ota_tb_status_msg(ota_sb_t *sb, const char *imei, ota_code_t code, const char *detail);

#endif /* CELLOTA_SRC_OTA_TB_H */
