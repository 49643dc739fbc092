/*
 * ota_json.c - bounded, non-recursive JSON reader (RFC 8259).
 *
 * Every scan works on a cursor [p, end) and never looks at *end. Nesting is
 * tracked in a bit stack (one bit per level: 1 = object, 0 = array) held in
 * a uint32_t, so depth costs no stack and is bounded by
 * OTA_CFG_JSON_MAX_DEPTH (at most 32). Each loop iteration consumes at least
 * one byte, so every scan ends within len steps.
 *
 * Bytes >= 0x80 inside strings are passed through as they are (UTF-8 is
 * not re-validated); control characters below 0x20 are refused there.
 */
#include <stdbool.h>
#include <string.h>

#include "cellota/ota_config.h"
#include "ota_fmt.h"
#include "ota_json.h"

/* A cursor plus the nesting bit stack. */
typedef struct {
    const char *p;
    const char *end;
    uint32_t kinds;      /* bit d set: level d is an object */
    uint32_t depth;      /* open levels */
    const char *key;     /* escaped text of the last member key scanned */
    const char *key_end;
} scan_t;

static bool at_end(const scan_t *s)
{
    return s->p >= s->end;
}

static void skip_ws(scan_t *s)
{
    while (!at_end(s) && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------------ */
/* Characters of a string                                                   */
/* ------------------------------------------------------------------------ */

/* Marks a code point that stands for one raw byte of the text. */
#define RAW_BYTE 0x80000000u
/* Returned by next_char() for an invalid escape. */
#define BAD_CHAR 0xFFFFFFFFu

/* The byte a one-character escape stands for, or 0 if it is not one. */
static uint8_t simple_escape(char c)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit = (c != '\0') ? strchr(from, c) : NULL;

    return (hit != NULL) ? (uint8_t)to[hit - from] : 0u;
}

static bool is_high_surrogate(uint32_t cp)
{
    return cp >= 0xD800u && cp <= 0xDBFFu;
}

static bool is_low_surrogate(uint32_t cp)
{
    return cp >= 0xDC00u && cp <= 0xDFFFu;
}

/* "\uXXXX" at p (< end): its value, or BAD_CHAR. */
static uint32_t read_u_escape(const char *p, const char *end)
{
    uint32_t cp = 0u;
    int i;

    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
        return BAD_CHAR;
    }
    for (i = 2; i < 6; i++) {
        int h = ota_hex_value(p[i]);
        if (h < 0) {
            return BAD_CHAR;
        }
        cp = (cp << 4) | (uint32_t)h;
    }
    return cp;
}

/* One character of string text at *pp (< end), consumed. Returns a raw
 * byte as RAW_BYTE | byte, an escape as its code point (a valid surrogate
 * pair combined; \u0000 and lone surrogates returned as they are, since
 * they are valid syntax), or BAD_CHAR for an invalid escape. */
static uint32_t next_char(const char **pp, const char *end)
{
    const char *p = *pp;
    uint32_t cp;
    uint32_t lo;

    if (*p != '\\') {
        *pp = p + 1;
        return RAW_BYTE | (uint8_t)*p;
    }
    if (end - p >= 2 && p[1] != 'u') {
        cp = simple_escape(p[1]);
        *pp = p + 2;
        return (cp != 0u) ? cp : BAD_CHAR;
    }
    cp = read_u_escape(p, end);
    if (cp == BAD_CHAR) {
        return BAD_CHAR;
    }
    p += 6;
    lo = is_high_surrogate(cp) ? read_u_escape(p, end) : BAD_CHAR;
    if (is_low_surrogate(lo)) {
        cp = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u);
        p += 6;
    }
    *pp = p;
    return cp;
}

/* ------------------------------------------------------------------------ */
/* Syntax scanners: on OTA_OK the cursor is just past the scanned item.      */
/* ------------------------------------------------------------------------ */

/* A string; s->p is on the opening quote. */
static ota_status_t scan_string(scan_t *s)
{
    s->p++;
    while (!at_end(s)) {
        if (*s->p == '"') {
            s->p++;
            return OTA_OK;
        }
        if ((unsigned char)*s->p < 0x20u || next_char(&s->p, s->end) == BAD_CHAR) {
            return OTA_ERR_FORMAT;
        }
    }
    return OTA_ERR_FORMAT;
}

