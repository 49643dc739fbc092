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
/* Append a template: "%s" appends s, and each "%u" (decimal), "%d" (signed
 * decimal) or "%x" (0x + 8 hex digits) takes the next of a, b in turn (a
 * third number prints 0); "%%" is '%'. One call replaces a run of appends. */
void ota_sb_fmt(ota_sb_t *sb, const char *fmt, const char *s, uint32_t a, uint32_t b);

/* Value of one hex digit (0-9, a-f, A-F), or -1. */
int ota_hex_value(char c);

#endif /* CELLOTA_SRC_OTA_FMT_H */
