#!/usr/bin/env bash
# Build the libFuzzer harnesses (tests/fuzz, clang, ASan + UBSan) and run them.
#
#   tools/fuzz.sh [SECONDS]      run each harness SECONDS seconds (default 60)
#   tools/fuzz.sh --runs N       run each harness exactly N inputs (tests/run.sh: 20000)
#
# Each harness starts from its seed corpus in tests/fuzz/corpus/<harness>/
# (seeds and regress-* reproducers; never modified here) plus a scratch
# corpus for what it finds. A table at the end gives per harness the
# executions, exec/s, the coverage libFuzzer reports (cov: edges, ft:
# features) and the corpus size; the exit status is non-zero if any
# harness crashed. Crash inputs are kept in <build>/artifacts/<harness>/;
# turn one into a regression test by copying it to
# tests/fuzz/corpus/<harness>/regress-<name> (the short run replays it).
#
# Environment (optional):
#   CELLOTA_OUT        directory of the build tree (default: the repository) -> build-fuzz/
#   CELLOTA_JOBS       harnesses run in parallel (default 2)
#   FUZZ_HARNESSES     space-separated subset, e.g. "fuzz_json fuzz_client"
#   FUZZ_KEEP_CORPUS   directory where the grown corpora are kept (default: dropped)
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
OUT="${CELLOTA_OUT:-$ROOT}"
BUILD="$OUT/build-fuzz"
JOBS="${CELLOTA_JOBS:-2}"
MODE="time"
AMOUNT=60

usage() {
    sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
--runs)
    MODE=runs
    AMOUNT="${2:?--runs needs a number}"
    ;;
"") ;;
*)
    AMOUNT="$1"
    ;;
esac
if ! [[ "$AMOUNT" =~ ^[0-9]+$ ]] || [ "$AMOUNT" -eq 0 ]; then
    usage >&2
    exit 2
fi

CC_FUZZ="${CC_FUZZ:-$(command -v clang || true)}"
[ -n "$CC_FUZZ" ] || { echo "fuzz: clang not found (apt-get install clang)" >&2; exit 1; }

echo "fuzz: building the harnesses with $("$CC_FUZZ" --version | head -n 1) -> $BUILD"
cmake -S "$ROOT/tests/fuzz" -B "$BUILD" -DCMAKE_C_COMPILER="$CC_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS"

mapfile -t ALL <"$BUILD/fuzzers.txt"
if [ -n "${FUZZ_HARNESSES:-}" ]; then
    read -r -a ALL <<<"$FUZZ_HARNESSES"
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cellota-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"

# run_one HARNESS: one libFuzzer run; its log in $WORK/HARNESS.log.
run_one() {
    local h="$1" seeds="$ROOT/tests/fuzz/corpus/$1" limit
    mkdir -p "$WORK/$h" "$BUILD/artifacts/$h"
    [ -d "$seeds" ] || seeds=""
    if [ "$MODE" = runs ]; then
        limit="-runs=$AMOUNT"
    else
        limit="-max_total_time=$AMOUNT"
    fi
    # -seed fixed for the short run: the same inputs every time.
    "$BUILD/$h" "$limit" -seed=1 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$BUILD/artifacts/$h/" "$WORK/$h" ${seeds:+"$seeds"} >"$WORK/$h.log" 2>&1
    echo $? >"$WORK/$h.rc"
}
export -f run_one
export BUILD ROOT WORK MODE AMOUNT

if [ "$MODE" = runs ]; then
    echo "fuzz: ${#ALL[@]} harnesses, $AMOUNT runs each (seed corpus and regressions included), $JOBS at a time"
else
    echo "fuzz: ${#ALL[@]} harnesses, $AMOUNT s each, $JOBS at a time"
fi
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
printf '%s\n' "${ALL[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {}

# Summary: libFuzzer's last status line and its final stats.
failed=0
printf '\n%-16s %10s %8s %6s %7s %12s  %s\n' harness executions exec/s cov ft corpus result
for h in "${ALL[@]}"; do
    log="$WORK/$h.log"
    rc="$(cat "$WORK/$h.rc" 2>/dev/null || echo 1)"
    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")"
    if [ "${speed:-}" = 0 ] && [ -n "$execs" ]; then
        speed=">$execs" # all of them within the first second
    fi
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="CRASH (exit $rc)"
        failed=1
    fi
    printf '%-16s %10s %8s %6s %7s %12s  %s\n' "$h" "${execs:-?}" "${speed:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$result"
    if [ "$rc" -ne 0 ]; then
        grep -E 'ERROR|invariant failed|runtime error|SUMMARY|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
    fi
    if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
        mkdir -p "$FUZZ_KEEP_CORPUS/$h"
        cp -n "$WORK/$h"/* "$FUZZ_KEEP_CORPUS/$h/" 2>/dev/null || true
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: CRASHES found; reproducers in $BUILD/artifacts/ (replay: <build>/<harness> <file>)"
    exit 1
fi
echo "fuzz: no crash"
