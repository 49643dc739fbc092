/*
 * cellota-pack: turn a raw firmware image into the package a ThingsBoard
 * server serves, and print what ThingsBoard shows for it once uploaded.
 *
 *   cellota-pack [--format dragino|raw] [--out FILE] IMAGE
 *   cellota-pack --json --title T --version V [--algo CRC32|SHA256] IMAGE
 *
 * A Dragino package is the image cut into records [1024 data][CRC-32 LE],
 * the last one shorter (PROTOCOL.md §2); it is written to --out, by default
 * IMAGE.pkg. A raw package is the image itself: nothing is written unless
 * --out asks for a copy. fw_size and both fw_checksum values are computed
 * over the package, as the server does. The input is never modified: the
 * package is written to a temporary file beside --out and renamed, and an
 * --out that names the input itself is refused.
 *
 * This is a host tool, not the core: it uses stdio. Errors go to stderr
 * and exit with status 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellota/ota_crc32.h"
#include "cellota/ota_package.h"
#include "cellota/ota_sha256.h"

/* Largest raw image whose Dragino package size still fits in 32 bits. */
#define PACK_MAX_DRAGINO_IMAGE 4177920000u

typedef enum {
    PACK_ALGO_CRC32,
    PACK_ALGO_SHA256
} pack_algo_t;

typedef struct {
    const char *image;
    const char *out;
    ota_pkg_format_t format;
    bool json;
    const char *title;
    const char *version;
    pack_algo_t algo;
} pack_opts_t;

/* Where package bytes go: an optional file, and the running checksums. */
typedef struct {
    FILE *file;
    uint32_t size;
    uint32_t records;
    uint32_t crc;
    ota_sha256_t sha;
} pack_sink_t;

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "cellota-pack: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static void usage(FILE *to)
{
    fputs("usage: cellota-pack [--format dragino|raw] [--out FILE] IMAGE\n"
          "       cellota-pack --json --title T --version V [--algo CRC32|SHA256]\n"
          "                    [--format dragino|raw] [--out FILE] IMAGE\n"
          "\n"
          "Builds the package to upload to ThingsBoard and prints fw_size and fw_checksum\n"
          "(CRC32 and SHA256), computed over the package as the server does.\n"
          "  --format dragino  records of [1024 data][CRC-32 LE] (default); written to\n"
          "                    --out, by default IMAGE.pkg\n"
          "  --format raw      the image itself; copied only if --out is given\n"
          "  --json            print only the shared attributes JSON the server would send\n"
          "  --title T, --version V, --algo CRC32|SHA256 (default CRC32): for --json\n",
          to);
}

/* Accept "--name value" and "--name=value". Returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, n) != 0) {
        return NULL;
    }
    if (arg[n] == '=') {
        return arg + n + 1;
    }
    if (arg[n] != '\0' || *i + 1 >= argc) {
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

static bool is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int parse_format(const char *v, ota_pkg_format_t *format)
{
    if (strcmp(v, "dragino") == 0) {
        *format = OTA_PKG_DRAGINO;
        return 0;
    }
    if (strcmp(v, "raw") == 0) {
        *format = OTA_PKG_RAW;
        return 0;
    }
    return fail("--format must be dragino or raw, not", v);
}

static int parse_algo(const char *v, pack_algo_t *algo)
{
    if (strcmp(v, "CRC32") == 0) {
        *algo = PACK_ALGO_CRC32;
        return 0;
    }
    if (strcmp(v, "SHA256") == 0) {
        *algo = PACK_ALGO_SHA256;
        return 0;
    }
    return fail("--algo must be CRC32 or SHA256, not", v);
}

/* One option with a value. Returns 0 if handled, 1 on error, -1 if not ours. */
static int parse_valued(int argc, char **argv, int *i, pack_opts_t *o)
{
    const char *arg = argv[*i];
    const char *v;

    if (is_opt(arg, "--format")) {
        v = opt_value(argc, argv, i, "--format");
        return v ? parse_format(v, &o->format) : fail("--format needs a value", NULL);
    }
    if (is_opt(arg, "--algo")) {
        v = opt_value(argc, argv, i, "--algo");
        return v ? parse_algo(v, &o->algo) : fail("--algo needs a value", NULL);
    }
    if (is_opt(arg, "--out")) {
        o->out = opt_value(argc, argv, i, "--out");
        return o->out && o->out[0] ? 0 : fail("--out needs a file name", NULL);
    }
    if (is_opt(arg, "--title")) {
        o->title = opt_value(argc, argv, i, "--title");
        return o->title ? 0 : fail("--title needs a value", NULL);
    }
    if (is_opt(arg, "--version")) {
        o->version = opt_value(argc, argv, i, "--version");
        return o->version ? 0 : fail("--version needs a value", NULL);
    }
    return -1;
}

