#!/usr/bin/env bash
# Packaging checks of cellota.
#
#   tools/package_check.sh cmake <build-dir> <work-dir>
#       cmake --install <build-dir> into <work-dir>/prefix, then configure, build
#       and run tests/package (find_package(cellota) + cellota::cellota) against it.
#   tools/package_check.sh make <work-dir>
#       build the core with plain make from cellota_sources.mk
#       (tests/package/Makefile) and run the same consumer program.
#   tools/package_check.sh all <build-dir> <work-dir>
#       both.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
JOBS="${CELLOTA_JOBS:-2}"

usage() {
    echo "usage: $0 cmake <build-dir> <work-dir> | make <work-dir> | all <build-dir> <work-dir>" >&2
    exit 2
}

check_cmake() {
    local build="$1" work="$2"
    local prefix="$work/prefix" consumer="$work/consumer"
    [ -f "$build/CMakeCache.txt" ] || { echo "package: $build is not a configured build tree" >&2; return 2; }
    rm -rf "$prefix" "$consumer"
    echo "--- cmake --install $build --prefix $prefix"
    cmake --install "$build" --prefix "$prefix"
    echo "--- installed files:"
    (cd "$prefix" && find . -type f | sort | sed 's|^\./|    |')
    echo "--- consumer: find_package(cellota) from $prefix"
    cmake -S "$ROOT/tests/package" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    cmake --build "$consumer" -j"$JOBS"
    "$consumer/cellota_consumer"
}

check_make() {
    local work="$1"
    local out="$work/make"
    rm -rf "$out"
    echo "--- make -f tests/package/Makefile O=$out (core from cellota_sources.mk)"
    make -f "$ROOT/tests/package/Makefile" -j"$JOBS" CELLOTA_DIR="$ROOT" O="$out"
    "$out/consumer"
}

case "${1:-}" in
cmake)
    [ $# -eq 3 ] || usage
    check_cmake "$2" "$3"
    ;;
make)
    [ $# -eq 2 ] || usage
    check_make "$2"
    ;;
all)
    [ $# -eq 3 ] || usage
    check_cmake "$2" "$3"
    check_make "$3"
    ;;
*)
    usage
    ;;
esac
