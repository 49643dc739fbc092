/* Bounded string builder. See ota_fmt.h. */
#include "ota_fmt.h"

#include <string.h>

void ota_sb_init(ota_sb_t *sb, char *buf, size_t cap)
{
    sb->buf = buf;
    sb->cap = cap;
    sb->len = 0;
    sb->over = false;
    if (cap > 0u) {
        buf[0] = '\0';
    }
}

int ota_hex_value(char c)
{
    unsigned u = (unsigned char)c;

    if (u - '0' < 10u) {
        return (int)(u - '0');
    }
    u |= 0x20u; /* 'A'..'F' to 'a'..'f'; nothing else lands there */
    return (u - 'a' < 6u) ? (int)(u - 'a' + 10u) : -1;
}

/* Room left for characters, keeping one byte for the NUL. */
static size_t sb_room(const ota_sb_t *sb)
{
    return (sb->cap > sb->len + 1u) ? (sb->cap - sb->len - 1u) : 0u;
}

void ota_sb_mem(ota_sb_t *sb, const char *s, size_t n)
{
    size_t room = sb_room(sb);

    if (sb->cap == 0u) {
        sb->over = true;
        return;
    }
    if (n > room) {
        n = room;
        sb->over = true;
    }
    memcpy(&sb->buf[sb->len], s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void ota_sb_str(ota_sb_t *sb, const char *s)
{
    if (s != NULL) {
        ota_sb_mem(sb, s, strlen(s));
    }
}

/* Lower-case hex digit of the low nibble of v. */
static char hex_digit(uint32_t v)
{
    v &= 0xFu;
    return (char)((v < 10u) ? '0' + v : 'a' - 10u + v);
}

/* One number: 'x' as 0x + 8 hex digits, 'd' as two's complement signed
 * decimal, anything else as unsigned decimal. */
static void sb_number(ota_sb_t *sb, char spec, uint32_t v)
{
    char tmp[11];
    size_t i = sizeof tmp;
    bool neg = (spec == 'd' && v >= 0x80000000u);

    if (spec == 'x') {
        while (i > 3u) {
            tmp[--i] = hex_digit(v);
            v >>= 4;
        }
        tmp[--i] = 'x';
        tmp[--i] = '0';
    } else {
        if (neg) {
            v = 0u - v; /* negate in unsigned arithmetic: INT32_MIN is safe */
        }
        do {
            uint32_t q = v / 10u;
            tmp[--i] = (char)('0' + (v - 10u * q));
            v = q;
        } while (v != 0u);
        if (neg) {
            tmp[--i] = '-';
        }
    }
    ota_sb_mem(sb, &tmp[i], sizeof tmp - i);
}

void ota_sb_u32(ota_sb_t *sb, uint32_t v)
{
    sb_number(sb, 'u', v);
}

void ota_sb_i32(ota_sb_t *sb, int32_t v)
{
    sb_number(sb, 'd', (uint32_t)v);
}

void ota_sb_hex32(ota_sb_t *sb, uint32_t v)
{
    sb_number(sb, 'x', v);
}

/* Append n bytes whole or not at all (an escape is never cut in half). */
static void sb_atomic(ota_sb_t *sb, const char *s, size_t n)
{
    if (n > sb_room(sb)) {
        sb->over = true;
        return;
    }
    ota_sb_mem(sb, s, n);
}

void ota_sb_json_str(ota_sb_t *sb, const char *s)
{
    char esc[6];

    sb_atomic(sb, "\"", 1u);
    for (; s != NULL && *s != '\0' && !sb->over; s++) {
        unsigned char ch = (unsigned char)*s;
        size_t n = 2u;
        esc[0] = '\\';
        esc[1] = (char)ch;
        if (ch < 0x20u) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = (char)('0' + (ch >> 4));
            esc[5] = hex_digit(ch);
            n = 6u;
        } else if (ch != '"' && ch != '\\') {
            esc[0] = (char)ch;
            n = 1u;
        }
        sb_atomic(sb, esc, n);
    }
    if (!sb->over) {
        sb_atomic(sb, "\"", 1u);
    }
}

void ota_sb_fmt(ota_sb_t *sb, const char *fmt, const char *s, uint32_t a, uint32_t b)
{
    for (; *fmt != '\0'; fmt++) {
        char spec = (*fmt == '%') ? fmt[1] : '\0';
        bool conv = true;
        if (spec == 's') {
            ota_sb_str(sb, s);
        } else if (spec == 'u' || spec == 'd' || spec == 'x') {
            sb_number(sb, spec, a); /* the numbers in turn; a third one prints 0 */
            a = b;
            b = 0u;
        } else {
            ota_sb_mem(sb, fmt, 1u); /* plain text, or a '%' that is not a conversion */
            conv = (spec == '%');    /* "%%" is one '%' */
        }
        fmt += conv ? 1 : 0;
    }
}
