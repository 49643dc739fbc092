#!/usr/bin/env bash
# Line and branch coverage of the core (src/) by the unit tests.
#
#   tools/coverage.sh [MIN-BRANCH-PERCENT]
#
# Builds the tree with gcc --coverage (-O0) in its own build directory, runs
# the unit tests (ctest -L unit), and prints gcovr's per-file tables for
# src/ (lines, then branches). With MIN-BRANCH-PERCENT (e.g. 90) the exit
# status is non-zero when the total branch coverage of src/ is below it.
# gcovr (Debian package gcovr) is installed with apt-get when missing and
# the script may (root, or password-less sudo).
#
# Environment (optional):
#   CELLOTA_OUT   directory of the build tree (default: the repository) -> build-coverage/
#   CELLOTA_JOBS  parallel jobs (default 2)
#   COVERAGE_HTML set to a file name to also write an HTML report with details
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
OUT="${CELLOTA_OUT:-$ROOT}"
BUILD="$OUT/build-coverage"
JOBS="${CELLOTA_JOBS:-2}"
MIN="${1:-}"

if [ -n "$MIN" ] && ! [[ "$MIN" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi

if ! command -v gcovr >/dev/null 2>&1; then
    echo "coverage: gcovr missing, installing the Debian package"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
        else
            echo "coverage: not root and no password-less sudo: apt-get install gcovr" >&2
            exit 1
        fi
    fi
    "${sudo[@]}" apt-get install -y -q --no-install-recommends gcovr </dev/null ||
        { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends gcovr </dev/null; }
fi

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS="--coverage" \
    -DCELLOTA_SANITIZE=OFF -DCELLOTA_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS"
# Counters of an earlier run would add up: start from zero.
find "$BUILD" -name '*.gcda' -delete
(cd "$BUILD" && ctest -L unit --output-on-failure -j"$JOBS")

find "$BUILD" -path '*CompilerId*' -name '*.gcno' -delete  # CMake's compiler probe
common=(--root "$ROOT" --object-directory "$BUILD" --filter "$ROOT/src/" --exclude-unreachable-branches)
echo
echo "==== line coverage of src/ (unit tests) ===="
gcovr "${common[@]}" --sort-percentage
echo
echo "==== branch coverage of src/ (unit tests) ===="
gcovr "${common[@]}" --branches --sort-percentage | tee "$BUILD/branches.txt"
if [ -n "${COVERAGE_HTML:-}" ]; then
    gcovr "${common[@]}" --html-details "$COVERAGE_HTML"
    echo "coverage: HTML report in $COVERAGE_HTML"
fi

total="$(awk '/^TOTAL/ {print $4}' "$BUILD/branches.txt" | tr -d '%')"
echo "coverage: total branch coverage of src/: ${total:-?} %"
if [ -n "$MIN" ]; then
    if awk -v t="${total:-0}" -v m="$MIN" 'BEGIN { exit !(t + 0 >= m + 0) }'; then
        echo "coverage: at least $MIN % (ok)"
    else
        echo "coverage: below $MIN %" >&2
        exit 1
    fi
fi
