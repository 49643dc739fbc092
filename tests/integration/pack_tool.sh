#!/usr/bin/env bash
#
# cellota-pack: package layout, the values ThingsBoard would show, and that
# the input is never damaged.
#
#   pack_tool.sh PACK
# shellcheck disable=SC2317  # functions are called through it_run
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 PACK" >&2
    exit 2
fi
PACK="$1"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init pack_tool

hex_of() { od -An -v -tx1 | tr -d ' \n'; }

# field LOG NAME: the value of "NAME: value" in a pack summary.
field() { sed -n "s/^$2: //p" "$1"; }

expect_eq() {
    if [ "$2" = "$3" ]; then
        it_log "ok: $1"
    else
        it_fail "$1: expected '$3', got '$2'"
    fi
}

main() {
    local t="$IT_TMP" sum rc

    # "123456789": CRC-32 0xCBF43926, shown by ThingsBoard as its little-endian bytes.
    printf '123456789' >"$t/nine"
    "$PACK" --format raw "$t/nine" >"$t/raw.log" || it_fail "raw pack failed"
    expect_eq "raw fw_size" "$(field "$t/raw.log" fw_size)" 9
    expect_eq "raw CRC32" "$(field "$t/raw.log" 'fw_checksum (CRC32)')" 2639f4cb
    expect_eq "raw SHA256" "$(field "$t/raw.log" 'fw_checksum (SHA256)')" \
        15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225
    [ ! -e "$t/nine.pkg" ] || it_fail "--format raw without --out wrote a file"

    # One short Dragino record: the data, then its CRC-32 little-endian.
    "$PACK" "$t/nine" >"$t/d9.log" || it_fail "dragino pack failed"
    expect_eq "dragino record" "$(hex_of <"$t/nine.pkg")" "313233343536373839$(printf '2639f4cb')"
    expect_eq "dragino fw_size" "$(field "$t/d9.log" fw_size)" 13

    # 2000 bytes: [1024][crc][976][crc] = 2008 bytes.
    it_gen_image "$t/img2000" 2000 5
    sum="$(hex_of <"$t/img2000")"
    "$PACK" --out "$t/p2000" "$t/img2000" >"$t/p2000.log" || it_fail "pack 2000 failed"
    expect_eq "2000-byte image: fw_size" "$(field "$t/p2000.log" fw_size)" 2008
    expect_eq "2000-byte image: package size" "$(stat -c %s "$t/p2000")" 2008
    expect_eq "record 1 data" "$(head -c 1024 "$t/p2000" | hex_of)" "$(head -c 1024 "$t/img2000" | hex_of)"
    expect_eq "record 2 data" "$(tail -c +1029 "$t/p2000" | head -c 976 | hex_of)" \
        "$(tail -c +1025 "$t/img2000" | hex_of)"
    expect_eq "input unchanged" "$(hex_of <"$t/img2000")" "$sum"
    expect_eq "SHA256 over the package" "$(field "$t/p2000.log" 'fw_checksum (SHA256)')" \
        "$(sha256sum "$t/p2000" | cut -d' ' -f1)"
    if command -v python3 >/dev/null 2>&1; then
        expect_eq "CRC32 over the package (zlib, little-endian)" \
            "$(field "$t/p2000.log" 'fw_checksum (CRC32)')" \
            "$(python3 -c 'import sys, zlib
print(zlib.crc32(open(sys.argv[1], "rb").read()).to_bytes(4, "little").hex())' "$t/p2000")"
        expect_eq "record CRCs (zlib, little-endian)" \
            "$(head -c 1028 "$t/p2000" | tail -c 4 | hex_of) $(tail -c 4 "$t/p2000" | hex_of)" \
            "$(python3 -c 'import sys, zlib
d = open(sys.argv[1], "rb").read()
print(zlib.crc32(d[:1024]).to_bytes(4, "little").hex(), zlib.crc32(d[1024:]).to_bytes(4, "little").hex())' \
                "$t/img2000")"
    fi

    # An exact multiple of 1024: no empty last record.
    it_gen_image "$t/img4096" 4096 6
    "$PACK" --out "$t/p4096" "$t/img4096" >"$t/p4096.log" || it_fail "pack 4096 failed"
    expect_eq "4096-byte image: fw_size" "$(field "$t/p4096.log" fw_size)" 4112

    # --json: the shared attributes.
    "$PACK" --json --title 's31-nb' --version v1.6.0 --out "$t/pj" "$t/img2000" >"$t/json.log" ||
        it_fail "--json failed"
    expect_eq "--json" "$(cat "$t/json.log")" \
        "{\"fw_title\":\"s31-nb\",\"fw_version\":\"v1.6.0\",\"fw_size\":2008,\"fw_checksum_algorithm\":\"CRC32\",\"fw_checksum\":\"$(field "$t/p2000.log" 'fw_checksum (CRC32)')\"}"
    "$PACK" --json --title 's"x' --version v --algo SHA256 --out "$t/pj" "$t/img2000" >"$t/json2.log" ||
        it_fail "--json --algo SHA256 failed"
    expect_eq "--json SHA256, escaped title" "$(cat "$t/json2.log")" \
        "{\"fw_title\":\"s\\\"x\",\"fw_version\":\"v\",\"fw_size\":2008,\"fw_checksum_algorithm\":\"SHA256\",\"fw_checksum\":\"$(field "$t/p2000.log" 'fw_checksum (SHA256)')\"}"

    # Refusals: exit 1, a message on stderr, nothing damaged.
    "$PACK" --out "$t/img2000" "$t/img2000" >"$t/r1.out" 2>"$t/r1.err"
    rc=$?
    expect_eq "--out = input refused" "$rc $(wc -c <"$t/r1.out")" "1 0"
    expect_eq "input still intact" "$(hex_of <"$t/img2000")" "$sum"
    ln -s img2000 "$t/link"
    "$PACK" --out "$t/link" "$t/img2000" >/dev/null 2>&1
    expect_eq "--out = a link to the input refused" "$?" 1
    expect_eq "input still intact" "$(hex_of <"$t/img2000")" "$sum"
    : >"$t/empty"
    "$PACK" "$t/empty" >/dev/null 2>"$t/r2.err"
    expect_eq "empty image refused" "$? $(grep -c empty "$t/r2.err")" "1 1"
    "$PACK" "$t/missing" >/dev/null 2>&1
    expect_eq "missing image" "$?" 1
    "$PACK" --format zip "$t/img2000" >/dev/null 2>&1
    expect_eq "bad --format" "$?" 1
    "$PACK" --json "$t/img2000" >/dev/null 2>&1
    expect_eq "--json without --title" "$?" 1
    "$PACK" >/dev/null 2>&1
    expect_eq "no image" "$?" 1
    local x='[A-Za-z0-9]'
    # shellcheck disable=SC2086
    ls "$t"/*.$x$x$x$x$x$x >/dev/null 2>&1 && it_fail "a temporary file was left behind"
    return 0
}

it_run main
it_finish
