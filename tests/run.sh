#!/usr/bin/env bash
# cellota: the complete check, run by developers and by CI (.ci/run).
#
#   tests/run.sh                      from any directory
#
# On a fresh Debian machine (root, or a user with password-less sudo) it first
# installs what is missing with apt-get. Then, each step with a header and its
# time:
#   build              Release build, warnings as errors          -> build/
#   tests              ctest: every unit and integration test
#   asan build         Debug build with ASan + UBSan              -> build-asan/
#   asan tests         ctest under the sanitizers (leaks too, when LSan can run)
#   docs               Doxygen, every warning an error            -> build/docs/html
#   cppcheck           src/ port/ examples/, zero findings
#   clang-tidy         src/ with .clang-tidy, zero findings
#   fuzz               every libFuzzer harness (tests/fuzz), 20000 runs each under
#                      ASan + UBSan, seed corpus included (tools/fuzz.sh) -> build-fuzz/
#   coverage           unit tests with gcc --coverage; line and branch coverage of
#                      src/ per file, at least 90 % of branches (tools/coverage.sh)
#                                                              -> build-coverage/
#   size (M0+)         cross-build of the core and its flash budget (tools/size_report.sh)
#   target tests       the core's unit tests on a Cortex-M0 under qemu-system-arm
#                      (machine microbit, semihosting)         -> build-target/
#   firmware (L0)      STM32L0 port, bootloader and application images, -Werror;
#                      sizes per image and component, budgets, stack
#                      (tools/image_size.sh)                   -> build-stm32l0/
#   package (cmake)    cmake --install + find_package(cellota) consumer
#   package (make)     core built with plain make from cellota_sources.mk
# and a summary table at the end. The exit status is non-zero if any step failed.
#
# Environment (all optional):
#   CELLOTA_OUT        directory that receives the build trees (default: the repository)
#   CELLOTA_JOBS       parallel jobs (default 2)
#   CELLOTA_NO_INSTALL set to 1 to never call apt-get (missing tools fail their step)
# Steps are functions called indirectly through run_step (SC2317 is a false positive).
# shellcheck disable=SC2317
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
OUT="${CELLOTA_OUT:-$ROOT}"
JOBS="${CELLOTA_JOBS:-2}"
BUILD="$OUT/build"
ASAN_BUILD="$OUT/build-asan"
ARM_BUILD="$OUT/build-arm"
TARGET_BUILD="$OUT/build-target"
L0_BUILD="$OUT/build-stm32l0"
PKG_WORK="$OUT/build-package"
export CELLOTA_JOBS="$JOBS"
export DEBIAN_FRONTEND=noninteractive
export CTEST_OUTPUT_ON_FAILURE=1
mkdir -p "$OUT"

# ---------------------------------------------------------------------------
# Step runner: each step runs in a subshell with errexit, so the first failing
# command ends the step (not the run); the result and time are recorded.
# ---------------------------------------------------------------------------
STEP_NAMES=()
STEP_RESULTS=()
STEP_SECS=()
LAST_RC=0
RUN_T0=$(date +%s)

run_step() { # run_step <name> <command...>; always returns 0, sets LAST_RC
    local name="$1" t0 dt result
    shift
    t0=$(date +%s)
    printf '\n======== %s  [%s] ========\n' "$name" "$(date '+%H:%M:%S')"
    set +e
    (
        set -euo pipefail
        "$@"
    )
    LAST_RC=$?
    set -e
    dt=$(($(date +%s) - t0))
    if [ "$LAST_RC" -eq 0 ]; then result=PASS; else result="FAIL"; fi
    printf '======== %s: %s (exit %d) in %ds ========\n' "$name" "$result" "$LAST_RC" "$dt"
    STEP_NAMES+=("$name")
    STEP_RESULTS+=("$result")
    STEP_SECS+=("$dt")
}

skip_step() { # skip_step <name> <reason>
    printf '\n======== %s: SKIPPED (%s) ========\n' "$1" "$2"
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("SKIP: $2")
    STEP_SECS+=("0")
}

# ---------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

fuzzer_links() { # clang can link a libFuzzer harness
    local d rc=1
    d="$(mktemp -d)"
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$d/f.c"
    if clang -fsanitize=fuzzer "$d/f.c" -o "$d/f" >/dev/null 2>&1; then
        rc=0
    fi
    rm -rf "$d"
    return "$rc"
}

