/*
 * Bounded string builder (private to the core): builds topics, JSON
 * messages and reason texts without snprintf. The buffer is always
 * NUL-terminated; text that does not fit is cut and `over` is set.
 */
#ifndef CELLOTA_SRC_OTA_FMT_H
#define CELLOTA_SRC_OTA_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool over;
} ota_sb_t;

/* Start on buf (cap >= 1); buf becomes "". */
void ota_sb_init(ota_sb_t *sb, char *buf, size_t cap);
/* Append n bytes. */
void ota_sb_mem(ota_sb_t *sb, const char *s, size_t n);
/* Append a NUL-terminated string (NULL appends nothing). */
void ota_sb_str(ota_sb_t *sb, const char *s);
/* Append an unsigned decimal. */
void ota_sb_u32(ota_sb_t *sb, uint32_t v);
/* Append a signed decimal. */
void ota_sb_i32(ota_sb_t *sb, int32_t v);
/* Append 0x + 8 lower-case hex digits. */
void ota_sb_hex32(ota_sb_t *sb, uint32_t v);
/* Append a JSON string literal with quotes; ", \ and control bytes are
 * escaped; an escape is never cut in half (sets over instead). */
void ota_sb_json_str(ota_sb_t *sb, const char *s);

#endif /* CELLOTA_SRC_OTA_FMT_H */
