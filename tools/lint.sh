#!/usr/bin/env bash
# Static analysis of cellota. Zero findings allowed.
#
#   tools/lint.sh cppcheck                 cppcheck over src/ port/ examples/
#   tools/lint.sh clang-tidy [build-dir]   clang-tidy over src/*.c src/boot/*.c src/modem/*.c with the committed
#                                          .clang-tidy and <build-dir>/compile_commands.json
#                                          (default build-dir: <repo>/build; configure it
#                                          with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
#   tools/lint.sh [all] [build-dir]        both
#
# cppcheck suppressions: inline (// cppcheck-suppress <id> with a reason on the
# same or previous line) or in .cppcheck-suppressions at the repository root,
# one per line, each preceded by a comment that gives the reason.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)"
JOBS="${CELLOTA_JOBS:-2}"

run_cppcheck() {
    cd "$ROOT"
    local dirs=() d
    for d in src port examples; do
        [ -d "$d" ] && dirs+=("$d")
    done
    local args=(
        '--enable=warning,style,performance,portability'
        --error-exitcode=1
        --inline-suppr
        --std=c99
        --quiet
        -j "$JOBS"
        -I include
        # OTA_CONFIG_FILE names an integrator's configuration header; left
        # free, cppcheck tries a configuration where it is defined to nothing
        # and reports "#include OTA_CONFIG_FILE" as an include of no header.
        -U OTA_CONFIG_FILE
        --template='{file}:{line}: {severity} ({id}): {message}'
    )
    [ -d port/posix/include ] && args+=(-I port/posix/include)
    # cppcheck reads '#' lines of a suppressions file as comments.
    [ -f .cppcheck-suppressions ] && args+=(--suppressions-list=.cppcheck-suppressions)
    echo "cppcheck $(cppcheck --version | awk '{print $2}') over: ${dirs[*]}"
    if cppcheck "${args[@]}" "${dirs[@]}"; then
        echo "cppcheck: no findings"
    else
        echo "cppcheck: FINDINGS (see above)"
        return 1
    fi
}

run_clang_tidy() {
    local build="${1:-$ROOT/build}"
    local db="$build/compile_commands.json"
    if [ ! -f "$db" ]; then
        echo "clang-tidy: $db not found; configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON" >&2
        return 2
    fi
    cd "$ROOT"
    local files=()
    # src/*.c, the boot core in src/boot/ and the Quectel driver in src/modem/.
    mapfile -t files < <({ find src -maxdepth 1 -name '*.c'; [ -d src/boot ] && find src/boot -name '*.c';
        [ -d src/modem ] && find src/modem -name '*.c'; } | sort)
    [ "${#files[@]}" -gt 0 ] || { echo "clang-tidy: no sources in src/"; return 0; }
    local logs
    logs="$(mktemp -d)"
    echo "$(clang-tidy --version | awk '/version/ {print "clang-tidy " $NF; exit}') over ${#files[@]} files of src/ ($db)"
    # One process per file, $JOBS at a time; each writes its own log, printed
    # in order afterwards, so the findings of two files never interleave.
    local rc=0
    # shellcheck disable=SC2016 # $1..$3 are expanded by the inner sh
    printf '%s\n' "${files[@]}" |
        xargs -P "$JOBS" -I{} sh -c 'f="$1"; out="$2/$(basename "$f").log";
            if clang-tidy -p "$3" --quiet "$f" >"$out" 2>&1; then echo 0 >"$out.rc"; else echo 1 >"$out.rc"; fi' \
            _ {} "$logs" "$build" || true
    local f base
    for f in "${files[@]}"; do
        base="$logs/$(basename "$f").log"
        if [ "$(cat "$base.rc" 2>/dev/null || echo 1)" != 0 ]; then
            rc=1
            # Drop clang-tidy's "N warnings generated" / "Suppressed N warnings" chatter.
            grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' "$base" || true
        fi
    done
    rm -rf "$logs"
    if [ "$rc" -eq 0 ]; then
        echo "clang-tidy: no findings"
    else
        echo "clang-tidy: FINDINGS (see above)"
    fi
    return "$rc"
}

what="${1:-all}"
case "$what" in
cppcheck)
    run_cppcheck
    ;;
clang-tidy)
    run_clang_tidy "${2:-}"
    ;;
all)
    rc=0
    run_cppcheck || rc=1
    run_clang_tidy "${2:-}" || rc=1
    exit "$rc"
    ;;
*)
    echo "usage: $0 [cppcheck | clang-tidy [build-dir] | all [build-dir]]" >&2
    exit 2
    ;;
esac
