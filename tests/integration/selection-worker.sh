#!/usr/bin/env bash
# The selection worker (qg-selection) on the embedded mock cluster: real goals
# in, the enriched goals out. Asserts the default rules pick NSGA2SimulatorModel
# for the sample goal3 goal (with an absolute manifest path and provenance),
# the fast model for optimizationMode=fast and small orders, a pre-selected
# model is kept, an unknown one and an unknown goal type are dead-lettered with
# their class and reason, and a broken rules file stops the worker at start
# with file:line:column before it connects to Kafka.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"

qgk_init selection
for b in qg-selection qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done
command -v jq >/dev/null || qg_die "jq is needed"
qgk_broker_mock

# The worker, launched so that its pid and exit code land in $QGK_DIR/sel/ (kept
# apart from the pass-through workers that pipeline.sh manages and restarts).
SEL=$QGK_DIR/sel
mkdir -p "$SEL"
start_selection() {
    QGK_LOG="$QGK_DIR/log/selection.log" QGK_PIDF="$SEL/pid" QGK_RCF="$SEL/rc" \
        bash -c '"$@" 2>>"$QGK_LOG" & echo $! >"$QGK_PIDF.t"; mv "$QGK_PIDF.t" "$QGK_PIDF"; wait $!; echo $? >"$QGK_RCF.t"; mv "$QGK_RCF.t" "$QGK_RCF"' \
        qgk-launch "$QGK_BIN/qg-selection" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" \
        --worker-id selection-1 "$@" </dev/null >/dev/null 2>&1 &
    qg_wait_for "qg-selection to start" 10 test -s "$SEL/pid"
}
selection_alive() {
    qgk_running "$(cat "$SEL/pid")"
}
selection_stop() {
    kill -TERM "$(cat "$SEL/pid")" 2>/dev/null || true
    qg_wait_for "qg-selection to exit" 30 test -e "$SEL/rc" && [ "$(cat "$SEL/rc")" = 0 ]
}
selection_cleanup() {
    local pid
    pid=$(cat "$SEL/pid" 2>/dev/null) || return 0
    if qgk_running "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        qg_wait_for "qg-selection to exit" 15 test -e "$SEL/rc" || kill -KILL "$pid" 2>/dev/null
    fi
    return 0
}
trap 'rc=$?; selection_cleanup; (exit $rc); qgk_cleanup' EXIT

# goal FILE-ID JQ-FILTER: a one-stage variant of the sample goal, written to $QGK_DIR/FILE-ID.json.
goal() {
    jq --arg id "sel-$1-$$" ".QueryGoal.goalId = \$id | .QueryGoal.metadata.pipelineStages = [\"swrlSelection\"] | $2" \
        "$QG_ROOT/tests/data/goals/goal3-p1001.json" >"$QGK_DIR/$1.json"
}

submit() {
    "$QGK_BIN/qgctl" submit "$QGK_DIR/$1.json" --wait --json --timeout 60 -b "$QGK_BOOTSTRAP" \
        --topic-prefix "$QGK_PREFIX" >"$QGK_DIR/$1.out" 2>"$QGK_DIR/$1.err"
}

# selected ID MODEL: the goal completed with this model.
selected() {
    submit "$1" || { cat "$QGK_DIR/$1.err" >&2; return 1; }
    [ "$(jq -r '.QueryGoal.selectedModel.modelId' "$QGK_DIR/$1.out")" = "$2" ] ||
        { jq -c '.QueryGoal.selectedModel.modelId, .executionLog.stages' "$QGK_DIR/$1.out" >&2; return 1; }
}

# dead_lettered ID TEXT: the goal went to the DLQ and the reason mentions TEXT.
dead_lettered() {
    ! submit "$1" || { qg_say "$1 was not dead-lettered"; return 1; }
    grep -q -- "$2" "$QGK_DIR/$1.err" || { cat "$QGK_DIR/$1.err" >&2; return 1; }
}

provenance_ok() {
    local out=$QGK_DIR/default.out mf
    mf=$(jq -r '.QueryGoal.selectedModel.metaDataFile' "$out")
    [ "${mf:0:1}" = / ] && [ -r "$mf" ] &&
        [ "$(jq -r '.QueryGoal.selectedModel.runner.type' "$out")" = builtin ] &&
        [ "$(jq -r '.executionLog.stages[0].result.rule' "$out")" = goal3_production_time ] &&
        [ "$(jq -r '.executionLog.stages[0].result.candidates | length' "$out")" = 2 ] &&
        [ "$(jq -r '.executionLog.stages[0].gate.passed' "$out")" = true ]
}

# A broken rules file: the worker must exit non-zero at once, naming file:line:column,
# without contacting Kafka (the bootstrap address is a closed port).
broken_rules_stop() {
    local rules=$QGK_DIR/broken.swrl rc=0
    printf '# broken\nr1: QueryGoal(?g) -> selectedModel(?g, ?m)\n' >"$rules"
    timeout 20 "$QGK_BIN/qg-selection" -b 127.0.0.1:1 -X rules.file="$rules" \
        >"$QGK_DIR/broken.out" 2>"$QGK_DIR/broken.err" || rc=$?
    [ "$rc" != 0 ] && [ "$rc" != 124 ] &&
        grep -q "$rules:2:22: unsafe rule: variable ?m in the head is not bound" "$QGK_DIR/broken.err" ||
        { qg_say "exit $rc"; cat "$QGK_DIR/broken.err" >&2; return 1; }
}

start_selection -X registry.file="$QG_ROOT/config/registry.yaml" -X rules.file="$QG_ROOT/config/rules.swrl"

goal default '.'
goal fast '.QueryGoal.parameters += [{"key": "optimizationMode", "value": "fast"}]'
goal small '.QueryGoal.parameters[1].value = 2'
goal pre '.QueryGoal.selectedModel = "FastDispatchEstimator"'
goal ghost '.QueryGoal.selectedModel = "GhostModel"'
goal unknown '.QueryGoal.goalType = "goal8_count_sheep"'

qgk_check "sample goal3 goal -> NSGA2SimulatorModel" selected default NSGA2SimulatorModel
qgk_check "selectedModel carries runner and absolute metaDataFile; result has rule, candidates, gate" provenance_ok
qgk_check "optimizationMode=fast -> FastDispatchEstimator" selected fast FastDispatchEstimator
qgk_check "quantity 2 -> FastDispatchEstimator" selected small FastDispatchEstimator
qgk_check "pre-selected known model is kept" selected pre FastDispatchEstimator
qgk_check "pre-selected unknown model -> DLQ bad_input" dead_lettered ghost "unknown model 'GhostModel'"
qgk_check "no rule fires -> DLQ gate_failed naming the goal type" dead_lettered unknown "goal8_count_sheep"
qgk_check "worker still running" selection_alive
qgk_check "broken rules file stops the worker at start with file:line:column" broken_rules_stop
qgk_check "worker exits 0 on SIGTERM" selection_stop
qgk_finish
