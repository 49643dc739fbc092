/*
 * ota_json.c - bounded, non-recursive JSON reader (RFC 8259).
 *
 * One scanner, scan_all(), checks the full syntax of one value on a cursor
 * [p, end) and never looks at *end. Nesting is tracked in a bit stack (bit 0
 * is the innermost open level: 1 = array, 0 = object) held in a uint32_t, so
 * depth costs no stack and is bounded by OTA_CFG_JSON_MAX_DEPTH (at most
 * 32). Each step consumes at least one byte, so every scan ends within len
 * steps. ota_json_get() runs the same scanner over the object and looks at
 * each of its own members (level 1) as the scan passes them. The object is
 * one level more there, so that its members may nest as deep as in a
 * document of their own; at a 33rd level the object's bit is shifted out of
 * the stack, and the 0 that comes back in its place says "object" again.
 *
 * Bytes >= 0x80 inside strings are passed through as they are (UTF-8 is
 * not re-validated); control characters below 0x20 are refused there.
 */
#include <stdbool.h>
#include <string.h>

#include "cellota/ota_config.h"
#include "ota_fmt.h"
#include "ota_json.h"

/* Marks a code point that stands for one raw byte of the text. */
#define RAW_BYTE 0x80000000u
/* Returned by next_char() for an invalid escape. */
#define BAD_CHAR 0xFFFFFFFFu

/* One character of string text at *pp (< end), consumed. Returns a raw
 * byte as RAW_BYTE | byte, an escape as its code point (\uXXXX as it is:
 * surrogates are paired by unescape()), or BAD_CHAR for an invalid escape. */
static uint32_t next_char(const char **pp, const char *end)
{
    /* One-character escapes, each followed by the byte it stands for. */
    static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *p = *pp;
    uint32_t cp = RAW_BYTE | (uint8_t)*p;
    unsigned i;

    *pp = p + 1;
    if (*p != '\\') {
        return cp;
    }
    if (end - p < 2) {
        return BAD_CHAR;
    }
    *pp = p + 2;
    if (p[1] != 'u') {
        for (i = 0u; i < sizeof simple - 1u; i += 2u) {
            if (simple[i] == p[1]) {
                return (uint8_t)simple[i + 1u];
            }
        }
        return BAD_CHAR;
    }
    if (end - p < 6) {
        return BAD_CHAR;
    }
    cp = 0u;
    for (i = 2u; i < 6u; i++) {
        int h = ota_hex_value(p[i]);
        if (h < 0) {
            return BAD_CHAR;
        }
        cp = (cp << 4) | (uint32_t)h;
    }
    *pp = p + 6;
    return cp;
}

/* ------------------------------------------------------------------------ */
/* The scanner: each step takes a position and returns the one after what   */
/* it scanned, or NULL when that is not valid.                              */
/* ------------------------------------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* A string; p is on the opening quote. */
static const char *scan_string(const char *p, const char *end)
{
    p++;
    while (p < end) {
        if (*p == '"') {
            return p + 1;
        }
        if ((unsigned char)*p < 0x20u || next_char(&p, end) == BAD_CHAR) {
            break;
        }
    }
    return NULL;
}

/* One or more digits. */
static const char *scan_digits(const char *p, const char *end)
{
    const char *start = p;

    while (p < end && (unsigned char)(*p - '0') <= 9u) {
        p++;
    }
    return (p != start) ? p : NULL;
}

/* The byte at p, or NUL at the end (a NUL is valid nowhere in JSON text). */
static char peek(const char *p, const char *end)
{
    return (p < end) ? *p : '\0';
}

/* A scalar; p is on its first byte (not at the end). */
static const char *scan_scalar(const char *p, const char *end)
{
    static const char words[] = "true\0false\0null";
    char c = *p;

    if (c == '"') {
        return scan_string(p, end);
    }
    if (c == 't' || c == 'f' || c == 'n') {
        const char *w;
        for (w = &words[(c == 't') ? 0 : (c == 'f') ? 5 : 11]; *w != '\0'; w++) {
            if (peek(p, end) != *w) {
                return NULL;
            }
            p++;
        }
        return p;
    }
    /* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ] */
    if (c == '-') {
        p++;
    }
    if (peek(p, end) == '0') {
        p++;
    } else {
        p = scan_digits(p, end);
    }
    if (p != NULL && peek(p, end) == '.') {
        p = scan_digits(p + 1, end);
    }
    if (p != NULL && (peek(p, end) | 0x20) == 'e') { /* 'e' or 'E' */
        p++;
        c = peek(p, end);
        p = scan_digits((c == '+' || c == '-') ? p + 1 : p, end);
    }
    return p;
}

