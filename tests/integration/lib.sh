# shellcheck shell=bash
#
# Helpers for the integration tests and examples/posix/demo.sh (source this file).
#
# Everything a test starts goes through it_spawn, so it_cleanup (installed as
# an EXIT/INT/TERM trap by it_init) can stop it: every process is stopped by
# its own pid, first politely (TERM), then with KILL. The broker is a private
# mosquitto on a free loopback port with a generated configuration, in a
# private temporary directory that is removed at the end (kept when
# IT_KEEP=1 or when a test failed and IT_KEEP_ON_FAIL=1).
#
#   it_init NAME                 temporary dir $IT_TMP, traps
#   it_start_broker              mosquitto on 127.0.0.1:$IT_PORT
#   it_spawn NAME CMD...         start CMD in the background, output in $IT_TMP/NAME.log;
#                                its pid goes to $IT_LAST_PID
#   it_stop PID / it_stop_all    stop one / every process started by it_spawn
#   it_stop_checked PID NAME     stop one that must exit with status 0
#   it_wait_for FILE REGEX SECS  wait until FILE has a line matching REGEX
#   it_gen_image FILE SIZE SEED [TEXT]  deterministic pseudo-random image
#   it_staging_offset            staging slot offset of the simulated flash
#   it_status_start / it_status_wait SECS   capture the device's status message
#   it_fail MSG / it_die MSG / it_log MSG
#   it_run FUNC / it_finish      run the test body, then exit with PASS or FAIL

IT_PIDS=()
IT_HEX=()
IT_TMP=""
IT_PORT=""
IT_NAME="integration"
IT_FAILED=0
IT_HOST=127.0.0.1
IT_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
IT_SRC_DIR="${CELLOTA_SRC:-$(cd "$IT_LIB_DIR/../.." && pwd -P)}"

it_log() {
    printf '%s: %s\n' "$IT_NAME" "$*"
}

# Report a failure (the test goes on, so that several problems can be seen).
it_fail() {
    printf '%s: FAIL: %s\n' "$IT_NAME" "$*" >&2
    IT_FAILED=1
}

# Report a failure and stop the test now (cleanup still runs).
it_die() {
    it_fail "$@"
    exit 1
}

# it_run FUNC ARGS...: run a test body. Bash abandons a whole command when an
# expansion fails (an unset variable under set -u) and goes on with the next
# one; it_finish then reports that as a failure instead of a pass.
it_run() {
    IT_COMPLETED=0
    "$@"
    IT_COMPLETED=1
}

# it_finish: print PASS or the reason, and exit with the test's status.
it_finish() {
    if [ "${IT_COMPLETED:-0}" -ne 1 ]; then
        it_fail "the test script stopped before its end (see the shell error above)"
    fi
    if [ "$IT_FAILED" -eq 0 ]; then
        it_log "PASS"
    fi
    exit "$IT_FAILED"
}

