#!/usr/bin/env bash
# `qgctl stage`: one stage's run + gate on a goal file, no Kafka. Exit 0 and the
# enriched goal when the gate passes; exit 1 with the gate's reason when it
# fails; exit 2 for bad input.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
BIN="$QG_BUILD/bin"
DIR=$(mktemp -d /tmp/qg-stage.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
GOAL="$QG_ROOT/tests/data/goals/goal3-p1001.json"
OPTS=(--registry-file "$QG_ROOT/config/registry.yaml" --rules-file "$QG_ROOT/config/rules.swrl")

"$BIN/qgctl" stage swrlSelection "$GOAL" "${OPTS[@]}" >"$DIR/out.json" 2>"$DIR/err"
check "swrlSelection passes on the sample goal (exit $?)" test -s "$DIR/out.json"
check "... and names the selected model with its manifest" \
    jq -e '.QueryGoal.selectedModel.modelId == "NSGA2SimulatorModel" and (.QueryGoal.selectedModel.metaDataFile | endswith(".yaml"))' "$DIR/out.json"
check "... and logs the stage with a passed gate" \
    jq -e '.executionLog.stages[0] | .stage == "swrlSelection" and .gate.passed' "$DIR/out.json"

jq '.QueryGoal.goalType = "goal9_unheard_of"' "$GOAL" >"$DIR/unknown.json"
"$BIN/qgctl" stage swrlSelection "$DIR/unknown.json" "${OPTS[@]}" >"$DIR/out2.json" 2>"$DIR/err2"
rc=$?
check "a goal no rule selects a model for exits 1" test $rc -eq 1
check "... with the gate's reason naming the goal type" grep -q 'gate_failed: .*goal9_unheard_of' "$DIR/err2"

echo '{"QueryGoal":{"goalId":"x"}}' | "$BIN/qgctl" stage swrlSelection - "${OPTS[@]}" >/dev/null 2>"$DIR/err3"
rc=$?
check "bad input exits 2 with the JSON path" bash -c "test $rc -eq 2 && grep -q 'QueryGoal.goalType' '$DIR/err3'"

"$BIN/qgctl" stage noSuchStage "$GOAL" >/dev/null 2>"$DIR/err4"
check "an unknown stage is refused with the list of stages" grep -q 'yamlBinding' "$DIR/err4"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