/* The view of the value [start, end) (start has no white space). */
static void make_view(const char *start, const char *end, ota_json_val_t *v)
{
    /* The first byte tells the type (in enum order); a digit is a number. */
    static const char first[] = "{[\"-tfn";
    const char *hit = strchr(first, *start); /* *start is never NUL: a value was scanned */

    v->p = start;
    v->len = (size_t)(end - start);
    v->type = (hit != NULL) ? (ota_json_type_t)(hit - first + 1) : OTA_JSON_NUMBER;
    if (v->type == OTA_JSON_STRING) {
        v->p = start + 1;
        v->len -= 2u;
    }
}

/* Does the escaped key text [p, end) decode to exactly `key`? */
static bool key_equals(const char *p, const char *end, const char *key);

/* The state of one scan. */
typedef struct {
    const char *end;
    uint32_t kinds;      /* bit d: level depth - d is an array */
    uint32_t depth;      /* open levels */
    uint32_t max;        /* deepest level allowed */
    const char *want;    /* ota_json_get(): the key looked for; else NULL */
    const char *key;     /* the last member of level 1: its key (escaped text) */
    const char *key_end;
    const char *val;     /* and where its value starts */
    ota_json_val_t found; /* the member looked for; found.p is NULL until seen */
} scan_t;

/* The closing bracket of the innermost open level ('}' - 0x20 is ']'). */
static char closer(const scan_t *s)
{
    return (char)('}' - ((s->kinds & 1u) << 5));
}

/* Where a value must start (white space skipped first): a scalar is
 * scanned whole; a bracket opens a level (*opened). NULL with *st set when
 * that is not valid. */
static const char *value_start(scan_t *s, const char *p, bool *opened, ota_status_t *st)
{
    p = skip_ws(p, s->end);
    if (s->depth == 1u) {
        s->val = p;
    }
    *opened = (p < s->end && (*p | 0x20) == '{'); /* '{' or '[' */
    *st = OTA_ERR_FORMAT;
    if (!*opened) {
        return (p < s->end) ? scan_scalar(p, s->end) : NULL;
    }
    if (s->depth >= s->max) {
        *st = OTA_ERR_RANGE;
        return NULL;
    }
    s->kinds = (s->kinds << 1) | (((unsigned char)*p >> 5) ^ 3u); /* '[' is 0x5B, '{' 0x7B */
    s->depth++;
    return skip_ws(p + 1, s->end);
}

/* A value has ended at p inside level s->depth: the member looked for is
 * kept when this was it (OTA_ERR_FORMAT if it was there before). */
static ota_status_t member_done(scan_t *s, const char *p)
{
    if (s->depth != 1u || s->want == NULL || !key_equals(s->key, s->key_end, s->want)) {
        return OTA_OK;
    }
    if (s->found.p != NULL) {
        return OTA_ERR_FORMAT;
    }
    make_view(s->val, p, &s->found);
    return OTA_OK;
}

/* After a value that ended at p (or, with `opened`, just inside the level
 * it opened): close the levels it completes. Returns the position after a
 * comma or of the first value of the opened level (another value follows),
 * or after the whole value (s->depth is 0 then); NULL with *st set when not
 * valid. */
static const char *value_end(scan_t *s, const char *p, bool opened, ota_status_t *st)
{
    for (;;) {
        if (!opened) {
            *st = member_done(s, p);
            if (*st != OTA_OK || s->depth == 0u) {
                return (*st == OTA_OK) ? p : NULL;
            }
            p = skip_ws(p, s->end);
            if (peek(p, s->end) == ',') {
                return p + 1;
            }
        }
        if (peek(p, s->end) != closer(s)) {
            *st = OTA_ERR_FORMAT;
            return opened ? p : NULL;
        }
        p++;
        s->depth--;
        s->kinds >>= 1;
        opened = false;
    }
}

