/*
 * test_json.c - the bounded JSON reader (src/ota_json.h).
 *
 * Inputs are copied into heap buffers of their exact length, so an
 * AddressSanitizer build catches any read past the given length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cellota/ota_config.h"
#include "ota_json.h"

static const char tb_doc[] =
    "{\"shared\":{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":55512,"
    "\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"2639f4cb\"}}";

/* Exact-size heap copy (never NUL-terminated). */
static char *dup_exact(const char *text, size_t len)
{
    char *p = (char *)malloc(len > 0u ? len : 1u);

    assert_non_null(p);
    if (len > 0u) {
        memcpy(p, text, len);
    }
    return p;
}

static ota_status_t parse_n(const char *text, size_t len, ota_json_val_t *root)
{
    char *copy = dup_exact(text, len);
    ota_status_t st = ota_json_parse(copy, len, root);

    free(copy);
    return st;
}

static ota_status_t parse_str(const char *text)
{
    ota_json_val_t root;

    return parse_n(text, strlen(text), &root);
}

/* ------------------------------------------------------------------------ */

static void test_valid_documents(void **state)
{
    static const struct {
        const char *text;
        ota_json_type_t type;
    } cases[] = {
        { "{}", OTA_JSON_OBJECT },
        { "[]", OTA_JSON_ARRAY },
        { "\"x\"", OTA_JSON_STRING },
        { "\"\"", OTA_JSON_STRING },
        { "0", OTA_JSON_NUMBER },
        { "-0", OTA_JSON_NUMBER },
        { "1.5e-3", OTA_JSON_NUMBER },
        { "-12.25E+10", OTA_JSON_NUMBER },
        { "true", OTA_JSON_TRUE },
        { "false", OTA_JSON_FALSE },
        { "null", OTA_JSON_NULL },
        { " \t\r\n{ \"a\" : [ 1 , 2 , {\"b\" : null} ] , \"c\":{} } \n", OTA_JSON_OBJECT },
        { "[[],{},[[]],\"\",0,true,false,null]", OTA_JSON_ARRAY },
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\\u0000\"", OTA_JSON_STRING },
        { "\"caf\xc3\xa9\"", OTA_JSON_STRING },
        { tb_doc, OTA_JSON_OBJECT },
        { "{}", OTA_JSON_OBJECT },
    };
    size_t i;

    (void)state;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        ota_json_val_t root;
        ota_status_t st = parse_n(cases[i].text, strlen(cases[i].text), &root);
        if (st != OTA_OK) {
            print_error("case %u: %s\n", (unsigned)i, cases[i].text);
        }
        assert_int_equal(st, OTA_OK);
        assert_int_equal(root.type, cases[i].type);
    }
}

static void test_root_view(void **state)
{
    static const char text[] = "  {\"a\":1}\r\n";
    static const char str[] = " \"hello\" ";
    static const char num[] = "\t-12.5e3 ";
    ota_json_val_t v;

    (void)state;
    assert_int_equal(ota_json_parse(text, strlen(text), &v), OTA_OK);
    assert_ptr_equal(v.p, text + 2);
    assert_int_equal(v.len, 7u);
    assert_int_equal(ota_json_parse(str, strlen(str), &v), OTA_OK);
    assert_ptr_equal(v.p, str + 2);
    assert_int_equal(v.len, 5u);
    assert_int_equal(ota_json_parse(num, strlen(num), &v), OTA_OK);
    assert_ptr_equal(v.p, num + 1);
    assert_int_equal(v.len, 7u);
}

