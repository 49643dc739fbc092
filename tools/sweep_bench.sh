#!/usr/bin/env bash
# Power-cut sweep benchmark on a full-size image (not part of the test command).
#
#   tools/sweep_bench.sh [build-dir] [image-bytes]
#
# Builds cellota-sweep (Release) and runs it on an image of image-bytes
# (default 180000, near the 184 KB application area of the reference board):
# a power cut before every flash operation of a whole update (download,
# staging, bootloader backup and copy, first boot and confirm), clean and
# torn, W=1 and W=4, plus random lives with three cuts each. Prints, per run:
# operations, cut points tried, devices bricked (must be 0), the most chunks
# downloaded again, and the time. Exit status non-zero if any run failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
BUILD="${1:-$ROOT/build-bench}"
IMAGE="${2:-180000}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"${CELLOTA_JOBS:-2}" --target cellota-sweep >/dev/null
SWEEP="$BUILD/tests/cellota-sweep"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rc=0
run() {
    echo "== cellota-sweep --image $IMAGE $*"
    "$SWEEP" --image "$IMAGE" --dir "$WORK" "$@" || rc=1
}
run --window 1
run --window 4 --random 200
run --window 4 --tear 128
run --window 4 --raw 1024 --tear 2000
exit "$rc"
