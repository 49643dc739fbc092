/* Bounded string builder. See ota_fmt.h. */
#include "ota_fmt.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

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
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
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

void ota_sb_u32(ota_sb_t *sb, uint32_t v)
{
    char tmp[10];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    ota_sb_mem(sb, &tmp[i], sizeof tmp - i);
}

void ota_sb_i32(ota_sb_t *sb, int32_t v)
{
    ota_sb_fmt(sb, "%d", NULL, (uint32_t)v, 0u);
}

void ota_sb_hex32(ota_sb_t *sb, uint32_t v)
{
    char tmp[10] = {'0', 'x'};
    for (unsigned i = 0; i < 8u; i++) {
        tmp[2u + i] = hex_digits[(v >> (28u - 4u * i)) & 0xFu];
    }
    ota_sb_mem(sb, tmp, sizeof tmp);
}

/* Append an escape sequence whole or not at all. */
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
    sb_atomic(sb, "\"", 1u);
    for (; s != NULL && *s != '\0' && !sb->over; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            sb_atomic(sb, esc, 2u);
        } else if (ch < 0x20u) {
            char esc[6] = {'\\', 'u', '0', '0', hex_digits[ch >> 4], hex_digits[ch & 0xFu]};
            sb_atomic(sb, esc, 6u);
        } else {
            sb_atomic(sb, (const char *)s, 1u);
        }
    }
    if (!sb->over) {
        sb_atomic(sb, "\"", 1u);
    }
}

/* One conversion: v read as two's complement for 'd'. */
static void sb_number(ota_sb_t *sb, char spec, uint32_t v)
{
    if (spec == 'x') {
        ota_sb_hex32(sb, v);
        return;
    }
    if (spec == 'd' && v >= 0x80000000u) {
        ota_sb_mem(sb, "-", 1u);
        v = 0u - v; /* negate in unsigned arithmetic: INT32_MIN is safe */
    }
    ota_sb_u32(sb, v);
}

void ota_sb_fmt(ota_sb_t *sb, const char *fmt, const char *s, uint32_t a, uint32_t b)
{
    const uint32_t num[2] = {a, b};
    unsigned used = 0u;

    for (; *fmt != '\0'; fmt++) {
        char spec = (*fmt == '%') ? fmt[1] : '\0';
        if (spec == '\0' || strchr("sudx", spec) == NULL) {
            ota_sb_mem(sb, fmt, 1u); /* plain text, or a '%' that is not a conversion */
            fmt += (spec == '%') ? 1 : 0;
            continue;
        }
        fmt++;
        if (spec == 's') {
            ota_sb_str(sb, s);
        } else {
            sb_number(sb, spec, (used < 2u) ? num[used] : 0u);
            used++;
        }
    }
}