static void test_invalid_documents(void **state)
{
    static const char *const cases[] = {
        "",
        "   ",
        "{",
        "}",
        "[",
        "]",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\"}",
        "{\"a\" 1}",
        "{1:2}",
        "{a:1}",
        "[1 2]",
        "\"abc",
        "\"a\x01z\"",
        "\"a\tb\"",
        "\"a\nb\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\",
        "\"\\u\"",
        "tru",
        "truex",
        "nul",
        "nulll",
        "True",
        "01",
        "-01",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1.e3",
        "+1",
        "0x10",
        "{\"a\":1}x",
        "{} {}",
        "[1]]",
        "NaN",
        "'a'",
        "[,1]",
        "{,}",
        "{\"a\":}",
        "{\"a\"::1}",
        "[1,,2]",
        "\"\\'\"",
        "[\"a\":1]",
        "{\"a\",1}",
        "{\"a\":1 \"b\":2}",
        "\xef\xbb\xbf{}",
        "1 2",
        "[}",
        "{]",
    };
    size_t i;

    (void)state;
    for (i = 0u; i < sizeof cases / sizeof cases[0]; i++) {
        ota_status_t st = parse_str(cases[i]);
        if (st != OTA_ERR_FORMAT) {
            print_error("case %u: %s -> %d\n", (unsigned)i, cases[i], (int)st);
        }
        assert_int_equal(st, OTA_ERR_FORMAT);
    }
}

static void test_nul_bytes(void **state)
{
    ota_json_val_t v;

    (void)state;
    assert_int_equal(parse_n("{\0}", 3u, &v), OTA_ERR_FORMAT);
    assert_int_equal(parse_n("\"a\0b\"", 5u, &v), OTA_ERR_FORMAT);
    assert_int_equal(parse_n("{}\0", 3u, &v), OTA_ERR_FORMAT);
    assert_int_equal(parse_n("\0", 1u, &v), OTA_ERR_FORMAT);
}