it_init() {
    IT_NAME="${1:-integration}"
    IT_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cellota-${IT_NAME//[^A-Za-z0-9_.-]/_}.XXXXXX")" ||
        { echo "$IT_NAME: cannot create a temporary directory" >&2; exit 1; }
    trap it_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

it_is_running() {
    kill -0 "$1" 2>/dev/null
}

# Stop one process we started: TERM, wait up to 3 s, then KILL. Its exit
# status goes to IT_STOP_RC (0 for a clean exit after TERM).
it_stop() {
    local pid="$1" i
    IT_STOP_RC=0
    [ -n "$pid" ] || return 0
    if it_is_running "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            it_is_running "$pid" || break
            sleep 0.1
        done
        if it_is_running "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null
    IT_STOP_RC=$?
    return 0
}

# it_stop_checked PID NAME: stop a process that must exit cleanly (status 0,
# so no sanitizer report either); show its log otherwise.
it_stop_checked() {
    it_stop "$1"
    if [ "$IT_STOP_RC" -ne 0 ]; then
        it_fail "$2 exited with status $IT_STOP_RC when stopped"
        it_show "$IT_TMP/$2.log" 30
    fi
}

# Stop every process started by it_spawn, the most recent first.
it_stop_all() {
    local i
    for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
        it_stop "${IT_PIDS[$i]}"
    done
    IT_PIDS=()
}

it_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    it_stop_all
    if [ "$IT_FAILED" -ne 0 ] && [ "$rc" -eq 0 ]; then
        rc=1
    fi
    if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
        if [ "${IT_KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "${IT_KEEP_ON_FAIL:-0}" = 1 ]; }; then
            echo "$IT_NAME: files kept in $IT_TMP" >&2
        else
            rm -rf "$IT_TMP"
        fi
    fi
    exit "$rc"
}

# it_spawn NAME CMD... : start CMD in the background; stdout+stderr in $IT_TMP/NAME.log.
it_spawn() {
    local name="$1"
    shift
    "$@" >"$IT_TMP/$name.log" 2>&1 &
    IT_LAST_PID=$!
    IT_PIDS+=("$IT_LAST_PID")
}

# it_wait_for FILE REGEX SECS [PID]: true once FILE has a line matching the extended
# REGEX; false after SECS seconds, or as soon as process PID (if given) has ended.
it_wait_for() {
    local file="$1" re="$2" secs="$3" pid="${4:-}" i
    for ((i = 0; i < secs * 20; i++)); do
        if [ -f "$file" ] && grep -Eq -- "$re" "$file"; then
            return 0
        fi
        if [ -n "$pid" ] && ! it_is_running "$pid"; then
            [ -f "$file" ] && grep -Eq -- "$re" "$file"
            return
        fi
        sleep 0.05
    done
    return 1
}

# A TCP port on 127.0.0.1 that nothing listens on (the caller retries if it is taken meanwhile).
it_free_port() {
    local port i
    if command -v python3 >/dev/null 2>&1; then
        port="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null)" && [ -n "$port" ] && { echo "$port"; return 0; }
    fi
    for i in $(seq 1 50); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

it_port_open() {
    (exec 3<>"/dev/tcp/$IT_HOST/$1") 2>/dev/null
}

it_mosquitto_bin() {
    if [ -n "${MOSQUITTO:-}" ]; then
        echo "$MOSQUITTO"
    elif command -v mosquitto >/dev/null 2>&1; then
        command -v mosquitto
    elif [ -x /usr/sbin/mosquitto ]; then
        echo /usr/sbin/mosquitto
    else
        return 1
    fi
}

# Start a private mosquitto on a free loopback port: sets IT_PORT and IT_BROKER_PID.
it_start_broker() {
    local bin port conf i
    bin="$(it_mosquitto_bin)" || it_die "mosquitto not found (apt-get install mosquitto)"
    for _ in 1 2 3 4 5 6 7 8; do
        port="$(it_free_port)" || continue
        conf="$IT_TMP/mosquitto-$port.conf"
        printf 'listener %s %s\nallow_anonymous true\npersistence false\n' "$port" "$IT_HOST" >"$conf"
        it_spawn "mosquitto-$port" "$bin" -c "$conf"
        IT_BROKER_PID=$IT_LAST_PID
        for ((i = 0; i < 100; i++)); do
            it_is_running "$IT_BROKER_PID" || break
            if grep -q "listen socket on port $port" "$IT_TMP/mosquitto-$port.log" 2>/dev/null &&
                it_port_open "$port"; then
                sleep 0.05
                if it_is_running "$IT_BROKER_PID"; then
                    IT_PORT=$port
                    return 0
                fi
                break
            fi
            sleep 0.05
        done
        it_stop "$IT_BROKER_PID"
    done
    it_die "could not start mosquitto on a free port (last log: $(tail -n 3 "$IT_TMP/mosquitto-$port.log" 2>/dev/null))"
}

# it_gen_image FILE SIZE SEED [TEXT]: SIZE bytes, TEXT first, then a pseudo-random
# sequence (32-bit LCG, top byte) fully determined by SEED. Pure bash.
it_gen_image() {
    local file="$1" size="$2" x="$3" text="${4:-}" n buf i
    : >"$file" || return 1
    if [ -n "$text" ]; then
        printf '%s' "${text:0:$size}" >>"$file"
    fi
    n=$((size - ${#text}))
    [ "$n" -lt 0 ] && n=0
    if [ "${#IT_HEX[@]}" -ne 256 ]; then
        IT_HEX=()
        for ((i = 0; i < 256; i++)); do
            printf -v 'IT_HEX[i]' '\\x%02x' "$i"
        done
    fi
    while [ "$n" -gt 0 ]; do
        buf=""
        for ((i = 0; i < 4096 && n > 0; i++, n--)); do
            x=$(((x * 1664525 + 1013904223) & 0xFFFFFFFF))
            buf+="${IT_HEX[x >> 24]}"
        done
        printf '%b' "$buf" >>"$file"
    done
    [ "$(stat -c %s "$file")" -eq "$size" ]
}

# Staging slot offset, read from the flash map documented in the POSIX port header.
it_staging_offset() {
    local hdr="$IT_SRC_DIR/port/posix/include/cellota_posix/cellota_posix.h" hex=""
    if [ -f "$hdr" ]; then
        hex="$(sed -n 's/^ \*[[:space:]]*0x\([0-9A-Fa-f]*\)[[:space:]]*\.\..*staging slot.*/\1/p' "$hdr" | head -n 1)"
    fi
    echo $((16#${hex:-2000}))
}

# it_check_staged FLASH IMAGE: the staging slot of FLASH starts with IMAGE.
it_check_staged() {
    local flash="$1" image="$2" off size
    off="$(it_staging_offset)"
    size="$(stat -c %s "$image")"
    [ -f "$flash" ] || { it_fail "flash file $flash is missing"; return 1; }
    if cmp -s -n "$size" -i "$off:0" "$flash" "$image"; then
        return 0
    fi
    it_fail "the staging slot (offset $off) of $flash differs from $image: $(cmp -n "$size" -i "$off:0" "$flash" "$image" 2>&1 | head -n 1)"
    return 1
}

# Capture status messages: a subscriber on cellota/+/status into $IT_TMP/status.log,
# proven subscribed (a probe it must receive) before returning.
it_status_start() {
    local i
    it_spawn status mosquitto_sub -h "$IT_HOST" -p "$IT_PORT" -v -q 1 -W 600 -t 'cellota/+/status'
    IT_STATUS_PID=$IT_LAST_PID
    for ((i = 0; i < 20; i++)); do
        mosquitto_pub -h "$IT_HOST" -p "$IT_PORT" -t "cellota/_probe_/status" -m probe 2>/dev/null
        if it_wait_for "$IT_TMP/status.log" '^cellota/_probe_/status probe' 1 "$IT_STATUS_PID"; then
            return 0
        fi
        it_is_running "$IT_STATUS_PID" || break
    done
    it_show "$IT_TMP/status.log"
    it_die "the status subscriber (mosquitto_sub) did not start"
}

# it_status_wait SECS [TOPIC-REGEX]: wait for a status message (not the probe);
# the payload goes to $IT_STATUS (empty if none came).
it_status_wait() {
    local secs="$1" re="${2:-^cellota/[0-9A-Za-z][^ ]*/status }"
    IT_STATUS=""
    if it_wait_for "$IT_TMP/status.log" "$re" "$secs"; then
        IT_STATUS="$(grep -v '^cellota/_probe_/' "$IT_TMP/status.log" | grep -E -- "$re" | head -n 1 |
            cut -d' ' -f2-)"
    fi
    [ -n "$IT_STATUS" ]
}

# it_expect_status IMEI CODE [TEXT]: the status message of IMEI carries
# "OTA code CODE:" (and TEXT after it).
it_expect_status() {
    local imei="$1" code="$2" text="${3:-}"
    if ! it_status_wait 10 "^cellota/$imei/status "; then
        it_fail "no status message on cellota/$imei/status"
        return 1
    fi
    case "$IT_STATUS" in
    *"\"IMEI\":\"$imei\""*"\"Message\":\"OTA code $code: "*"$text"*)
        it_log "status message: $IT_STATUS"
        ;;
    *)
        it_fail "status message is not for code $code${text:+ ($text)}: $IT_STATUS"
        return 1
        ;;
    esac
}

# it_make_package PACK SIZE SEED TEXT [FORMAT]: image $IT_TMP/image.bin (SIZE bytes,
# TEXT first, see it_gen_image) and its package $IT_TMP/package.bin made by the
# pack tool PACK (in FORMAT, or its default); the tool's output in $IT_TMP/pack.log.
it_make_package() {
    local pack="$1" size="$2" seed="$3" text="$4" pack_opts=()
    [ $# -lt 5 ] || pack_opts=(--format "$5")
    it_gen_image "$IT_TMP/image.bin" "$size" "$seed" "$text" ||
        it_die "cannot generate the image"
    "$pack" "${pack_opts[@]}" --out "$IT_TMP/package.bin" "$IT_TMP/image.bin" >"$IT_TMP/pack.log" 2>&1 ||
        { it_show "$IT_TMP/pack.log"; it_die "cellota-pack failed"; }
}

# it_start_server SERVER ARGS...: the demo server SERVER on the private broker
# with ARGS; waits until it is subscribed. Its pid in SERVER_PID.
it_start_server() {
    local server="$1"
    shift
    it_spawn server "$server" --host "$IT_HOST" --port "$IT_PORT" "$@"
    SERVER_PID=$IT_LAST_PID
    it_wait_for "$IT_TMP/server.log" '^server: ready' 10 "$SERVER_PID" ||
        { it_show "$IT_TMP/server.log"; it_die "cellota-server did not get ready"; }
}

# Print a file's last lines, indented, to stderr (context for a failure).
it_show() {
    local file="$1" lines="${2:-25}"
    [ -f "$file" ] || return 0
    echo "---- $(basename "$file") (last $lines lines) ----" >&2
    tail -n "$lines" "$file" | sed 's/^/    /' >&2
}
