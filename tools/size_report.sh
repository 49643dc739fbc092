#!/usr/bin/env bash
# Cortex-M0+ size report of the cellota core.
#
#   tools/size_report.sh [build-dir]        (default: <repo>/build-arm)
#
# Cross-builds the core library only (CELLOTA_BUILD_POSIX=OFF,
# CELLOTA_BUILD_TESTS=OFF) with cmake/arm-none-eabi.cmake at -Os with
# -ffunction-sections -fdata-sections, prints text/data/bss per object file
# and the total, and checks the flash of the core against two numbers:
#   - the product target, 6144 bytes (CELLOTA_FLASH_TARGET): printed as met or
#     NOT MET; the core is not there yet (see README, "Size"), so it does not
#     fail the run;
#   - the regression ceiling (CELLOTA_FLASH_BUDGET, default 17408): the size
#     the core has today, rounded up; growing past it fails the script, so a
#     change that adds flash has to raise it on purpose.
# It also prints the RAM of one client context, sizeof(ota_client_t) on the
# target, against its budget (CELLOTA_RAM_BUDGET, default 1536, chunk buffer
# included); over budget fails the script. Last, it builds the core once more
# with logging and SHA-256 compiled out (in <build-dir>-lean) and prints that
# size, with no budget.
#
# The figures are those of the library archive: every function of the core,
# before the firmware's final link drops what it does not call
# (--gc-sections), so a real firmware is never larger than this.
#
# Exit status: 0 PASS, 1 FAIL (over budget), 2 build or tool error.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
OUT="${1:-$ROOT/build-arm}"
JOBS="${CELLOTA_JOBS:-2}"
FLASH_BUDGET="${CELLOTA_FLASH_BUDGET:-17408}"
FLASH_TARGET="${CELLOTA_FLASH_TARGET:-6144}"
RAM_BUDGET="${CELLOTA_RAM_BUDGET:-1536}"
PREFIX=arm-none-eabi-
CPU_FLAGS=(-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft)
OPT_FLAGS=(-Os -ffunction-sections -fdata-sections)

die() {
    echo "size_report: $*" >&2
    exit 2
}

for tool in gcc size nm readelf; do
    command -v "${PREFIX}${tool}" >/dev/null 2>&1 || die "${PREFIX}${tool} not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
done

# build_core <dir> <extra C flags>: cross-build the core library alone.
build_core() {
    cmake -S "$ROOT" -B "$1" \
        -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" \
        -DCMAKE_BUILD_TYPE=MinSizeRel \
        -DCMAKE_C_FLAGS_MINSIZEREL="-Os -DNDEBUG $2" \
        -DCELLOTA_BUILD_POSIX=OFF \
        -DCELLOTA_BUILD_TESTS=OFF \
        -DCELLOTA_WERROR=ON >/dev/null || die "configure failed (run: cmake -S $ROOT -B $1 ...)"
    cmake --build "$1" --target cellota -j"$JOBS" || die "cross-build of the core failed ($1)"
}

# 1. Cross-build the core library.
build_core "$OUT" ""

LIB="$OUT/libcellota.a"
[ -f "$LIB" ] || die "$LIB not found"
# Guard: the CPU flags live in the toolchain file's CMAKE_C_FLAGS_INIT, which a
# CMAKE_C_FLAGS given on the command line would replace; check they applied.
# (readelf's output is read whole first: `readelf | grep -q` under pipefail
# fails when grep quits early and readelf dies of SIGPIPE.)
attrs="$("${PREFIX}readelf" -A "$LIB")" || die "readelf -A $LIB failed"
if ! grep -q 'Tag_CPU_arch: v6S-M' <<<"$attrs"; then
    die "$LIB is not built for ARMv6-M (Cortex-M0+): check the compiler flags"
fi

