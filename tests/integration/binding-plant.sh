#!/usr/bin/env bash
# The plant model reaches the engine the way all factory data does: from a
# real AAS server (BaSyx Python SDK server) through the manifest
# config/models/nsga2-builtin.yaml (optional source PlantModel -> scenario key
# "plant"). The seed factory plus a generated PlantModel environment: the
# bound scenario holds the plant section as written into the AAS Property, and
# the engine's answer on it follows the plant's asOf and calendar. Without the
# PlantModel shell (the seed factory alone) the optional source is skipped and
# the scenario has no plant.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/binding.lib"

bt_init binding-plant
models=$BT_DIR/models
mkdir -p "$models/seed" "$models/plant"
cp "$QG_ROOT"/factory/seed-factory/*.json "$models/seed/"
cp "$QG_ROOT"/factory/seed-factory/*.json "$models/plant/"
python3 "$QG_ROOT/factory/gen-plant" 4 "$BT_DIR/gen" >/dev/null
cp "$BT_DIR/gen/model/PlantModel.json" "$models/plant/"
jq '.QueryGoal.selectedModel.metaDataFile = "nsga2-builtin.yaml"' \
    "$QG_ROOT/tests/data/aas/goal-routing.json" >"$BT_DIR/goal.json"

"$QG_ROOT/scripts/aas-server" install --impl basyx-python >/dev/null
bt_server basyx-python "$models/plant"
out=$BT_DIR/plant.json
bt_run "$out" "$BT_URL" "$BT_DIR/goal.json" "$QG_ROOT/config/models" || true
bt_check "builtin manifest with the PlantModel shell: gate passes" \
    bt_jq "$out" '.executionLog.stages[-1].gate.passed'
bt_check "the scenario's plant section is the generated one" \
    bash -c "diff <(jq -S '.executionLog.stages[-1].result.scenario.plant' '$out') \
                  <(jq -S '.plant' '$BT_DIR/gen/scenario.json') >/dev/null"
jq '.executionLog.stages[-1].result.scenario' "$out" >"$BT_DIR/scenario.json"
"$QG_BUILD/bin/qg-sim" run --scenario "$BT_DIR/scenario.json" --product P-1001 --quantity 10 \
    --generations 10 --json --quiet --out "$BT_DIR/answer.json"
bt_check "the answer counts from the plant's asOf and follows its calendar" \
    bt_jq "$BT_DIR/answer.json" '.asOf == "2026-12-01T06:00:00Z" and
        ([.productionPlan.machines[] | select((.offShift | length) > 0)] | length == 4)'
bt_stop basyx-python

bt_server basyx-python "$models/seed"
out=$BT_DIR/seed.json
bt_run "$out" "$BT_URL" "$BT_DIR/goal.json" "$QG_ROOT/config/models" || true
bt_check "the seed factory alone: gate passes, the optional PlantModel is skipped" \
    bt_jq "$out" '.executionLog.stages[-1].gate.passed and
        (.executionLog.stages[-1].result.scenario | has("plant") | not)'
bt_finish