missing_packages() { # prints the Debian packages to install, one per line
    have_cmd cmake || echo cmake
    have_cmd make || echo make
    have_cmd pkg-config || echo pkg-config
    # gcc without the C library headers (libc6-dev is only a Recommends of gcc).
    if ! have_cmd gcc || ! echo '#include <stdio.h>' | gcc -E -x c - >/dev/null 2>&1; then
        echo gcc
        echo libc6-dev
    fi
    have_deb libcmocka-dev || pkg-config --exists cmocka 2>/dev/null || echo libcmocka-dev
    have_cmd mosquitto || echo mosquitto
    have_cmd mosquitto_pub || echo mosquitto-clients
    have_deb libmosquitto-dev || pkg-config --exists libmosquitto 2>/dev/null || echo libmosquitto-dev
    have_cmd doxygen || echo doxygen
    have_cmd cppcheck || echo cppcheck
    have_cmd clang-tidy || echo clang-tidy
    have_cmd arm-none-eabi-gcc || echo gcc-arm-none-eabi
    # newlib: the target's C library headers.
    if ! have_deb libnewlib-arm-none-eabi &&
        ! echo '#include <string.h>' | arm-none-eabi-gcc -E -x c - >/dev/null 2>&1; then
        echo libnewlib-arm-none-eabi
    fi
    have_cmd python3 || echo python3
    have_cmd gcovr || echo gcovr
    have_cmd clang || echo clang
    # libFuzzer: clang's runtime library (a separate package per clang version).
    if have_cmd clang && ! fuzzer_links; then
        echo "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
    fi
    have_cmd qemu-system-arm || echo qemu-system-arm
}

step_dependencies() {
    local missing=()
    mapfile -t missing < <(missing_packages | sort -u)
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "all tools present"
        return 0
    fi
    echo "missing: ${missing[*]}"
    if [ "${CELLOTA_NO_INSTALL:-0}" = 1 ]; then
        echo "CELLOTA_NO_INSTALL=1: not installing" >&2
        return 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
        else
            echo "not root and no password-less sudo: install these packages and rerun: ${missing[*]}" >&2
            return 1
        fi
    fi
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
    mapfile -t missing < <(missing_packages | sort -u)
    if [ "${#missing[@]}" -ne 0 ]; then
        echo "still missing after apt-get: ${missing[*]}" >&2
        return 1
    fi
}

# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------
step_build() {
    cmake -S "$ROOT" -B "$BUILD" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCELLOTA_WERROR=ON \
        -DCELLOTA_SANITIZE=OFF \
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
    cmake --build "$BUILD" -j"$JOBS"
}

run_ctest() { # run_ctest <build-dir>
    cd "$1"
    ctest --output-on-failure --no-tests=error --timeout 300 -j"$JOBS"
}

# LeakSanitizer needs to stop the process with ptrace at exit; in containers
# that forbid ptrace it aborts every program ("LeakSanitizer has encountered a
# fatal error"). Probe it: leaks are checked (detect_leaks=1) wherever it works,
# which includes this project's development sandbox and a normal CI runner, and
# only switched off, with a warning, where it cannot run.
lsan_works() {
    local d rc=1
    d="$(mktemp -d)"
    printf 'int main(void) { return 0; }\n' >"$d/p.c"
    if gcc -fsanitize=address "$d/p.c" -o "$d/p" 2>/dev/null &&
        ASAN_OPTIONS=detect_leaks=1 "$d/p" >/dev/null 2>&1; then
        rc=0
    fi
    rm -rf "$d"
    return "$rc"
}

step_asan_build() {
    cmake -S "$ROOT" -B "$ASAN_BUILD" \
        -DCMAKE_BUILD_TYPE=Debug \
        -DCELLOTA_WERROR=ON \
        -DCELLOTA_SANITIZE=ON
    cmake --build "$ASAN_BUILD" -j"$JOBS"
}

step_asan_tests() {
    local leaks=1
    if ! lsan_works; then
        leaks=0
        echo "WARNING: LeakSanitizer does not work here (probe failed, e.g. ptrace restricted): detect_leaks=0"
    fi
    export ASAN_OPTIONS="detect_leaks=$leaks:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    echo "ASAN_OPTIONS=$ASAN_OPTIONS"
    echo "UBSAN_OPTIONS=$UBSAN_OPTIONS"
    run_ctest "$ASAN_BUILD"
}

