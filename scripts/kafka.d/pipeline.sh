# shellcheck shell=bash
# Helpers for the Kafka integration tests and scripts/bench-pipeline: a broker
# (real or mock), pass-through stage workers, crash injection, checks.
# Source it after scripts/lib.sh. State lives in $QGK_DIR (a temp dir).
#
#   qgk_init NAME                  temp dir, unique topic prefix, cleanup trap
#   qgk_broker_real | qgk_broker_mock   sets QGK_BOOTSTRAP
#   qgk_worker_start STAGE IDX [-X k=v ...]   one pass-through worker "STAGE-IDX"
#   qgk_chaos_start MIN_S MAX_S    kill -9 a random worker every MIN..MAX s, restart it
#   qgk_chaos_stop                 stops it; QGK_KILLS = number of kills
#   qgk_workers_alive              all workers running?
#   qgk_workers_stop               SIGTERM all; fails unless every one exits 0
#   qgk_check DESC COMMAND...      counts a passed/failed check
#   qgk_finish                     prints "N passed, N failed", exits accordingly

QGK_PASSED=0
QGK_FAILED=0
QGK_WORKER_ARGS=()
QGK_STARTED_REAL=
QGK_MOCK_PID=
QGK_CHAOS_PID=
# The broker's port. Workers read QG_KAFKA_* as librdkafka properties: keep
# QG_KAFKA_PORT out of their environment.
QGK_KAFKA_PORT=${QG_BROKER_PORT:-${QG_KAFKA_PORT:-9092}}
unset QG_KAFKA_PORT

qgk_init() {
    local name=$1
    QGK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qg-$name.XXXXXX")
    mkdir -p "$QGK_DIR/pid" "$QGK_DIR/rc" "$QGK_DIR/log"
    QGK_PREFIX="qgt-$name-$$-$RANDOM"
    QGK_BIN=${QG_BUILD:-$QG_ROOT/build}/bin
    [ -x "$QGK_BIN/qg-loadgen" ] || qg_die "$QGK_BIN/qg-loadgen not built"
    [ -x "$QGK_BIN/qg-test-passthrough" ] || qg_die "$QGK_BIN/qg-test-passthrough not built"
    trap qgk_cleanup EXIT
    trap 'exit 130' INT TERM
}

qgk_cleanup() {
    local rc=$?
    qgk_chaos_stop || true
    qgk_workers_kill
    if [ -n "$QGK_MOCK_PID" ]; then
        kill -TERM "$QGK_MOCK_PID" 2>/dev/null || true
        wait "$QGK_MOCK_PID" 2>/dev/null || true
    fi
    [ -n "$QGK_STARTED_REAL" ] &&
        QG_BROKER_PORT=$QGK_KAFKA_PORT "$QG_ROOT/scripts/kafka" stop >/dev/null 2>&1
    if [ "$rc" = 0 ] && [ -z "${QG_KEEP_LOGS:-}" ]; then
        rm -rf "$QGK_DIR"
    else
        qg_say "logs kept in $QGK_DIR"
    fi
    exit "$rc"
}

# Is something listening on 127.0.0.1:PORT?
qgk_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Use the real broker: the running one, else start it (and stop it at exit). When
# the port is taken by something else (another checkout's broker), use a free one.
qgk_broker_real() {
    if QGK_BOOTSTRAP=$(QG_BROKER_PORT=$QGK_KAFKA_PORT "$QG_ROOT/scripts/kafka" status 2>/dev/null); then
        qg_say "using the running Kafka broker at $QGK_BOOTSTRAP"
    else
        while qgk_port_busy "$QGK_KAFKA_PORT" || qgk_port_busy $((QGK_KAFKA_PORT + 1)); do
            QGK_KAFKA_PORT=$((19092 + 2 * (RANDOM % 500)))
        done
        QGK_BOOTSTRAP=$(QG_BROKER_PORT=$QGK_KAFKA_PORT "$QG_ROOT/scripts/kafka" start) ||
            qg_die "cannot start Kafka"
        QGK_STARTED_REAL=1
    fi
    export QG_BOOTSTRAP=$QGK_BOOTSTRAP
}

# Start the embedded mock cluster (qg-broker); its first stdout line is the bootstrap list.
qgk_broker_mock() {
    "$QGK_BIN/qg-broker" "$@" >"$QGK_DIR/log/broker.out" 2>"$QGK_DIR/log/broker.err" &
    QGK_MOCK_PID=$!
    qg_wait_for "qg-broker bootstrap line" 20 test -s "$QGK_DIR/log/broker.out" ||
        qg_die "qg-broker printed no bootstrap list"
    QGK_BOOTSTRAP=$(head -n1 "$QGK_DIR/log/broker.out")
    export QG_BOOTSTRAP=$QGK_BOOTSTRAP
    qg_say "mock cluster at $QGK_BOOTSTRAP"
}

# Start worker STAGE-IDX through a launcher that records its pid and exit code.
qgk_worker_start() {
    local stage=$1 idx=$2 name=$1-$2
    shift 2
    rm -f "$QGK_DIR/rc/$name" "$QGK_DIR/pid/$name"
    QGK_LOG="$QGK_DIR/log/$name.log" QGK_PIDF="$QGK_DIR/pid/$name" QGK_RCF="$QGK_DIR/rc/$name" \
        bash -c '"$@" 2>>"$QGK_LOG" & echo $! >"$QGK_PIDF.t"; mv "$QGK_PIDF.t" "$QGK_PIDF"; wait $!; echo $? >"$QGK_RCF.t"; mv "$QGK_RCF.t" "$QGK_RCF"' \
        qgk-launch "$QGK_BIN/qg-test-passthrough" --stage "$stage" -b "$QGK_BOOTSTRAP" \
        --topic-prefix "$QGK_PREFIX" --worker-id "$name" "${QGK_WORKER_ARGS[@]}" "$@" \
        </dev/null >/dev/null 2>&1 &
    qg_wait_for "worker $name to start" 10 test -s "$QGK_DIR/pid/$name"
}

