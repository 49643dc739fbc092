/*
 * Bounded JSON reader (private to the core).
 *
 * Reads a JSON text in place, never allocates, never recurses, never reads
 * past the length it is given. A value is a view (pointer + length) into the
 * caller's text. Nesting deeper than OTA_CFG_JSON_MAX_DEPTH is refused.
 */
#ifndef CELLOTA_SRC_OTA_JSON_H
#define CELLOTA_SRC_OTA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cellota/ota_status.h"

typedef enum {
    OTA_JSON_OBJECT = 1,
    OTA_JSON_ARRAY,
    OTA_JSON_STRING,
    OTA_JSON_NUMBER,
    OTA_JSON_TRUE,
    OTA_JSON_FALSE,
    OTA_JSON_NULL
} ota_json_type_t;

/* A view of one value. For strings p/len cover the text between the quotes
 * (still escaped); for every other type the value's own text. */
typedef struct {
    const char *p;
    size_t len;
    ota_json_type_t type;
} ota_json_val_t;

/* Parse a whole document: exactly one value, optional surrounding white
 * space, nothing after it. Checks the full syntax (strings, escapes,
 * numbers, brackets, depth).
 * OTA_OK, OTA_ERR_PARAM (NULL), OTA_ERR_FORMAT (bad syntax, trailing bytes,
 * empty), OTA_ERR_RANGE (too deep). */
ota_status_t ota_json_parse(const char *text, size_t len, ota_json_val_t *root);

/* Look up member `key` (exact, case-sensitive, compared after unescaping)
 * of object `obj`, which must come from ota_json_parse()/ota_json_get().
 * OTA_OK, OTA_ERR_PARAM (NULL / obj not an object), OTA_ERR_NOT_FOUND,
 * OTA_ERR_FORMAT (the key appears more than once). */
ota_status_t ota_json_get(const ota_json_val_t *obj, const char *key, ota_json_val_t *out);

/* Unescape a string value into buf (NUL-terminated). \uXXXX is written as
 * UTF-8; surrogate pairs combined; \u0000 and lone surrogates refused.
 * OTA_OK, OTA_ERR_PARAM (NULL / not a string), OTA_ERR_NOSPACE (does not
 * fit cap-1 chars; buf is then ""), OTA_ERR_FORMAT. out_len may be NULL. */
ota_status_t ota_json_string(const ota_json_val_t *v, char *buf, size_t cap, size_t *out_len);

/* A non-negative integer number that fits in uint32_t: no sign, fraction or
 * exponent ("12.0" and "1e3" refused).
 * OTA_OK, OTA_ERR_PARAM (NULL / not a number), OTA_ERR_FORMAT (fraction,
 * exponent), OTA_ERR_RANGE (negative or > UINT32_MAX). */
ota_status_t ota_json_u32(const ota_json_val_t *v, uint32_t *out);

#endif /* CELLOTA_SRC_OTA_JSON_H */
