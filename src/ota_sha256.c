/*
 * ota_sha256.c - SHA-256 (FIPS 180-4), compact form.
 *
 * One round loop with the message schedule kept in a 16-word ring, so the
 * stack holds 24 words instead of 72. Words are assembled from bytes (big
 * endian), so input alignment never matters (Cortex-M0+ faults on
 * unaligned word loads).
 *
 * OTA_CFG_SHA256 = 0 compiles the whole file out.
 */
#include <string.h>

#include "cellota/ota_config.h"
#include "cellota/ota_sha256.h"

#if OTA_CFG_SHA256

static const uint32_t sha_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static const uint32_t sha_h0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

/* One 64-byte block into the chaining value. The message schedule is kept
 * in a 16-word ring: w[i & 15] holds W[i]. The four sigma functions are
 * written with nested rotations, ror(x ^ ror(x, b), a) = ror(x, a) ^
 * ror(x, a + b), and Ch and Maj in their shorter equivalent forms. */
static void compress(uint32_t h[8], const uint8_t block[64])
{
    uint32_t w[16];
    uint32_t v[8];
    unsigned i;

    memcpy(v, h, sizeof v);
    for (i = 0u; i < 64u; i++) {
        uint32_t t1;
        uint32_t t2;

        if (i < 16u) {
            /* big endian, a byte at a time: any alignment */
            w[i] = ((uint32_t)block[4u * i] << 24) | ((uint32_t)block[4u * i + 1u] << 16) |
                   ((uint32_t)block[4u * i + 2u] << 8) | (uint32_t)block[4u * i + 3u];
        } else {
            uint32_t w15 = w[(i + 1u) & 15u];
            uint32_t w2 = w[(i + 14u) & 15u];
            /* W[i-16] + sigma0(W[i-15]) + W[i-7] + sigma1(W[i-2]) */
            w[i & 15u] += (ror(w15 ^ ror(w15, 11), 7) ^ (w15 >> 3)) + w[(i + 9u) & 15u] +
                          (ror(w2 ^ ror(w2, 2), 17) ^ (w2 >> 10));
        }
        /* h + Sigma1(e) + Ch(e, f, g) + K[i] + W[i] */
        t1 = v[7] + ror(v[4] ^ ror(v[4] ^ ror(v[4], 14), 5), 6) + (v[6] ^ (v[4] & (v[5] ^ v[6]))) +
             sha_k[i] + w[i & 15u];
        /* Sigma0(a) + Maj(a, b, c) */
        t2 = ror(v[0] ^ ror(v[0] ^ ror(v[0], 9), 11), 2) + ((v[0] & v[1]) | (v[2] & (v[0] | v[1])));
        memmove(&v[1], &v[0], 7u * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0u; i < 8u; i++) {
        h[i] += v[i];
    }
}

void ota_sha256_init(ota_sha256_t *s)
{
    if (s == NULL) {
        return;
    }
    memcpy(s->h, sha_h0, sizeof s->h);
    s->total = 0u;
    s->used = 0u;
}

void ota_sha256_update(ota_sha256_t *s, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;

    if (s == NULL || p == NULL || s->used >= 64u) {
        return;
    }
    s->total += (uint64_t)len;
    while (len > 0u) {
        size_t n = 64u - (size_t)s->used;
        if (n > len) {
            n = len;
        }
        memcpy(&s->block[s->used], p, n);
        s->used += (uint32_t)n;
        p += n;
        len -= n;
        if (s->used == 64u) {
            compress(s->h, s->block);
            s->used = 0u;
        }
    }
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Padding: 0x80, zeros up to 56 bytes into a block, then the bit length
 * (big endian), all fed through ota_sha256_update(). */
void ota_sha256_final(ota_sha256_t *s, uint8_t out[OTA_SHA256_SIZE])
{
    static const uint8_t pad[2] = {0x80u, 0x00u};
    uint8_t len[8];
    uint64_t bits;
    unsigned i;

    if (s == NULL || out == NULL || s->used >= 64u) {
        return;
    }
    bits = s->total << 3;
    store_be32(&len[0], (uint32_t)(bits >> 32));
    store_be32(&len[4], (uint32_t)bits);
    ota_sha256_update(s, &pad[0], 1u);
    while (s->used != 56u) {
        ota_sha256_update(s, &pad[1], 1u);
    }
    ota_sha256_update(s, len, sizeof len); /* completes the last block: used is 0 again */
    for (i = 0u; i < 8u; i++) {
        store_be32(&out[4u * i], s->h[i]);
    }
}

#else
typedef int ota_sha256_disabled_t; /* ISO C wants a non-empty translation unit */
#endif /* OTA_CFG_SHA256 */