# qgk_workers_start "passA passB passC" N: N workers per stage.
qgk_workers_start() {
    local stage i
    for stage in $1; do
        for ((i = 1; i <= $2; i++)); do qgk_worker_start "$stage" "$i"; done
    done
}

qgk_worker_names() {
    ls "$QGK_DIR/pid" 2>/dev/null
}

# Is the process running (and not a zombie)?
qgk_running() {
    local pid=$1 state
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

qgk_workers_alive() {
    local n dead=0
    for n in $(qgk_worker_names); do
        if ! qgk_running "$(cat "$QGK_DIR/pid/$n")"; then
            qg_say "worker $n is not running (exit code $(cat "$QGK_DIR/rc/$n" 2>/dev/null))"
            dead=1
        fi
    done
    return $dead
}

# Kill -9 one random worker, wait until it is gone, restart it with the same id.
qgk_chaos_kill_one() {
    local names n pid stage idx
    mapfile -t names < <(qgk_worker_names)
    n=${names[RANDOM % ${#names[@]}]}
    pid=$(cat "$QGK_DIR/pid/$n")
    kill -KILL "$pid" 2>/dev/null || true
    qg_wait_for "worker $n to die" 10 test -e "$QGK_DIR/rc/$n"
    echo "$(date +%T.%N | cut -c1-12) kill -9 $n (pid $pid)" >>"$QGK_DIR/chaos.log"
    stage=${n%-*} idx=${n##*-}
    qgk_worker_start "$stage" "$idx"
}

qgk_chaos_start() {
    local min=$1 max=$2
    : >"$QGK_DIR/chaos.log"
    rm -f "$QGK_DIR/chaos.stop"
    (
        local pause
        while [ ! -e "$QGK_DIR/chaos.stop" ]; do
            # Wait MIN..MAX seconds in short steps so a stop request is seen quickly.
            pause=$(awk -v a="$min" -v b="$max" -v r="$RANDOM" 'BEGIN{printf "%d", (a+(b-a)*r/32767)*5}')
            while [ "$pause" -gt 0 ] && [ ! -e "$QGK_DIR/chaos.stop" ]; do
                sleep 0.2
                pause=$((pause - 1))
            done
            [ -e "$QGK_DIR/chaos.stop" ] || qgk_chaos_kill_one
        done
    ) &
    QGK_CHAOS_PID=$!
}

# Stop the chaos loop (it finishes a kill-and-restart in progress first) and set
# QGK_KILLS to the number of workers it killed. Run it in this shell, not in $(...).
qgk_chaos_stop() {
    QGK_KILLS=0
    [ -n "$QGK_CHAOS_PID" ] || return 0
    touch "$QGK_DIR/chaos.stop"
    wait "$QGK_CHAOS_PID" 2>/dev/null || true
    QGK_CHAOS_PID=
    QGK_KILLS=$(grep -c "kill -9" "$QGK_DIR/chaos.log" 2>/dev/null) || QGK_KILLS=0
}

# Has every worker, since its last start, received a partition assignment (its log
# says "assigned N partition(s)" after "stage ... consuming")? librdkafka 2.0.2 with
# the cooperative-sticky assignor aborts in rd_kafka_destroy when a consumer is
# closed before its first assignment (librdkafka issue 4312, fixed in 2.3.0), so
# the tests let restarted workers join before stopping them.
qgk_workers_assigned() {
    local n
    for n in $(qgk_worker_names); do
        awk '/"msg":"stage .* consuming / { a = 0 } /"msg":"assigned / { a = 1 } END { exit !a }' \
            "$QGK_DIR/log/$n.log" || return 1
    done
}

# SIGTERM every worker; succeed only if each exits 0 within 30 s.
qgk_workers_stop() {
    local n bad=0 rc
    for n in $(qgk_worker_names); do
        kill -TERM "$(cat "$QGK_DIR/pid/$n")" 2>/dev/null || true
    done
    for n in $(qgk_worker_names); do
        if ! qg_wait_for "worker $n to exit" 30 test -e "$QGK_DIR/rc/$n"; then
            bad=1
            continue
        fi
        rc=$(cat "$QGK_DIR/rc/$n")
        [ "$rc" = 0 ] || { qg_say "worker $n exited with $rc"; bad=1; }
    done
    return $bad
}

qgk_workers_kill() {
    local n pid
    for n in $(qgk_worker_names); do
        pid=$(cat "$QGK_DIR/pid/$n" 2>/dev/null)
        qgk_running "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    for n in $(qgk_worker_names); do
        qg_wait_for "worker $n to exit" 15 test -e "$QGK_DIR/rc/$n" ||
            kill -KILL "$(cat "$QGK_DIR/pid/$n")" 2>/dev/null || true
    done
}

qgk_check() {
    local desc=$1
    shift
    if "$@"; then
        QGK_PASSED=$((QGK_PASSED + 1))
        echo "ok - $desc"
    else
        QGK_FAILED=$((QGK_FAILED + 1))
        echo "not ok - $desc"
    fi
}

qgk_finish() {
    echo "$QGK_PASSED passed, $QGK_FAILED failed"
    [ "$QGK_FAILED" = 0 ]
}
