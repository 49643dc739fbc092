/*
 * ota_json.c - bounded, non-recursive JSON reader (RFC 8259).
 *
 * One scanner, scan(), checks the full syntax of one value on a cursor
 * [p, end) and never looks at *end. Nesting is tracked in a bit stack (bit 0
 * is the innermost open level: 1 = array, 0 = object) held in a uint32_t, so
 * depth costs no stack and is bounded by OTA_CFG_JSON_MAX_DEPTH (at most
 * 32). Each step consumes at least one byte, so every scan ends within len
 * steps. ota_json_get() runs the same scanner over the object and looks at
 * each of its own members (level 1) as the scan passes them; the object
 * itself is one level more there, so its members may nest as deep as a
 * whole document (a 33rd level drops the bottom bit of the stack: that
 * level is the object, and a 0 bit is what comes back).
 *
 * Bytes >= 0x80 inside strings are passed through as they are (UTF-8 is
 * not re-validated); control characters below 0x20 are refused there.
 */
#include <stdbool.h>
#include <string.h>

#include "cellota/ota_config.h"
#include "ota_fmt.h"
#include "ota_json.h"

/* A cursor, and what ota_json_get() needs from the scan. */
typedef struct {
    const char *p;
    const char *end;
    const char *key;     /* escaped text of the last level-1 member key */
    const char *key_end;
    const char *val;     /* start of the last level-1 value */
    const char *want;    /* ota_json_get(): the key looked for; else NULL */
    ota_json_val_t found; /* its value; found.p is NULL until seen */
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

/* Consume byte c if it is next. */
static bool accept(scan_t *s, char c)
{
    if (at_end(s) || *s->p != c) {
        return false;
    }
    s->p++;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Characters of a string                                                   */
/* ------------------------------------------------------------------------ */

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
/* The scanner                                                              */
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
            break;
        }
    }
    return OTA_ERR_FORMAT;
}

/* One or more digits. */
static bool scan_digits(scan_t *s)
{
    const char *start = s->p;

    while (!at_end(s) && (unsigned char)(*s->p - '0') <= 9u) {
        s->p++;
    }
    return s->p != start;
}

/* A scalar; s->p is on its first byte (not at the end). */
static ota_status_t scan_scalar(scan_t *s)
{
    static const char words[] = "true\0false\0null";
    const char *w;
    char c = *s->p;

    if (c == '"') {
        return scan_string(s);
    }
    if (c == 't' || c == 'f' || c == 'n') {
        for (w = &words[(c == 't') ? 0 : (c == 'f') ? 5 : 11]; *w != '\0'; w++) {
            if (!accept(s, *w)) {
                return OTA_ERR_FORMAT;
            }
        }
        return OTA_OK;
    }
    /* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ] */
    (void)accept(s, '-');
    if (!accept(s, '0') && !scan_digits(s)) {
        return OTA_ERR_FORMAT;
    }
    if (accept(s, '.') && !scan_digits(s)) {
        return OTA_ERR_FORMAT;
    }
    if (accept(s, 'e') || accept(s, 'E')) {
        if (!accept(s, '+')) {
            (void)accept(s, '-');
        }
        if (!scan_digits(s)) {
            return OTA_ERR_FORMAT;
        }
    }
    return OTA_OK;
}