/* Returns 0 to go on, 1 on error, 2 when --help was printed. */
static int parse_args(int argc, char **argv, pack_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->format = OTA_PKG_DRAGINO;
    o->algo = PACK_ALGO_CRC32;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 2;
        }
        if (strcmp(arg, "--json") == 0) {
            o->json = true;
            continue;
        }
        rc = parse_valued(argc, argv, &i, o);
        if (rc >= 0) {
            if (rc != 0) {
                return 1;
            }
            continue;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            usage(stderr);
            return fail("unknown option", arg);
        }
        if (o->image) {
            return fail("only one IMAGE may be given; extra argument", arg);
        }
        o->image = arg;
    }
    if (!o->image) {
        usage(stderr);
        return fail("no IMAGE given", NULL);
    }
    if (o->json && (!o->title || !o->version)) {
        return fail("--json needs --title and --version", NULL);
    }
    return 0;
}

static int sink_put(pack_sink_t *s, const uint8_t *data, size_t len)
{
    if (s->file && fwrite(data, 1, len, s->file) != len) {
        return fail("cannot write the package", strerror(errno));
    }
    s->crc = ota_crc32(s->crc, data, len);
    ota_sha256_update(&s->sha, data, len);
    s->size += (uint32_t)len;
    return 0;
}

static int put_record(pack_sink_t *s, const uint8_t *data, size_t len)
{
    uint32_t crc = ota_crc32(0, data, len);
    uint8_t le[4];

    le[0] = (uint8_t)(crc & 0xFFu);
    le[1] = (uint8_t)((crc >> 8) & 0xFFu);
    le[2] = (uint8_t)((crc >> 16) & 0xFFu);
    le[3] = (uint8_t)((crc >> 24) & 0xFFu);
    s->records++;
    if (sink_put(s, data, len) != 0) {
        return 1;
    }
    return sink_put(s, le, sizeof(le));
}

/* Stream the image into the sink, cutting Dragino records if asked. */
static int convert(FILE *in, uint64_t expected, ota_pkg_format_t format, pack_sink_t *s)
{
    uint8_t block[OTA_DRAGINO_DATA];
    uint64_t total = 0;

    for (;;) {
        size_t n = fread(block, 1, sizeof(block), in);
        int rc;

        if (n == 0) {
            break;
        }
        total += n;
        if (total > expected) {
            return fail("the image grew while it was being read", NULL);
        }
        rc = format == OTA_PKG_DRAGINO ? put_record(s, block, n) : sink_put(s, block, n);
        if (rc != 0) {
            return 1;
        }
    }
    if (ferror(in)) {
        return fail("cannot read the image", strerror(errno));
    }
    if (total != expected) {
        return fail("the image changed size while it was being read", NULL);
    }
    return 0;
}

static bool same_file(const char *path, const struct stat *in_st)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return false;
    }
    return st.st_dev == in_st->st_dev && st.st_ino == in_st->st_ino;
}

/* Open IMAGE and check it can be packed. */
static int open_image(const pack_opts_t *o, FILE **in, struct stat *st)
{
    uint64_t limit = o->format == OTA_PKG_DRAGINO ? PACK_MAX_DRAGINO_IMAGE : UINT32_MAX;

    *in = fopen(o->image, "rb");
    if (!*in) {
        return fail(o->image, strerror(errno));
    }
    if (fstat(fileno(*in), st) != 0 || !S_ISREG(st->st_mode)) {
        fclose(*in);
        return fail(o->image, "not a regular file");
    }
    if (st->st_size <= 0) {
        fclose(*in);
        return fail(o->image, "the image is empty");
    }
    if ((uint64_t)st->st_size > limit) {
        fclose(*in);
        return fail(o->image, "the image is too large for a 32-bit fw_size");
    }
    return 0;
}