# 2. Per-object table (Berkeley format of arm-none-eabi-size on the archive).
echo
echo "cellota core on Cortex-M0+ (${CPU_FLAGS[*]} ${OPT_FLAGS[*]}), $(${PREFIX}gcc -dumpfullversion)"
"${PREFIX}size" -B "$LIB" | awk -v budget="$FLASH_BUDGET" -v target="$FLASH_TARGET" '
    NR == 1 { next }                                  # header line
    {
        obj = $6; sub(/ \(ex .*$/, "", obj)           # "ota_crc32.c.obj (ex libcellota.a)" -> object
        sub(/\.c\.obj$|\.o$|\.obj$/, "", obj)
        rows[++n] = obj; text[n] = $1; data[n] = $2; bss[n] = $3
        tt += $1; td += $2; tb += $3
        if (obj == "ota_at") { at = $1 + $2 }
    }
    END {
        line = "--------------------------  --------  --------  --------  ----------"
        printf "%-26s  %8s  %8s  %8s  %10s\n", "object", "text", "data", "bss", "text+data"
        print line
        for (i = 1; i <= n; i++)
            printf "%-26s  %8d  %8d  %8d  %10d\n", rows[i], text[i], data[i], bss[i], text[i] + data[i]
        print line
        printf "%-26s  %8d  %8d  %8d  %10d\n", "TOTAL", tt, td, tb, tt + td
        printf "%-26s  %8s  %8s  %8s  %10d\n", "  without ota_at (console)", "", "", "", tt + td - at
        print ""
        verdict = (tt + td <= budget) ? "PASS" : "FAIL"
        printf "core flash (text+data): %d bytes; product target %d: %s\n", tt + td, target,
               (tt + td <= target) ? "met" : sprintf("NOT MET (%d bytes over)", tt + td - target)
        printf "core flash (text+data): %d bytes; regression ceiling %d: %s\n", tt + td, budget, verdict
        exit verdict == "PASS" ? 0 : 1
    }' && flash_ok=1 || flash_ok=0

# 3. RAM of one client context on the target: sizeof(ota_client_t) is the size
#    of a global array of that many chars, read back from the symbol table.
probe_c="$OUT/size_probe.c"
probe_o="$OUT/size_probe.o"
cat >"$probe_c" <<'EOF'
/* Generated by tools/size_report.sh: sizes of the public types on the target. */
#include "cellota/ota_client.h"
char cellota_size_client[sizeof(ota_client_t)];
char cellota_size_config[sizeof(ota_config_t)];
char cellota_size_settings[sizeof(ota_settings_t)];
EOF
"${PREFIX}gcc" -std=c99 "${CPU_FLAGS[@]}" "${OPT_FLAGS[@]}" -fno-common -I"$ROOT/include" \
    -c "$probe_c" -o "$probe_o" || die "could not compile the size probe"
sym_size() {
    local hex
    hex="$("${PREFIX}nm" --size-sort -S "$probe_o" | awk -v s="$1" '$4 == s { print $2 }')"
    [ -n "$hex" ] || die "symbol $1 not found in $probe_o"
    echo $((16#$hex))
}
client=$(sym_size cellota_size_client)
config=$(sym_size cellota_size_config)
settings=$(sym_size cellota_size_settings)
if [ "$client" -le "$RAM_BUDGET" ]; then
    ram_note="within budget"
else
    ram_note="OVER budget by $((client - RAM_BUDGET)) bytes"
    flash_ok=0
fi
echo "client context RAM: $client bytes; budget $RAM_BUDGET ($ram_note)"
echo "also on the target: sizeof(ota_config_t) = $config bytes, sizeof(ota_settings_t) = $settings bytes"

# 4. The smallest build the configuration allows: logging and SHA-256 compiled
#    out (OTA_CFG_LOG=0, OTA_CFG_SHA256=0; CRC32 checksums only). Printed for
#    integrators; no budget applies to it.
LEAN="$OUT-lean"
build_core "$LEAN" "-DOTA_CFG_LOG=0 -DOTA_CFG_SHA256=0" >/dev/null
"${PREFIX}size" -B "$LEAN/libcellota.a" | awk '
    NR > 1 { t += $1 + $2; if ($6 ~ /^ota_at\./) at = $1 + $2 }
    END { printf "core with OTA_CFG_LOG=0 OTA_CFG_SHA256=0: %d bytes; without ota_at (console): %d\n", t, t - at }'

if [ "$flash_ok" -eq 1 ]; then
    echo "size report: PASS"
    exit 0
fi
echo "size report: FAIL (core text+data over the $FLASH_BUDGET-byte ceiling, or client RAM over $RAM_BUDGET bytes)"
exit 1