step_docs() {
    cd "$ROOT"
    # Doxygen only reports undocumented members of a documented file: a public
    # header without an @file block would have its symbols skipped silently.
    local h bad=0
    while IFS= read -r h; do
        if ! grep -q '@file' "$h"; then
            echo "$h:1: error: public header without an @file block"
            bad=1
        fi
    done < <(find include port/posix/include -name '*.h' 2>/dev/null | sort)
    mkdir -p "$BUILD/docs"
    echo "doxygen $(doxygen --version): docs/Doxyfile -> $BUILD/docs/html"
    # Same configuration, output directory moved into this run's build tree.
    { cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = \"$BUILD/docs\""; } | doxygen -
    [ "$bad" -eq 0 ]
    echo "docs: no warnings; open $BUILD/docs/html/index.html"
}

step_cppcheck() { "$ROOT/tools/lint.sh" cppcheck; }
step_clang_tidy() { "$ROOT/tools/lint.sh" clang-tidy "$BUILD"; }
step_fuzz() { CELLOTA_OUT="$OUT" "$ROOT/tools/fuzz.sh" --runs 20000; }
step_coverage() { CELLOTA_OUT="$OUT" "$ROOT/tools/coverage.sh" 90; }
step_size() { "$ROOT/tools/size_report.sh" "$ARM_BUILD"; }
step_target_tests() { "$ROOT/tools/qemu_tests.sh" "$TARGET_BUILD"; }
step_firmware() { "$ROOT/tools/image_size.sh" "$L0_BUILD"; }
step_package_cmake() { "$ROOT/tools/package_check.sh" cmake "$BUILD" "$PKG_WORK"; }
step_package_make() { "$ROOT/tools/package_check.sh" make "$PKG_WORK"; }

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
echo "cellota test run: repository $ROOT, build trees in $OUT, $JOBS jobs"

run_step "dependencies" step_dependencies
if [ "$LAST_RC" -ne 0 ]; then
    echo "cannot continue without the tools above" >&2
    exit 1
fi

run_step "build" step_build
build_rc=$LAST_RC
if [ "$build_rc" -eq 0 ]; then
    run_step "tests" run_ctest "$BUILD"
else
    skip_step "tests" "build failed"
fi

run_step "asan build" step_asan_build
if [ "$LAST_RC" -eq 0 ]; then
    run_step "asan tests" step_asan_tests
else
    skip_step "asan tests" "asan build failed"
fi

run_step "docs" step_docs
run_step "cppcheck" step_cppcheck
if [ -f "$BUILD/compile_commands.json" ]; then
    run_step "clang-tidy" step_clang_tidy
else
    skip_step "clang-tidy" "build not configured"
fi
run_step "fuzz (libFuzzer)" step_fuzz
run_step "coverage (src/)" step_coverage
run_step "size (Cortex-M0+)" step_size
run_step "target tests (QEMU)" step_target_tests
run_step "firmware (STM32L0)" step_firmware

if [ "$build_rc" -eq 0 ]; then
    run_step "package (cmake)" step_package_cmake
else
    skip_step "package (cmake)" "build failed"
fi
run_step "package (make)" step_package_make

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
failed=0
printf '\n======== summary ========\n'
printf '%-20s  %-28s  %7s\n' "step" "result" "seconds"
printf '%-20s  %-28s  %7s\n' "--------------------" "----------------------------" "-------"
for i in "${!STEP_NAMES[@]}"; do
    printf '%-20s  %-28s  %7s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECS[$i]}"
    [ "${STEP_RESULTS[$i]}" = PASS ] || failed=$((failed + 1))
done
printf '%-20s  %-28s  %7s\n' "--------------------" "----------------------------" "-------"
total=$(($(date +%s) - RUN_T0))
if [ "$failed" -eq 0 ]; then
    printf '%-20s  %-28s  %7s\n' "total" "PASS" "$total"
    exit 0
fi
printf '%-20s  %-28s  %7s\n' "total" "FAIL ($failed step(s))" "$total"
exit 1