/* Create a temporary file beside @p out; its name goes into @p tmp. */
static FILE *open_temp(const char *out, char *tmp, size_t cap)
{
    int fd;
    FILE *f;

    if ((size_t)snprintf(tmp, cap, "%s.XXXXXX", out) >= cap) {
        fail("output file name too long", out);
        return NULL;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        fail(tmp, strerror(errno));
        return NULL;
    }
    (void)fchmod(fd, 0644);
    f = fdopen(fd, "wb");
    if (!f) {
        fail(tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    }
    return f;
}

static int finish_temp(FILE *f, const char *tmp, const char *out, int rc)
{
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = rc ? rc : fail("cannot write the package", strerror(errno));
    }
    if (fclose(f) != 0) {
        rc = rc ? rc : fail("cannot write the package", strerror(errno));
    }
    if (rc == 0 && rename(tmp, out) != 0) {
        rc = fail(out, strerror(errno));
    }
    if (rc != 0) {
        unlink(tmp);
    }
    return rc;
}

/* Build the package (written to @p out, or only measured when @p out is NULL). */
static int build(const pack_opts_t *o, const char *out, pack_sink_t *s)
{
    char tmp[4096];
    struct stat st;
    FILE *in;
    int rc;

    if (open_image(o, &in, &st) != 0) {
        return 1;
    }
    memset(s, 0, sizeof(*s));
    ota_sha256_init(&s->sha);
    if (out && same_file(out, &st)) {
        fclose(in);
        return fail("refusing to overwrite the input image", out);
    }
    if (out) {
        s->file = open_temp(out, tmp, sizeof(tmp));
        if (!s->file) {
            fclose(in);
            return 1;
        }
    }
    rc = convert(in, (uint64_t)st.st_size, o->format, s);
    fclose(in);
    if (rc == 0 && o->format == OTA_PKG_DRAGINO &&
        s->size != ota_pkg_dragino_size((uint32_t)st.st_size)) {
        rc = fail("internal error: package size differs from ota_pkg_dragino_size()", NULL);
    }
    if (out) {
        rc = finish_temp(s->file, tmp, out, rc);
        s->file = NULL;
    }
    return rc;
}

static void sha_hex(pack_sink_t *s, char out[2 * OTA_SHA256_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[OTA_SHA256_SIZE];

    ota_sha256_final(&s->sha, d);
    for (size_t i = 0; i < OTA_SHA256_SIZE; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 0x0Fu];
    }
    out[2 * OTA_SHA256_SIZE] = '\0';
}

static void put_json_string(const char *str)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20u) {
            printf("\\u%04x", (unsigned)*p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static void print_json(const pack_opts_t *o, uint32_t size, const char *crc, const char *sha)
{
    bool crc32 = o->algo == PACK_ALGO_CRC32;

    fputs("{\"fw_title\":", stdout);
    put_json_string(o->title);
    fputs(",\"fw_version\":", stdout);
    put_json_string(o->version);
    printf(",\"fw_size\":%lu,\"fw_checksum_algorithm\":\"%s\",\"fw_checksum\":\"%s\"}\n",
           (unsigned long)size, crc32 ? "CRC32" : "SHA256", crc32 ? crc : sha);
}

static void print_summary(const pack_opts_t *o, const char *out, const pack_sink_t *s,
                          const char *crc, const char *sha)
{
    if (o->format == OTA_PKG_DRAGINO) {
        printf("package: %s (Dragino: %lu records of [up to 1024 data bytes][CRC-32 LE])\n", out,
               (unsigned long)s->records);
    } else {
        printf("package: %s (raw: the image itself)\n", out ? out : o->image);
    }
    printf("fw_size: %lu\n", (unsigned long)s->size);
    printf("fw_checksum (CRC32): %s\n", crc);
    printf("fw_checksum (SHA256): %s\n", sha);
}

int main(int argc, char **argv)
{
    pack_opts_t o;
    pack_sink_t sink;
    char crc[9];
    char sha[2 * OTA_SHA256_SIZE + 1];
    char def_out[4096];
    const char *out;
    int rc = parse_args(argc, argv, &o);

    if (rc != 0) {
        return rc == 2 ? 0 : 1;
    }
    out = o.out;
    if (!out && o.format == OTA_PKG_DRAGINO) {
        if ((size_t)snprintf(def_out, sizeof(def_out), "%s.pkg", o.image) >= sizeof(def_out)) {
            return fail("image file name too long", o.image);
        }
        out = def_out;
    }
    if (build(&o, out, &sink) != 0) {
        return 1;
    }
    ota_crc32_to_tb_hex(sink.crc, crc);
    sha_hex(&sink, sha);
    if (o.json) {
        print_json(&o, sink.size, crc, sha);
    } else {
        print_summary(&o, out, &sink, crc, sha);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
