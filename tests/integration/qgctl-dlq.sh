#!/usr/bin/env bash
# `qgctl dlq` on the embedded broker: a goal that fails lands in the DLQ;
# `list` shows it with its class, stage and reason, `show` prints the headers and
# the original value, and `replay` sends it back to the stage that failed, where
# a fixed worker completes it.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
BIN="$QG_BUILD/bin"
DIR=$(mktemp -d /tmp/qg-dlq.XXXXXX)
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

"$BIN/qg-broker" >"$DIR/broker.out" 2>/dev/null &
PIDS+=($!)
qg_wait_for "qg-broker" 20 test -s "$DIR/broker.out" || exit 1
X=(-b "$(head -n1 "$DIR/broker.out")" -X pipeline.extra.stages=passA,passB -X session.timeout.ms=6000
   -X heartbeat.interval.ms=1000)

"$BIN/qg-test-passthrough" "${X[@]}" --stage passA 2>"$DIR/a.log" &
PIDS+=($!)
"$BIN/qg-test-passthrough" "${X[@]}" --stage passB -X passthrough.fail.param=failWith 2>"$DIR/b1.log" &
BROKEN=$!
echo '{"QueryGoal":{"goalId":"dlq-1","goalType":"t","parameters":[{"key":"failWith","value":"stage_error"}],"metadata":{"pipelineStages":["passA","passB"]},"mine":"kept"}}' >"$DIR/goal.json"
"$BIN/qgctl" submit "$DIR/goal.json" --wait --timeout 60 "${X[@]}" >"$DIR/submit.out" 2>&1
check "the goal is dead-lettered by passB as stage_error" grep -q 'dead-lettered (stage_error)' "$DIR/submit.out"

"$BIN/qgctl" dlq list "${X[@]}" >"$DIR/list.out" 2>"$DIR/list.err"
check "dlq list shows goal, class, stage and reason" \
    grep -Eq '^dlq-1 +stage_error +passB .*failure requested by parameter failWith' "$DIR/list.out"
"$BIN/qgctl" dlq show dlq-1 "${X[@]}" >"$DIR/show.out" 2>&1
check "dlq show prints the Kafka Connect headers" \
    bash -c "grep -q '__connect.errors.topic .*querygoal.passB' '$DIR/show.out' && grep -q '__connect.errors.attempts *1' '$DIR/show.out'"
check "... and the original value, unchanged (passA's log entry included)" \
    bash -c "sed -n '/^value\$/,\$p' '$DIR/show.out' | tail -n +2 | jq -e '.QueryGoal.mine == \"kept\" and (.executionLog.stages | length == 1)'"

kill -TERM "$BROKEN"; wait "$BROKEN"
"$BIN/qg-test-passthrough" "${X[@]}" --stage passB 2>"$DIR/b2.log" &
PIDS+=($!)
"$BIN/qgctl" dlq replay dlq-1 --wait --json --timeout 60 "${X[@]}" >"$DIR/replay.json" 2>"$DIR/replay.err"
check "dlq replay sends it to the stage that failed" grep -q 'sent dlq-1 to querygoal.passB' "$DIR/replay.err"
check "... where the fixed worker completes it, passA not re-run" \
    jq -e '.executionLog.status == "completed" and ([.executionLog.stages[] | select(.status == "completed") | .stage] == ["passA","passB"]) and .QueryGoal.mine == "kept"' "$DIR/replay.json"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
