/*
 * fuzz_input.h - reading a libFuzzer input as a stream of small fields.
 *
 * Every reader returns a default (0, or an empty span) once the input is
 * used up, so a harness never has to check lengths: short inputs simply
 * run the default path. FUZZ_CHECK aborts (a crash libFuzzer reports) when
 * an invariant of the code under test does not hold.
 */
#ifndef CELLOTA_FUZZ_INPUT_H
#define CELLOTA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in_t;

static inline uint8_t fz_u8(fz_in_t *in)
{
    uint8_t v = 0;
    if (in->n > 0u) {
        v = in->p[0];
        in->p++;
        in->n--;
    }
    return v;
}

static inline uint16_t fz_u16(fz_in_t *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}

static inline uint32_t fz_u32(fz_in_t *in)
{
    uint32_t lo = fz_u16(in);
    return lo | ((uint32_t)fz_u16(in) << 16);
}

/* Up to `want` bytes (fewer at the end of the input); *len gets the count. */
static inline const uint8_t *fz_bytes(fz_in_t *in, size_t want, size_t *len)
{
    const uint8_t *p = in->p;
    size_t n = want < in->n ? want : in->n;
    in->p += n;
    in->n -= n;
    *len = n;
    return p;
}

/* A length-prefixed field: one length byte, then that many bytes. */
static inline const uint8_t *fz_field(fz_in_t *in, size_t *len)
{
    return fz_bytes(in, fz_u8(in), len);
}

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

#endif /* CELLOTA_FUZZ_INPUT_H */
