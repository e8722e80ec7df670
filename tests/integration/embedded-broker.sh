#!/usr/bin/env bash
# The embedded broker with its client settings (config/embedded-broker.properties):
# `qg-broker --topic-prefix` creates the pipeline's topics with --partitions; a
# worker and qgctl take the settings file with -F; goals go through and qgctl sees
# their answer; a second worker of a running stage gets partitions well before
# the mock's default rebalance wait (session.timeout.ms - 1 s = 44 s) would end.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
BIN="$QG_BUILD/bin"
DIR=$(mktemp -d /tmp/qg-embedded.XXXXXX)
PIDS=()
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@" >/dev/null; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
cleanup() {
    local i # newest first: workers before the broker they talk to
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[$i]}" 2>/dev/null
        wait "${PIDS[$i]}" 2>/dev/null
    done
    [ "$fail" -eq 0 ] && rm -rf "$DIR" || echo "kept $DIR"
}
trap cleanup EXIT

PREFIX=qgemb
"$BIN/qg-broker" --topic-prefix "$PREFIX" --partitions 5 >"$DIR/broker.out" 2>/dev/null &
PIDS+=($!)
qg_wait_for "qg-broker" 20 test -s "$DIR/broker.out" || exit 1
X=(-b "$(head -n1 "$DIR/broker.out")" --topic-prefix "$PREFIX" -F "$QG_ROOT/config/embedded-broker.properties")

# A log line "assigned N partition(s)" with N >= 1.
assigned_count() { # LOG: the largest N logged
    jq -r 'select(.msg | test("^assigned [0-9]+ partition")) | .msg | capture("assigned (?<n>[0-9]+)").n' "$1" 2>/dev/null |
        sort -n | tail -n1
}
holds_partitions() { [ "$(assigned_count "$1")" -ge 1 ] 2>/dev/null; }

"$BIN/qg-test-passthrough" "${X[@]}" --stage swrlSelection --worker-id w1 2>"$DIR/w1.log" &
PIDS+=($!)
qg_wait_for "the first worker's partitions" 30 holds_partitions "$DIR/w1.log"
# 5 partitions of swrlSelection and 5 of its retry topic (each in its own group): created at
# start, not auto-created (4 each).
stage_and_retry() { # LOG: "N M", the partitions first assigned of the stage and the retry topic
    local t
    for t in stage retry; do
        jq -r --arg t "$t" 'select(.msg | test("^assigned [0-9]+ partition\\(s\\) of the " + $t + " topic")) |
            .msg | capture("assigned (?<n>[0-9]+)").n' "$1" 2>/dev/null | head -n1
    done | paste -sd' '
}
qg_wait_for "the retry topic's partitions" 30 bash -c "grep -q 'of the retry topic' '$DIR/w1.log'"
check "the pipeline's topics were created at start with --partitions" \
    test "$(stage_and_retry "$DIR/w1.log")" = "5 5"

"$BIN/qg-loadgen" "${X[@]:0:4}" --stages swrlSelection --no-create-topics --count 50 --run-id emb \
    --at-least-once --timeout 60 --settle 0 --json bench >"$DIR/bench.json" 2>"$DIR/bench.err"
check "50 goals pass through the worker to completed" jq -e '.passed == true' "$DIR/bench.json"

echo '{"QueryGoal":{"goalId":"emb-1","goalType":"t","parameters":[],"metadata":{"pipelineStages":["swrlSelection"]}}}' >"$DIR/goal.json"
"$BIN/qgctl" submit "$DIR/goal.json" --wait --json --timeout 60 "${X[@]}" \
    -X events.watch=tcp://127.0.0.1:1 >"$DIR/answer.json" 2>"$DIR/submit.err"
check "qgctl with the settings file gets the answer" \
    jq -e '.QueryGoal.goalId == "emb-1" and .executionLog.status == "completed"' "$DIR/answer.json"

"$BIN/qg-test-passthrough" "${X[@]}" --stage swrlSelection --worker-id w2 2>"$DIR/w2.log" &
PIDS+=($!)
qg_wait_for "the second worker's partitions" 20 holds_partitions "$DIR/w2.log"
check "a second worker of the running stage gets partitions within 20 s" holds_partitions "$DIR/w2.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