/* One or more digits. */
static ota_status_t scan_digits(scan_t *s)
{
    if (at_end(s) || !is_digit(*s->p)) {
        return OTA_ERR_FORMAT;
    }
    while (!at_end(s) && is_digit(*s->p)) {
        s->p++;
    }
    return OTA_OK;
}

/* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ] */
static ota_status_t scan_number(scan_t *s)
{
    if (!at_end(s) && *s->p == '-') {
        s->p++;
    }
    if (!at_end(s) && *s->p == '0') {
        s->p++;
    } else if (scan_digits(s) != OTA_OK) {
        return OTA_ERR_FORMAT;
    }
    if (!at_end(s) && *s->p == '.') {
        s->p++;
        if (scan_digits(s) != OTA_OK) {
            return OTA_ERR_FORMAT;
        }
    }
    if (!at_end(s) && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (!at_end(s) && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        return scan_digits(s);
    }
    return OTA_OK;
}

static ota_status_t scan_literal(scan_t *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return OTA_ERR_FORMAT;
    }
    s->p += n;
    return OTA_OK;
}

static ota_status_t scan_scalar(scan_t *s)
{
    switch (*s->p) {
    case '"':
        return scan_string(s);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return (*s->p == '-' || is_digit(*s->p)) ? scan_number(s) : OTA_ERR_FORMAT;
    }
}

static bool top_is_object(const scan_t *s)
{
    return ((s->kinds >> (s->depth - 1u)) & 1u) != 0u;
}

static char top_close(const scan_t *s)
{
    return top_is_object(s) ? '}' : ']';
}

/* `"key" :` of an object member (key text kept in s->key); the value follows. */
static ota_status_t scan_member_head(scan_t *s)
{
    ota_status_t st;

    skip_ws(s);
    if (at_end(s) || *s->p != '"') {
        return OTA_ERR_FORMAT;
    }
    s->key = s->p + 1;
    st = scan_string(s);
    if (st != OTA_OK) {
        return st;
    }
    s->key_end = s->p - 1;
    skip_ws(s);
    if (at_end(s) || *s->p != ':') {
        return OTA_ERR_FORMAT;
    }
    s->p++;
    return OTA_OK;
}

/* Start of a value: a scalar is consumed whole, a bracket opens a level.
 * *more is set when a value must follow (a non-empty container was opened). */
static ota_status_t value_start(scan_t *s, bool *more)
{
    char c;

    *more = false;
    skip_ws(s);
    if (at_end(s)) {
        return OTA_ERR_FORMAT;
    }
    c = *s->p;
    if (c != '{' && c != '[') {
        return scan_scalar(s);
    }
    if (s->depth >= OTA_CFG_JSON_MAX_DEPTH) {
        return OTA_ERR_RANGE;
    }
    if (c == '{') {
        s->kinds |= (1u << s->depth);
    } else {
        s->kinds &= ~(1u << s->depth);
    }
    s->depth++;
    s->p++;
    skip_ws(s);
    if (!at_end(s) && *s->p == top_close(s)) {
        s->p++;
        s->depth--;
        return OTA_OK;
    }
    *more = true;
    return top_is_object(s) ? scan_member_head(s) : OTA_OK;
}

/* After a complete value: close finished levels; stop after a comma
 * (*more set: a value must follow) or when the outermost value is done. */
static ota_status_t value_end(scan_t *s, bool *more)
{
    *more = false;
    while (s->depth > 0u) {
        skip_ws(s);
        if (at_end(s)) {
            return OTA_ERR_FORMAT;
        }
        if (*s->p == ',') {
            s->p++;
            *more = true;
            return top_is_object(s) ? scan_member_head(s) : OTA_OK;
        }
        if (*s->p != top_close(s)) {
            return OTA_ERR_FORMAT;
        }
        s->p++;
        s->depth--;
    }
    return OTA_OK;
}