static void test_params(void **state)
{
    ota_json_val_t v;
    ota_json_val_t root;
    char buf[8];
    uint32_t u;

    (void)state;
    assert_int_equal(ota_json_parse(NULL, 0u, &v), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("{}", 2u, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("{}", 2u, &root), OTA_OK);
    assert_int_equal(ota_json_get(NULL, "a", &v), OTA_ERR_PARAM);
    assert_int_equal(ota_json_get(&root, NULL, &v), OTA_ERR_PARAM);
    assert_int_equal(ota_json_get(&root, "a", NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_string(NULL, buf, sizeof buf, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_u32(NULL, &u), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("\"s\"", 3u, &v), OTA_OK);
    assert_int_equal(ota_json_string(&v, NULL, 4u, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_u32(&v, NULL), OTA_ERR_PARAM);
}

/* Every proper prefix of an object is invalid: must fail cleanly. */
static void test_truncated_every_byte(void **state)
{
    size_t n;
    ota_json_val_t v;
    static const char nested[] =
        "{\"a\":[1,-2.5e+3,\"x\\u00e9\\n\",{\"b\":[true,false,null]}],\"c\":{}}";

    (void)state;
    for (n = 0u; n < strlen(tb_doc); n++) {
        assert_int_equal(parse_n(tb_doc, n, &v), OTA_ERR_FORMAT);
    }
    assert_int_equal(parse_n(tb_doc, strlen(tb_doc), &v), OTA_OK);
    for (n = 0u; n < strlen(nested); n++) {
        assert_int_equal(parse_n(nested, n, &v), OTA_ERR_FORMAT);
    }
    assert_int_equal(parse_n(nested, strlen(nested), &v), OTA_OK);
}

/* Nesting: MAX levels are fine, MAX + 1 is refused, also very deep. */
static void build_nested(char *buf, size_t levels, int objects)
{
    size_t i;
    char *p = buf;

    for (i = 0u; i < levels; i++) {
        if (objects) {
            memcpy(p, "{\"k\":", 5u);
            p += 5;
        } else {
            *p++ = '[';
        }
    }
    *p++ = '1';
    for (i = 0u; i < levels; i++) {
        *p++ = objects ? '}' : ']';
    }
    *p = '\0';
}

static void test_depth_limit(void **state)
{
    static char buf[6u * 2000u + 2u];
    size_t max = OTA_CFG_JSON_MAX_DEPTH;

    (void)state;
    build_nested(buf, max, 0);
    assert_int_equal(parse_str(buf), OTA_OK);
    build_nested(buf, max + 1u, 0);
    assert_int_equal(parse_str(buf), OTA_ERR_RANGE);
    build_nested(buf, max, 1);
    assert_int_equal(parse_str(buf), OTA_OK);
    build_nested(buf, max + 1u, 1);
    assert_int_equal(parse_str(buf), OTA_ERR_RANGE);
    build_nested(buf, 2000u, 0);
    assert_int_equal(parse_str(buf), OTA_ERR_RANGE);
    build_nested(buf, 2000u, 1);
    assert_int_equal(parse_str(buf), OTA_ERR_RANGE);
    /* Empty containers count as a level too. */
    memset(buf, '[', max + 1u);
    memset(buf + max + 1u, ']', max + 1u);
    buf[2u * (max + 1u)] = '\0';
    assert_int_equal(parse_str(buf), OTA_ERR_RANGE);
    buf[max] = '\0';
    memset(buf, '[', max);
    memset(buf + max, ']', max);
    buf[2u * max] = '\0';
    assert_int_equal(parse_str(buf), OTA_OK);
}

/* Mixed nesting: object inside array inside object, closing order checked. */
static void test_mixed_nesting(void **state)
{
    (void)state;
    assert_int_equal(parse_str("{\"a\":[{\"b\":[[{}]]}]}"), OTA_OK);
    assert_int_equal(parse_str("{\"a\":[{\"b\":[[{}]]]}}"), OTA_ERR_FORMAT);
    assert_int_equal(parse_str("[{]}"), OTA_ERR_FORMAT);
}

/* ------------------------------------------------------------------------ */

static void get_string(const ota_json_val_t *obj, const char *key, const char *expect)
{
    ota_json_val_t v;
    char buf[64];

    assert_int_equal(ota_json_get(obj, key, &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_STRING);
    assert_int_equal(ota_json_string(&v, buf, sizeof buf, NULL), OTA_OK);
    assert_string_equal(buf, expect);
}

static void test_get_thingsboard(void **state)
{
    ota_json_val_t root;
    ota_json_val_t shared;
    ota_json_val_t v;
    uint32_t size = 0u;

    (void)state;
    assert_int_equal(ota_json_parse(tb_doc, strlen(tb_doc), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "shared", &shared), OTA_OK);
    assert_int_equal(shared.type, OTA_JSON_OBJECT);
    get_string(&shared, "fw_title", "s31-nb");
    get_string(&shared, "fw_version", "v1.6.0");
    get_string(&shared, "fw_checksum_algorithm", "CRC32");
    get_string(&shared, "fw_checksum", "2639f4cb");
    assert_int_equal(ota_json_get(&shared, "fw_size", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_NUMBER);
    assert_int_equal(ota_json_u32(&v, &size), OTA_OK);
    assert_int_equal(size, 55512u);
    assert_int_equal(ota_json_get(&shared, "fw_sizes", &v), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_json_get(&shared, "fw_siz", &v), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_json_get(&shared, "FW_SIZE", &v), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_json_get(&shared, "", &v), OTA_ERR_NOT_FOUND);
}

static void test_nested_keys_not_top_level(void **state)
{
    static const char doc[] = "{\"shared\":{\"fw_title\":\"x\"},\"list\":[{\"fw_title\":\"y\"}],"
                              "\"s\":\"\\\"fw_title\\\":\\\"z\\\"\",\"b\":{\"b\":1},\"fw_titl\":0}";
    static const char doc2[] = "{\"a\":{\"b\":1},\"b\":2}";
    ota_json_val_t root;
    ota_json_val_t v;
    ota_json_val_t inner;
    uint32_t u = 0u;

    (void)state;
    assert_int_equal(ota_json_parse(doc, strlen(doc), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "fw_title", &v), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_json_get(&root, "shared", &inner), OTA_OK);
    get_string(&inner, "fw_title", "x");
    /* "b" appears at two levels: only one top-level member, not a duplicate. */
    assert_int_equal(ota_json_get(&root, "b", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_OBJECT);
    assert_int_equal(ota_json_parse(doc2, strlen(doc2), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "b", &v), OTA_OK);
    assert_int_equal(ota_json_u32(&v, &u), OTA_OK);
    assert_int_equal(u, 2u);
}

static void test_duplicate_keys(void **state)
{
    ota_json_val_t root;
    ota_json_val_t v;
    static const char d1[] = "{\"a\":1,\"a\":2}";
    static const char d2[] = "{\"a\":1,\"\\u0061\":2}";
    static const char d3[] = "{\"a\":1,\"b\":3,\"a\":{\"x\":[]}}";
    static const char d4[] = "{\"a\":1,\"a\":2,\"b\":3}";
    uint32_t u = 0u;

    (void)state;
    assert_int_equal(ota_json_parse(d1, strlen(d1), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "a", &v), OTA_ERR_FORMAT);
    assert_int_equal(ota_json_get(&root, "b", &v), OTA_ERR_NOT_FOUND);
    assert_int_equal(ota_json_parse(d2, strlen(d2), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "a", &v), OTA_ERR_FORMAT);
    assert_int_equal(ota_json_parse(d3, strlen(d3), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "a", &v), OTA_ERR_FORMAT);
    /* A duplicate of another key does not matter. */
    assert_int_equal(ota_json_parse(d4, strlen(d4), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "b", &v), OTA_OK);
    assert_int_equal(ota_json_u32(&v, &u), OTA_OK);
    assert_int_equal(u, 3u);
}

static void test_get_value_views(void **state)
{
    static const char doc[] = "{ \"s\" : \"str\" , \"arr\" : [ 1, [2] ] ,\"o\":{ },\"t\":true,"
                              "\"f\":false,\"n\":null,\"num\":-1.5e2 ,\"e\":\"\"}";
    ota_json_val_t root;
    ota_json_val_t v;

    (void)state;
    assert_int_equal(ota_json_parse(doc, strlen(doc), &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "s", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_STRING);
    assert_int_equal(v.len, 3u);
    assert_memory_equal(v.p, "str", 3u);
    assert_int_equal(ota_json_get(&root, "arr", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_ARRAY);
    assert_int_equal(v.len, 10u);
    assert_memory_equal(v.p, "[ 1, [2] ]", 10u);
    assert_int_equal(ota_json_get(&root, "o", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_OBJECT);
    assert_memory_equal(v.p, "{ }", 3u);
    assert_int_equal(v.len, 3u);
    assert_int_equal(ota_json_get(&root, "t", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_TRUE);
    assert_int_equal(v.len, 4u);
    assert_int_equal(ota_json_get(&root, "f", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_FALSE);
    assert_int_equal(v.len, 5u);
    assert_int_equal(ota_json_get(&root, "n", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_NULL);
    assert_int_equal(ota_json_get(&root, "num", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_NUMBER);
    assert_int_equal(v.len, 6u);
    assert_memory_equal(v.p, "-1.5e2", 6u);
    assert_int_equal(ota_json_get(&root, "e", &v), OTA_OK);
    assert_int_equal(v.type, OTA_JSON_STRING);
    assert_int_equal(v.len, 0u);
    /* The empty object. */
    assert_int_equal(ota_json_parse("{ }", 3u, &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "a", &v), OTA_ERR_NOT_FOUND);
}

static void test_wrong_types(void **state)
{
    ota_json_val_t root;
    ota_json_val_t v;
    char buf[16];
    uint32_t u;

    (void)state;
    assert_int_equal(ota_json_parse("[1,2]", 5u, &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "a", &v), OTA_ERR_PARAM);
    assert_int_equal(ota_json_string(&root, buf, sizeof buf, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_u32(&root, &u), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("{\"n\":5,\"s\":\"5\"}", 15u, &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "n", &v), OTA_OK);
    assert_int_equal(ota_json_string(&v, buf, sizeof buf, NULL), OTA_ERR_PARAM);
    assert_int_equal(ota_json_get(&v, "x", &root), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("{\"n\":5,\"s\":\"5\"}", 15u, &root), OTA_OK);
    assert_int_equal(ota_json_get(&root, "s", &v), OTA_OK);
    assert_int_equal(ota_json_u32(&v, &u), OTA_ERR_PARAM);
    assert_int_equal(ota_json_parse("true", 4u, &v), OTA_OK);
    assert_int_equal(ota_json_u32(&v, &u), OTA_ERR_PARAM);
}

/* A hand-made (not parsed) view must not make get read outside it. */
static void test_get_on_bad_view(void **state)
{
    ota_json_val_t obj;
    ota_json_val_t v;
    char *text;

    (void)state;
    text = dup_exact("{\"a\":1,\"b\"}", 11u);
    obj.p = text;
    obj.len = 11u;
    obj.type = OTA_JSON_OBJECT;
    assert_int_equal(ota_json_get(&obj, "zz", &v), OTA_ERR_FORMAT);
    free(text);
    text = dup_exact("{\"a\":[1}", 8u);
    obj.p = text;
    obj.len = 8u;
    assert_int_equal(ota_json_get(&obj, "zz", &v), OTA_ERR_FORMAT);
    free(text);
    text = dup_exact("{\"a\"", 4u);
    obj.p = text;
    obj.len = 4u;
    assert_int_equal(ota_json_get(&obj, "a", &v), OTA_ERR_PARAM);
    free(text);
    obj.p = "{";
    obj.len = 1u;
    assert_int_equal(ota_json_get(&obj, "a", &v), OTA_ERR_PARAM);
}

/* A hand-made object view: its members may nest as deep as a whole
 * document (the object itself does not count), and no deeper. */
static void test_get_depth_of_members(void **state)
{
    static char buf[6u * 40u + 16u];
    size_t max = OTA_CFG_JSON_MAX_DEPTH;
    size_t n;
    ota_json_val_t obj;
    ota_json_val_t v;
    uint32_t u = 0u;

    (void)state;
    /* {"m":<max levels>} and {"m":<max + 1 levels>}, as exact-size copies */
    for (n = max; n <= max + 1u; n++) {
        char *text;
        size_t len;
        memcpy(buf, "{\"m\":", 5u);
        build_nested(buf + 5, n, (n & 1u) != 0u);
        len = strlen(buf);
        buf[len] = '}';
        buf[len + 1u] = '\0';
        len++;
        text = dup_exact(buf, len);
        obj.p = text;
        obj.len = len;
        obj.type = OTA_JSON_OBJECT;
        if (n == max) {
            assert_int_equal(ota_json_get(&obj, "m", &v), OTA_OK);
            assert_int_equal(v.len, len - 6u);
            assert_int_equal(ota_json_get(&obj, "x", &v), OTA_ERR_NOT_FOUND);
        } else {
            assert_int_equal(ota_json_get(&obj, "m", &v), OTA_ERR_RANGE);
        }
        free(text);
    }
    /* The same member in a parsed document: one level less is left for it. */
    memcpy(buf, "{\"m\":", 5u);
    build_nested(buf + 5, max - 1u, 0);
    n = strlen(buf);
    memcpy(buf + n, ",\"n\":7}", 7u);
    buf[n + 7u] = '\0';
    assert_int_equal(ota_json_parse(buf, strlen(buf), &obj), OTA_OK);
    assert_int_equal(ota_json_get(&obj, "n", &v), OTA_OK);
    assert_int_equal(ota_json_u32(&v, &u), OTA_OK);
    assert_int_equal(u, 7u);
}

/* ------------------------------------------------------------------------ */

static ota_status_t unescape(const char *doc, char *buf, size_t cap, size_t *out_len)
{
    ota_json_val_t v;
    ota_status_t st = ota_json_parse(doc, strlen(doc), &v);

    assert_int_equal(st, OTA_OK);
    return ota_json_string(&v, buf, cap, out_len);
}

static void test_escapes(void **state)
{
    char buf[32];
    size_t n = 99u;

    (void)state;
    assert_int_equal(unescape("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", buf, sizeof buf, &n), OTA_OK);
    assert_int_equal(n, 8u);
    assert_string_equal(buf, "\"\\/\b\f\n\r\t");
    assert_int_equal(unescape("\"\\u0041\\u00e9\\u00E9\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "A\xc3\xa9\xc3\xa9");
    assert_int_equal(n, 5u);
    assert_int_equal(unescape("\"\\u20AC\\u07ff\\u0080\\u007f\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "\xe2\x82\xac\xdf\xbf\xc2\x80\x7f");
    assert_int_equal(unescape("\"\\uD83D\\uDE00\\udbff\\udfff\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    assert_int_equal(n, 8u);
    assert_int_equal(unescape("\"caf\xc3\xa9\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "caf\xc3\xa9");
    assert_int_equal(unescape("\"\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "");
    assert_int_equal(n, 0u);
}

static void test_bad_escapes_in_string(void **state)
{
    static const char *const bad[] = {
        "\"\\u0000\"",  "\"a\\u0000b\"",      "\"\\uD800\"",
        "\"\\uDC00\"",  "\"\\uD800\\u0041\"", "\"\\uD800\\uD800\"",
        "\"\\uD800x\"", "\"\\uDBFF\\n\"",     "\"\\uD83Dabcdef\"",
    };
    char buf[32];
    size_t i;
    size_t n = 99u;

    (void)state;
    for (i = 0u; i < sizeof bad / sizeof bad[0]; i++) {
        memset(buf, 'Z', sizeof buf);
        assert_int_equal(unescape(bad[i], buf, sizeof buf, &n), OTA_ERR_FORMAT);
        assert_string_equal(buf, "");
        assert_int_equal(n, 0u);
    }
}

static void test_over_long_strings(void **state)
{
    char buf[8];
    size_t n = 99u;

    (void)state;
    /* 7 chars fit a cap of 8, 8 do not. */
    assert_int_equal(unescape("\"abcdefg\"", buf, sizeof buf, &n), OTA_OK);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(n, 7u);
    memset(buf, 'Z', sizeof buf);
    assert_int_equal(unescape("\"abcdefgh\"", buf, sizeof buf, &n), OTA_ERR_NOSPACE);
    assert_string_equal(buf, "");
    assert_int_equal(n, 0u);
    /* A multi-byte character that would straddle the end. */
    assert_int_equal(unescape("\"abcde\\u20ac\"", buf, sizeof buf, &n), OTA_ERR_NOSPACE);
    assert_string_equal(buf, "");
    assert_int_equal(unescape("\"abcd\\u20ac\"", buf, sizeof buf, &n), OTA_OK);
    assert_int_equal(n, 7u);
    /* Escapes count after decoding: 7 escaped chars fit. */
    assert_int_equal(unescape("\"\\n\\n\\n\\n\\n\\n\\n\"", buf, sizeof buf, &n), OTA_OK);
    assert_int_equal(n, 7u);
    /* Tiny buffers. */
    assert_int_equal(unescape("\"a\"", buf, 1u, &n), OTA_ERR_NOSPACE);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(unescape("\"\"", buf, 1u, &n), OTA_OK);
    assert_int_equal(unescape("\"a\"", buf, 0u, NULL), OTA_ERR_NOSPACE);
    /* out_len may be NULL. */
    assert_int_equal(unescape("\"a\"", buf, sizeof buf, NULL), OTA_OK);
    assert_string_equal(buf, "a");
}

/* ------------------------------------------------------------------------ */

static ota_status_t number(const char *text, uint32_t *out)
{
    ota_json_val_t v;
    char *copy = dup_exact(text, strlen(text));
    ota_status_t st = ota_json_parse(copy, strlen(text), &v);

    if (st == OTA_OK) {
        st = ota_json_u32(&v, out);
    }
    free(copy);
    return st;
}

static void test_numbers(void **state)
{
    uint32_t u = 7u;

    (void)state;
    assert_int_equal(number("0", &u), OTA_OK);
    assert_int_equal(u, 0u);
    assert_int_equal(number("4294967295", &u), OTA_OK);
    assert_int_equal(u, 4294967295u);
    assert_int_equal(number("4294967290", &u), OTA_OK);
    assert_int_equal(u, 4294967290u);
    assert_int_equal(number("55512", &u), OTA_OK);
    assert_int_equal(u, 55512u);
    u = 7u;
    assert_int_equal(number("4294967296", &u), OTA_ERR_RANGE);
    assert_int_equal(number("42949672950", &u), OTA_ERR_RANGE);
    assert_int_equal(number("99999999999999999999999", &u), OTA_ERR_RANGE);
    assert_int_equal(number("-1", &u), OTA_ERR_RANGE);
    assert_int_equal(number("-0", &u), OTA_ERR_RANGE);
    assert_int_equal(number("1.0", &u), OTA_ERR_FORMAT);
    assert_int_equal(number("12.0", &u), OTA_ERR_FORMAT);
    assert_int_equal(number("1e3", &u), OTA_ERR_FORMAT);
    assert_int_equal(number("1E3", &u), OTA_ERR_FORMAT);
    assert_int_equal(number("-1.5", &u), OTA_ERR_FORMAT);
    assert_int_equal(number("01", &u), OTA_ERR_FORMAT); /* refused by the parser */
    assert_int_equal(number("[01]", &u), OTA_ERR_FORMAT);
    assert_int_equal(u, 7u);
}

static void test_u32_on_hand_made_view(void **state)
{
    ota_json_val_t v;
    uint32_t u = 0u;

    (void)state;
    v.type = OTA_JSON_NUMBER;
    v.p = "01";
    v.len = 2u;
    assert_int_equal(ota_json_u32(&v, &u), OTA_ERR_FORMAT);
    v.p = "1x";
    assert_int_equal(ota_json_u32(&v, &u), OTA_ERR_FORMAT);
    v.p = "12";
    v.len = 1u;
    assert_int_equal(ota_json_u32(&v, &u), OTA_OK);
    assert_int_equal(u, 1u);
    v.len = 0u;
    assert_int_equal(ota_json_u32(&v, &u), OTA_ERR_PARAM);
}

/* Random single-byte mutations of a valid document: never a crash, and
 * whatever parses can be walked. */
static void test_mutations(void **state)
{
    static const char base[] =
        "{\"shared\":{\"fw_title\":\"s\\u00e9\",\"fw_size\":123,\"a\":[1,{\"b\":null}],"
        "\"fw_checksum\":\"2639f4cb\"}}";
    static const char alphabet[] = "{}[]\":,\\u0123456789.eE+-tfn \x01\x7f\xff";
    const size_t len = sizeof base - 1u;
    uint32_t seed = 12345u;
    int iter;

    (void)state;
    for (iter = 0; iter < 20000; iter++) {
        char *doc = dup_exact(base, len);
        ota_json_val_t root;
        ota_json_val_t shared;
        ota_json_val_t v;
        int m;

        for (m = 0; m < 1 + iter % 3; m++) {
            seed = seed * 1103515245u + 12345u;
            doc[(seed >> 8) % len] = alphabet[(seed >> 20) % (sizeof alphabet - 1u)];
        }
        if (ota_json_parse(doc, len, &root) == OTA_OK && root.type == OTA_JSON_OBJECT &&
            ota_json_get(&root, "shared", &shared) == OTA_OK && shared.type == OTA_JSON_OBJECT) {
            uint32_t u;
            if (ota_json_get(&shared, "fw_title", &v) == OTA_OK && v.type == OTA_JSON_STRING) {
                char buf[16];
                (void)ota_json_string(&v, buf, sizeof buf, NULL);
            }
            if (ota_json_get(&shared, "fw_size", &v) == OTA_OK && v.type == OTA_JSON_NUMBER) {
                (void)ota_json_u32(&v, &u);
            }
        }
        free(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_root_view),
        cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_truncated_every_byte),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_mixed_nesting),
        cmocka_unit_test(test_get_thingsboard),
        cmocka_unit_test(test_nested_keys_not_top_level),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_get_value_views),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_get_on_bad_view),
        cmocka_unit_test(test_get_depth_of_members),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_bad_escapes_in_string),
        cmocka_unit_test(test_over_long_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_u32_on_hand_made_view),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