/* `"key" :` of a member of an object at level s->depth; NULL if not valid. */
static const char *scan_key(scan_t *s, const char *p)
{
    const char *key;

    p = skip_ws(p, s->end);
    if (peek(p, s->end) != '"') {
        return NULL;
    }
    key = p + 1;
    p = scan_string(p, s->end);
    if (p == NULL) {
        return NULL;
    }
    if (s->depth == 1u) {
        s->key = key;
        s->key_end = p - 1;
    }
    p = skip_ws(p, s->end);
    return (peek(p, s->end) == ':') ? p + 1 : NULL;
}

/* Scan [p, p + len) as one whole value, with white space around it, into
 * *v; with `want` (an object), the member `want` goes to *v instead (a
 * second one is OTA_ERR_FORMAT), or OTA_ERR_NOT_FOUND. */
static ota_status_t scan_all(const char *p, size_t len, const char *want, ota_json_val_t *v)
{
    scan_t s;
    const char *start;
    ota_status_t st;
    bool opened;

    memset(&s, 0, sizeof s);
    s.end = p + len;
    s.max = OTA_CFG_JSON_MAX_DEPTH + ((want != NULL) ? 1u : 0u);
    s.want = want;
    start = skip_ws(p, s.end);
    p = start;
    for (;;) {
        p = value_start(&s, p, &opened, &st);
        if (p != NULL) {
            p = value_end(&s, p, opened, &st);
        }
        if (p == NULL) {
            return st;
        }
        if (s.depth == 0u) {
            break;
        }
        if ((s.kinds & 1u) == 0u) {
            p = scan_key(&s, p);
            if (p == NULL) {
                return OTA_ERR_FORMAT;
            }
        }
    }
    /* The whole value is [start, p): nothing but white space may follow. */
    if (want == NULL) {
        make_view(start, p, v);
    }
    if (skip_ws(p, s.end) != s.end) {
        return OTA_ERR_FORMAT;
    }
    if (want != NULL) {
        if (s.found.p == NULL) {
            return OTA_ERR_NOT_FOUND;
        }
        *v = s.found;
    }
    return OTA_OK;
}

ota_status_t ota_json_parse(const char *text, size_t len, ota_json_val_t *root)
{
    if (text == NULL || root == NULL) {
        return OTA_ERR_PARAM;
    }
    return scan_all(text, len, NULL, root);
}

/* ------------------------------------------------------------------------ */
/* Unescaping                                                               */
/* ------------------------------------------------------------------------ */

/* next_char(), with a surrogate pair (a high one, then a low one) joined
 * into one code point. */
static uint32_t next_code(const char **pp, const char *end)
{
    uint32_t cp = next_char(pp, end);

    if (cp - 0xD800u < 0x400u && *pp < end) {
        const char *q = *pp;
        uint32_t lo = next_char(&q, end) - 0xDC00u;
        if (lo < 0x400u) {
            cp = 0x10000u + ((cp - 0xD800u) << 10) + lo;
            *pp = q;
        }
    }
    return cp;
}

/* The bytes of a character from next_code() into out: a raw byte as it
 * is, a code point as UTF-8. Returns 1..4. */
static size_t put_utf8(uint32_t cp, uint8_t out[4])
{
    size_t k = 1u;

    if (cp < RAW_BYTE && cp >= 0x80u) { /* a code point that needs 2 to 4 bytes */
        size_t i;
        k = (cp < 0x800u) ? 2u : (cp < 0x10000u) ? 3u : 4u;
        for (i = k - 1u; i > 0u; i--) {
            out[i] = (uint8_t)(0x80u | (cp & 0x3Fu));
            cp >>= 6;
        }
        cp |= 0xF00u >> k; /* 110xxxxx, 1110xxxx or 11110xxx */
    }
    out[0] = (uint8_t)cp;
    return k;
}