/* One whole value, nested containers included, starting at s->p. */
static ota_status_t scan_value(scan_t *s)
{
    bool more = true;
    ota_status_t st = OTA_OK;

    s->kinds = 0u;
    s->depth = 0u;
    while (more && st == OTA_OK) {
        st = value_start(s, &more);
        if (st == OTA_OK && !more) {
            st = value_end(s, &more);
        }
    }
    return st;
}

/* The view of the value scanned from start to end (start has no white space). */
static void make_view(const char *start, const char *end, ota_json_val_t *v)
{
    /* The first byte tells the type; anything else is a number. */
    static const char first[] = "{[\"tfn";
    static const uint8_t type[] = {OTA_JSON_OBJECT, OTA_JSON_ARRAY, OTA_JSON_STRING,
                                   OTA_JSON_TRUE,   OTA_JSON_FALSE, OTA_JSON_NULL};
    const char *hit = strchr(first, *start); /* *start is never NUL: a value was scanned */

    v->p = start;
    v->len = (size_t)(end - start);
    v->type = (hit != NULL) ? (ota_json_type_t)type[hit - first] : OTA_JSON_NUMBER;
    if (v->type == OTA_JSON_STRING) {
        v->p = start + 1;
        v->len -= 2u;
    }
}

/* Skip white space, then scan one whole value into a view. */
static ota_status_t scan_view(scan_t *s, ota_json_val_t *v)
{
    const char *start;
    ota_status_t st;

    skip_ws(s);
    start = s->p;
    st = scan_value(s);
    if (st == OTA_OK) {
        make_view(start, s->p, v);
    }
    return st;
}

ota_status_t ota_json_parse(const char *text, size_t len, ota_json_val_t *root)
{
    scan_t s = { NULL, NULL, 0u, 0u, NULL, NULL };
    ota_status_t st;

    if (text == NULL || root == NULL) {
        return OTA_ERR_PARAM;
    }
    s.p = text;
    s.end = text + len;
    st = scan_view(&s, root);
    if (st != OTA_OK) {
        return st;
    }
    skip_ws(&s);
    return at_end(&s) ? OTA_OK : OTA_ERR_FORMAT;
}

/* ------------------------------------------------------------------------ */
/* Unescaping                                                               */
/* ------------------------------------------------------------------------ */

static size_t utf8_encode(uint32_t cp, uint8_t out[4])
{
    size_t n = (cp < 0x80u) ? 1u : (cp < 0x800u) ? 2u : (cp < 0x10000u) ? 3u : 4u;
    size_t i;

    if (n == 1u) {
        out[0] = (uint8_t)cp;
        return 1u;
    }
    for (i = n - 1u; i > 0u; i--) {
        out[i] = (uint8_t)(0x80u | (cp & 0x3Fu));
        cp >>= 6;
    }
    out[0] = (uint8_t)((0xF00u >> n) | cp); /* 110xxxxx, 1110xxxx or 11110xxx */
    return n;
}

/* One character of string text at *pp (< end) as UTF-8 bytes in out.
 * Returns 1..4, or 0 for an invalid escape, \u0000 or a lone surrogate. */
static size_t decode_char(const char **pp, const char *end, uint8_t out[4])
{
    uint32_t cp = next_char(pp, end);

    if ((cp & RAW_BYTE) != 0u && cp != BAD_CHAR) {
        out[0] = (uint8_t)cp;
        return 1u;
    }
    if (cp == 0u || cp == BAD_CHAR || is_high_surrogate(cp) || is_low_surrogate(cp)) {
        return 0u;
    }
    return utf8_encode(cp, out);
}

ota_status_t ota_json_string(const ota_json_val_t *v, char *buf, size_t cap, size_t *out_len)
{
    const char *p;
    const char *end;
    size_t n = 0u;

    if (out_len != NULL) {
        *out_len = 0u;
    }
    if (v == NULL || buf == NULL || v->type != OTA_JSON_STRING || (v->p == NULL && v->len != 0u)) {
        return OTA_ERR_PARAM;
    }
    if (cap == 0u) {
        return OTA_ERR_NOSPACE;
    }
    buf[0] = '\0';
    p = v->p;
    end = (p != NULL) ? p + v->len : p;
    while (p < end) {
        uint8_t tmp[4];
        size_t k = decode_char(&p, end, tmp);
        if (k == 0u) {
            buf[0] = '\0';
            return OTA_ERR_FORMAT;
        }
        if (k > cap - 1u - n) {
            buf[0] = '\0';
            return OTA_ERR_NOSPACE;
        }
        memcpy(&buf[n], tmp, k);
        n += k;
    }
    buf[n] = '\0';
    if (out_len != NULL) {
        *out_len = n;
    }
    return OTA_OK;
}