/* `"key" :` of an object member at `depth`; the value follows. */
static ota_status_t scan_member_head(scan_t *s, uint32_t depth)
{
    const char *key;

    skip_ws(s);
    key = s->p + 1;
    if (at_end(s) || *s->p != '"' || scan_string(s) != OTA_OK) {
        return OTA_ERR_FORMAT;
    }
    if (depth == 1u) {
        s->key = key;
        s->key_end = s->p - 1;
    }
    skip_ws(s);
    return accept(s, ':') ? OTA_OK : OTA_ERR_FORMAT;
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

/* Skip white space, then scan one whole value into a view. With s->want
 * set, each member of the outermost object whose key is s->want is kept in
 * s->found (a second one is OTA_ERR_FORMAT). */
static ota_status_t scan(scan_t *s, ota_json_val_t *v)
{
    uint32_t kinds = 0u; /* bit d: level depth - d is an array */
    uint32_t depth = 0u; /* open levels */
    uint32_t max = OTA_CFG_JSON_MAX_DEPTH + ((s->want != NULL) ? 1u : 0u);
    const char *start;
    ota_status_t st;
    bool opened;

    skip_ws(s);
    start = s->p;
    for (;;) {
        /* A value must start here. */
        skip_ws(s);
        if (depth == 1u) {
            s->val = s->p;
        }
        if (at_end(s)) {
            return OTA_ERR_FORMAT;
        }
        opened = ((*s->p | 0x20) == '{'); /* '{' or '[' */
        if (opened) {
            if (depth >= max) {
                return OTA_ERR_RANGE;
            }
            kinds = (kinds << 1) | (((unsigned char)*s->p >> 5) ^ 3u); /* '[' is 0x5B, '{' 0x7B */
            depth++;
            s->p++;
            skip_ws(s);
        } else {
            st = scan_scalar(s);
            if (st != OTA_OK) {
                return st;
            }
        }
        /* Unless a level was just opened, a value has ended inside level
         * `depth`: close what it completes, up to a comma. */
        for (;;) {
            if (!opened) {
                if (depth == 1u && s->want != NULL && key_equals(s->key, s->key_end, s->want)) {
                    if (s->found.p != NULL) {
                        return OTA_ERR_FORMAT;
                    }
                    make_view(s->val, s->p, &s->found);
                }
                if (depth == 0u) {
                    make_view(start, s->p, v);
                    return OTA_OK;
                }
                skip_ws(s);
                if (accept(s, ',')) {
                    break;
                }
            }
            if (!accept(s, (char)('}' - ((kinds & 1u) << 5)))) { /* '}' - 0x20 is ']' */
                if (!opened) {
                    return OTA_ERR_FORMAT;
                }
                break;
            }
            depth--;
            kinds >>= 1;
            opened = false;
        }
        if ((kinds & 1u) == 0u) {
            st = scan_member_head(s, depth);
            if (st != OTA_OK) {
                return st;
            }
        }
    }
}

/* Scan [p, p + len) as one whole value into *v; with `want` (an object),
 * the member `want` goes to *v instead, or OTA_ERR_NOT_FOUND. */
static ota_status_t scan_all(const char *p, size_t len, const char *want, ota_json_val_t *v)
{
    scan_t s;
    ota_json_val_t whole;
    ota_status_t st;

    memset(&s, 0, sizeof s);
    s.p = p;
    s.end = p + len;
    s.want = want;
    st = scan(&s, (want != NULL) ? &whole : v);
    skip_ws(&s);
    if (st == OTA_OK && !at_end(&s)) {
        return OTA_ERR_FORMAT;
    }
    if (st == OTA_OK && want != NULL) {
        if (s.found.p == NULL) {
            return OTA_ERR_NOT_FOUND;
        }
        *v = s.found;
    }
    return st;
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
        uint32_t cp = next_char(&p, end);
        size_t k = 1u;
        size_t i;

        if (cp - 0xD800u < 0x400u && p < end) { /* a high surrogate: a low one may follow */
            const char *q = p;
            uint32_t lo = next_char(&q, end) - 0xDC00u;
            if (lo < 0x400u) {
                cp = 0x10000u + ((cp - 0xD800u) << 10) + lo;
                p = q;
            }
        }

        if (cp == BAD_CHAR || cp == 0u || cp - 0xD800u < 0x800u) {
            st = OTA_ERR_FORMAT;
            break;
        }
        if (cp < RAW_BYTE && cp >= 0x80u) {
            k = (cp < 0x800u) ? 2u : (cp < 0x10000u) ? 3u : 4u;
            for (i = k - 1u; i > 0u; i--) {
                tmp[i] = (uint8_t)(0x80u | (cp & 0x3Fu));
                cp >>= 6;
            }
            cp |= 0xF00u >> k; /* 110xxxxx, 1110xxxx or 11110xxx */
        }
        tmp[0] = (uint8_t)cp;
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