/* Unescape the string text [p, end): into buf (cap >= 1 bytes, NUL-terminated)
 * or, with buf NULL, compared with the first cap - 1 bytes of key. \uXXXX
 * becomes UTF-8; \u0000 and lone surrogates are refused. OTA_OK with *len
 * bytes, OTA_ERR_FORMAT (bad escape), OTA_ERR_NOSPACE (more than cap - 1
 * bytes) or OTA_ERR_NOT_FOUND (differs from key); buf is "" on failure. */
static ota_status_t unescape(const char *p, const char *end, char *buf, size_t cap, size_t *len,
                             const char *key)
{
    size_t n = 0u;
    ota_status_t st = OTA_OK;

    while (p < end) {
        uint8_t tmp[4];
        uint32_t cp = next_code(&p, end);
        size_t k;

        if (cp == BAD_CHAR || cp == 0u || (cp >= 0xD800u && cp <= 0xDFFFu)) { /* or a lone surrogate */
            st = OTA_ERR_FORMAT;
            break;
        }
        k = put_utf8(cp, tmp);
        if (k > cap - 1u - n) {
            st = OTA_ERR_NOSPACE;
            break;
        }
        if (buf != NULL) {
            memcpy(&buf[n], tmp, k);
        } else if (memcmp(&key[n], tmp, k) != 0) {
            st = OTA_ERR_NOT_FOUND;
            break;
        }
        n += k;
    }
    if (st != OTA_OK) {
        n = 0u;
    }
    if (buf != NULL) {
        buf[n] = '\0';
    }
    *len = n;
    return st;
}

ota_status_t ota_json_string(const ota_json_val_t *v, char *buf, size_t cap, size_t *out_len)
{
    size_t n = 0u;
    ota_status_t st = OTA_ERR_PARAM;

    if (v != NULL && buf != NULL && v->type == OTA_JSON_STRING && (v->p != NULL || v->len == 0u)) {
        st = (cap == 0u) ? OTA_ERR_NOSPACE
                         : unescape(v->p, (v->p != NULL) ? v->p + v->len : v->p, buf, cap, &n, NULL);
    }
    if (out_len != NULL) {
        *out_len = n;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Object lookup                                                            */
/* ------------------------------------------------------------------------ */

static bool key_equals(const char *p, const char *end, const char *key)
{
    size_t klen = strlen(key);
    size_t n;

    return unescape(p, end, NULL, klen + 1u, &n, key) == OTA_OK && n == klen;
}

ota_status_t ota_json_get(const ota_json_val_t *obj, const char *key, ota_json_val_t *out)
{
    if (obj == NULL || key == NULL || out == NULL || obj->type != OTA_JSON_OBJECT ||
        obj->p == NULL || obj->len < 2u || obj->p[0] != '{' || obj->p[obj->len - 1u] != '}') {
        return OTA_ERR_PARAM;
    }
    return scan_all(obj->p, obj->len, key, out);
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

ota_status_t ota_json_u32(const ota_json_val_t *v, uint32_t *out)
{
    const char *p;
    const char *end;
    uint32_t n = 0u;
    ota_status_t st = OTA_OK;

    if (v == NULL || out == NULL || v->type != OTA_JSON_NUMBER || v->p == NULL || v->len == 0u) {
        return OTA_ERR_PARAM;
    }
    p = v->p;
    end = p + v->len;
    if (*p == '-') {
        p++;
        st = OTA_ERR_RANGE; /* negative; still FORMAT if it has a fraction */
    }
    if (p == end || (*p == '0' && end - p > 1)) {
        return OTA_ERR_FORMAT; /* no digit, or a leading zero */
    }
    for (; p < end; p++) {
        uint32_t d = (uint32_t)(unsigned char)*p - (uint32_t)'0';
        if (d > 9u) {
            return OTA_ERR_FORMAT; /* fraction, exponent or stray byte */
        }
        if (n > 429496729u || n * 10u + d < d) {
            st = OTA_ERR_RANGE; /* over UINT32_MAX; keep scanning: a fraction is FORMAT */
        }
        n = n * 10u + d;
    }
    if (st == OTA_OK) {
        *out = n;
    }
    return st;
}