/* ------------------------------------------------------------------------ */
/* Object lookup                                                            */
/* ------------------------------------------------------------------------ */

/* Does the escaped key text [p, end) decode to exactly `key`? */
static bool key_equals(const char *p, const char *end, const char *key)
{
    while (p < end) {
        uint8_t tmp[4];
        size_t k = decode_char(&p, end, tmp);
        size_t i;
        if (k == 0u) {
            return false;
        }
        for (i = 0u; i < k; i++) {
            if (*key == '\0' || (uint8_t)*key != tmp[i]) {
                return false;
            }
            key++;
        }
    }
    return *key == '\0';
}

/* After a member: a comma (another member follows) or the end of the object. */
static ota_status_t member_sep(scan_t *s, bool *more)
{
    skip_ws(s);
    *more = !at_end(s);
    if (*more && *s->p != ',') {
        return OTA_ERR_FORMAT;
    }
    s->p += *more ? 1 : 0;
    return OTA_OK;
}

ota_status_t ota_json_get(const ota_json_val_t *obj, const char *key, ota_json_val_t *out)
{
    scan_t s = { NULL, NULL, 0u, 0u, NULL, NULL };
    ota_json_val_t found = { NULL, 0u, OTA_JSON_NULL };
    bool have = false;
    bool more;

    if (obj == NULL || key == NULL || out == NULL || obj->type != OTA_JSON_OBJECT ||
        obj->p == NULL || obj->len < 2u || obj->p[0] != '{' || obj->p[obj->len - 1u] != '}') {
        return OTA_ERR_PARAM;
    }
    s.p = obj->p + 1;
    s.end = obj->p + obj->len - 1u; /* the closing brace stays outside the cursor */
    skip_ws(&s);
    more = !at_end(&s);
    while (more) {
        ota_json_val_t val;
        ota_status_t st = scan_member_head(&s);
        const char *kp = s.key; /* kept: the value may hold keys of its own */
        const char *kend = s.key_end;

        if (st == OTA_OK) {
            st = scan_view(&s, &val);
        }
        if (st == OTA_OK) {
            st = member_sep(&s, &more);
        }
        if (st != OTA_OK) {
            return st;
        }
        if (key_equals(kp, kend, key)) {
            if (have) {
                return OTA_ERR_FORMAT;
            }
            have = true;
            found = val;
        }
    }
    if (!have) {
        return OTA_ERR_NOT_FOUND;
    }
    *out = found;
    return OTA_OK;
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

ota_status_t ota_json_u32(const ota_json_val_t *v, uint32_t *out)
{
    const char *p;
    const char *digits;
    const char *end;
    uint32_t n = 0u;
    ota_status_t st = OTA_OK;

    if (v == NULL || out == NULL || v->type != OTA_JSON_NUMBER || v->p == NULL) {
        return OTA_ERR_PARAM;
    }
    end = v->p + v->len;
    digits = (v->len > 0u && *v->p == '-') ? v->p + 1 : v->p;
    for (p = digits; p < end; p++) {
        uint32_t d = (uint32_t)(unsigned char)*p - (uint32_t)'0';
        if (d > 9u || (p != digits && *digits == '0')) {
            return OTA_ERR_FORMAT; /* fraction, exponent, stray byte or leading zero */
        }
        if (n > 429496729u || (n == 429496729u && d > 5u)) {
            st = OTA_ERR_RANGE; /* over UINT32_MAX; keep scanning: a fraction is FORMAT */
        }
        n = n * 10u + d;
    }
    if (p == digits) {
        return (v->len == 0u) ? OTA_ERR_PARAM : OTA_ERR_FORMAT;
    }
    if (digits != v->p) {
        return OTA_ERR_RANGE; /* negative */
    }
    if (st == OTA_OK) {
        *out = n;
    }
    return st;
}
