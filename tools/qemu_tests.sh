#!/usr/bin/env bash
# The core's unit tests on a Cortex-M0 under QEMU (machine "microbit").
#
#   tools/qemu_tests.sh [build-dir]     cross-build tests/target (default build
#                                       dir: <repo>/build-target) and run every
#                                       test_*.elf in it; prints a summary
#   tools/qemu_tests.sh --run <elf>     run one program (what ctest calls)
#
# Each program runs as
#   qemu-system-arm -M microbit -nographic \
#       -semihosting-config enable=on,target=native -kernel <elf>
# with a timeout (CELLOTA_QEMU_TIMEOUT seconds, default 120). The program's
# output and exit status come through semihosting. The RAM size the program
# was linked for is read from its __ram_size symbol: 16384 is the microbit's
# own; a larger one is given to QEMU with -global nrf51-soc.sram-size=N (the
# same Cortex-M0, more SRAM: see tests/target/CMakeLists.txt for which tests
# and why).
#
# A program passes when QEMU exits with 0 and the runner printed
# "[  PASSED  ] N test(s)." with N (plus the skipped ones) equal to the number
# of tests it ran, and no
# "[  FAILED  ]" or "[  FAULT   ]" line. A HardFault (for example an
# unaligned word access, which the Cortex-M0 and the STM32L0's Cortex-M0+ do
# not allow), a timeout or a stack that reached the heap fails it.
#
# Tests that tests/target/CMakeLists.txt leaves out on the target (too slow
# under emulation; listed there with the reason) are reported as skipped;
# CELLOTA_QEMU_ALL=1 runs them too.
#
# Exit status: 0 all passed, 1 a test failed, 2 build or tool error.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
JOBS="${CELLOTA_JOBS:-2}"
TIMEOUT="${CELLOTA_QEMU_TIMEOUT:-120}"
QEMU=qemu-system-arm
MICROBIT_RAM=16384

die() {
    echo "qemu_tests: $*" >&2
    exit 2
}

# run_elf <elf> <log>: run one program, its output to <log> and to stdout.
# Returns QEMU's exit status (124 on timeout).
run_elf() {
    local elf="$1" log="$2" ram args=() rc sh
    ram="$(arm-none-eabi-nm "$elf" | awk '$3 == "__ram_size" { print $1 }')"
    [ -n "$ram" ] || die "$elf has no __ram_size symbol (not linked with tests/target/microbit.ld?)"
    ram=$((16#$ram))
    if [ "$ram" -ne "$MICROBIT_RAM" ]; then
        args+=(-global "nrf51-soc.sram-size=$ram")
    fi
    sh="enable=on,target=native,arg=$(basename "$elf")"
    [ "${CELLOTA_QEMU_ALL:-0}" != 1 ] || sh="$sh,arg=--all"
    set +e
    timeout "$TIMEOUT" "$QEMU" -M microbit "${args[@]}" -nographic \
        -semihosting-config "$sh" -kernel "$elf" </dev/null >"$log" 2>&1
    rc=$?
    set -e
    cat "$log"
    [ "$rc" -ne 124 ] || echo "[  TIMEOUT ] no exit after ${TIMEOUT}s"
    return "$rc"
}

# verdict <log> <rc>: prints "PASS" or "FAIL: <why>".
count() { # count <log> <tag>: N of the runner's last "<tag> N test(s)..." line
    sed -n "s/^\\[$2\\] \\([0-9]*\\) test(s).*/\\1/p" "$1" | tail -n 1
}

verdict() {
    local log="$1" rc="$2" ran passed skipped
    ran="$(count "$log" "==========")"
    passed="$(count "$log" "  PASSED  ")"
    skipped="$(count "$log" "  SKIPPED ")"
    if [ "$rc" -eq 124 ]; then
        echo "FAIL: timeout"
    elif grep -q '^\[  FAULT   \]' "$log"; then
        echo "FAIL: CPU fault"
    elif grep -q 'STACK OVERFLOW' "$log"; then
        echo "FAIL: stack overflow"
    elif [ "$rc" -ne 0 ]; then
        echo "FAIL: exit status $rc"
    elif [ -z "$ran" ] || [ -z "$passed" ] || [ "$ran" -ne $((passed + ${skipped:-0})) ]; then
        echo "FAIL: ${passed:-0} of ${ran:-?} passed"
    elif grep -q '^\[  FAILED  \]' "$log"; then
        echo "FAIL: a test failed"
    else
        echo "PASS"
    fi
}

if [ "${1:-}" = "--run" ]; then
    [ $# -eq 2 ] || die "usage: $0 --run <elf>"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    rc=0
    run_elf "$2" "$log" || rc=$?
    v="$(verdict "$log" "$rc")"
    echo "$(basename "$2"): $v"
    [ "$v" = PASS ]
    exit
fi

OUT="${1:-$ROOT/build-target}"
for tool in arm-none-eabi-gcc arm-none-eabi-nm "$QEMU" timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
done

echo "$("$QEMU" --version | head -n 1); $(arm-none-eabi-gcc -dumpfullversion) -mcpu=cortex-m0plus -Os"
cmake -S "$ROOT/tests/target" -B "$OUT" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel >/dev/null || die "configure of tests/target failed"
cmake --build "$OUT" -j"$JOBS" || die "cross-build of the target tests failed"

mapfile -t elfs < <(find "$OUT" -maxdepth 1 -name 'test_*.elf' | sort)
[ "${#elfs[@]}" -gt 0 ] || die "no test_*.elf in $OUT"

names=()
results=()
rows=()
failed=0
for elf in "${elfs[@]}"; do
    name="$(basename "$elf" .elf)"
    log="$OUT/$name.log"
    echo
    echo "---- $name ----"
    t0=$(date +%s)
    rc=0
    run_elf "$elf" "$log" || rc=$?
    dt=$(($(date +%s) - t0))
    v="$(verdict "$log" "$rc")"
    [ "$v" = PASS ] || failed=$((failed + 1))
    ran="$(count "$log" "==========")"
    passed="$(count "$log" "  PASSED  ")"
    skipped="$(count "$log" "  SKIPPED ")"
    [ -z "$skipped" ] || passed="$passed (+$skipped skipped)"
    ram="$(sed -n 's/^\[  TARGET  \] RAM \([0-9]*\) bytes.*/\1/p' "$log" | tail -n 1)"
    stack="$(sed -n 's/^\[  TARGET  \] .*stack peak \([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    names+=("$name")
    results+=("$v")
    rows+=("$(printf '%-16s %-22s %9s %10s %6s' "$name" "${passed:-0} of ${ran:-?}" "${ram:-?}" "${stack:-?}" "${dt}s")")
done

echo
echo "target tests on qemu-system-arm -M microbit (Cortex-M0):"
printf '%-16s %-22s %9s %10s %6s  %s\n' "program" "tests passed" "RAM" "stack peak" "time" "result"
for i in "${!names[@]}"; do
    printf '%s  %s\n' "${rows[$i]}" "${results[$i]}"
done
if [ "$failed" -ne 0 ]; then
    echo "target tests: FAIL ($failed of ${#names[@]} program(s))"
    exit 1
fi
echo "target tests: PASS (${#names[@]} program(s))"
