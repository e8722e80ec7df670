#!/usr/bin/env bash
# Seed manifest x seed factory on two real AAS servers (FA³ST Service and the
# BaSyx Python SDK server): the scenario is correct (equal to the expected
# content computed from the seed files), identical on both servers, each
# distinct submodel is fetched once, the work dir keeps the scenario files,
# shell_filter discovery works, a scenario above the inline limit goes to the
# shared directory as a claim check whose sha256 matches, and the well-modelled
# variant of the factory (collections and lists instead of JSON strings) gives
# the same scenario. The fixtures pass the official AAS schema.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/binding.lib"

bt_init binding-seed
DATA=$QG_ROOT/tests/data
EXPECTED=$DATA/aas/expected-scenario-P-1001.json
SEED_REG=$QG_SHARED/seed-formats

same_json() { diff <(jq -S "$1" "$2") <(jq -S "$3" "$4") >/dev/null; }

"$QG_ROOT/scripts/aas-server" install --impl basyx-python
PY=$QG_CACHE/py/bin/python
bt_check "factory/seed-factory passes the official AAS v3.0.1 JSON schema" \
    "$PY" "$QG_ROOT/factory/check-schema" "$QG_ROOT/factory/seed-factory"
bt_check "the shared seed files do not (they are the quirky originals)" \
    bash -c "! '$PY' '$QG_ROOT/factory/check-schema' '$QG_SHARED/factory/seed-factory' >/dev/null"
bt_check "manifests (seed and ours) pass schemas/manifest.schema.json" \
    "$PY" "$QG_ROOT/factory/check-manifest" "$SEED_REG/NSGA2Model_sources.yaml" "$DATA"/manifests/*.yaml

for impl in faaast basyx-python; do
    bt_server "$impl" "$QG_ROOT/factory/seed-factory"
    url=$BT_URL

    out=$BT_DIR/$impl-seed.json
    bt_run "$out" "$url" "$DATA/aas/goal.json" "$SEED_REG" || true
    bt_check "$impl: seed manifest runs, gate passes" \
        bt_jq "$out" '.bindingTest.class == "ok" and .executionLog.stages[-1].gate.passed'
    bt_check "$impl: seed scenario equals the expected content (without routing)" \
        same_json '.executionLog.stages[-1].result.scenario' "$out" 'del(.routing)' "$EXPECTED"
    bt_check "$impl: machines typed (efficiency a number, not a string)" \
        bt_jq "$out" '[.executionLog.stages[-1].result.scenario.machines[].efficiency | type] == ["number","number","number","number"]'
    bt_check "$impl: 9 distinct submodels, 9 requests (one per submodel)" \
        bt_jq "$out" '.executionLog.stages[-1].result | .submodels == 9 and .requests == 9'
    bt_check "$impl: legacy sources block warned about" \
        bt_jq "$out" '.executionLog.stages[-1].result.warnings | map(test("legacy .sources.")) | any'
    bt_check "$impl: work dir keeps jobs.json ... machines.json" \
        bash -c "d=\$(jq -r '.executionLog.stages[-1].result.workDir' $out); for f in jobs operations operation_durations machine_transfer_time job_release machines; do jq -e . \"\$d/\$f.json\" >/dev/null || exit 1; done"

    out=$BT_DIR/$impl-routing.json
    bt_run "$out" "$url" "$DATA/aas/goal-routing.json" "$DATA/manifests" || true
    bt_check "$impl: routing manifest: scenario equals expected (routing of P-1001 via \${param:productType|idShort})" \
        same_json '.executionLog.stages[-1].result.scenario' "$out" '.' "$EXPECTED"

    out=$BT_DIR/$impl-filter.json
    jq '.QueryGoal.selectedModel.metaDataFile = "shell-filter.yaml"' "$DATA/aas/goal.json" >"$BT_DIR/goal-filter.json"
    bt_run "$out" "$url" "$BT_DIR/goal-filter.json" "$DATA/manifests" || true
    bt_check "$impl: shell_filter finds M1..M4 through paged /shells" \
        bt_jq "$out" '[.executionLog.stages[-1].result.scenario.machines[].machine_id] | sort == ["M1","M2","M3","M4"]'

    out=$BT_DIR/$impl-bulk.json
    bt_run "$out" "$url" "$DATA/aas/goal-routing.json" "$DATA/manifests" "aas.bulk.min.submodels=1" || true
    bt_check "$impl: paged /submodels listing (aas.bulk.min.submodels=1): same scenario, fewer requests" \
        bash -c "same_json() { diff <(jq -S \"\$1\" \"\$2\") <(jq -S \"\$3\" \"\$4\") >/dev/null; }
                 same_json '.executionLog.stages[-1].result.scenario' $out '.' $EXPECTED &&
                 jq -e '.executionLog.stages[-1].result.requests < 9' $out >/dev/null"

    out=$BT_DIR/$impl-claim.json
    bt_run "$out" "$url" "$DATA/aas/goal-routing.json" "$DATA/manifests" \
        "binding.inline.max.bytes=1000
binding.shared.dir=$BT_DIR/shared" || true
    bt_check "$impl: large scenario -> claim check (no inline scenario, file sha256 matches)" \
        bash -c "jq -e '.executionLog.stages[-1].result | (.scenario == null) and (.scenarioRef.path | length > 0)' $out >/dev/null &&
                 p=\$(jq -r '.executionLog.stages[-1].result.scenarioRef.path' $out) &&
                 [ \"\$(sha256sum < \"\$p\" | cut -c1-64)\" = \"\$(jq -r '.executionLog.stages[-1].result.scenarioRef.sha256' $out)\" ] &&
                 [ \"\$(stat -c %s \"\$p\")\" = \"\$(jq -r '.executionLog.stages[-1].result.scenarioRef.bytes' $out)\" ]"
    bt_check "$impl: claim-check file holds the expected scenario" \
        bash -c "p=\$(jq -r '.executionLog.stages[-1].result.scenarioRef.path' $out); diff <(jq -S . \"\$p\") <(jq -S . $EXPECTED) >/dev/null"
    bt_stop "$impl"

    # The same factory modelled as collections and lists instead of JSON text.
    bt_server "$impl" "$QG_ROOT/factory/modelled-factory"
    out=$BT_DIR/$impl-modelled.json
    bt_run "$out" "$BT_URL" "$DATA/aas/goal-routing.json" "$DATA/manifests" || true
    bt_check "$impl: well-modelled factory (SMC/SML, no JSON strings) gives the same scenario" \
        same_json '.executionLog.stages[-1].result.scenario' "$out" '.' "$EXPECTED"
    bt_stop "$impl"
done

bt_check "FA³ST and BaSyx Python give the identical scenario" \
    same_json '.executionLog.stages[-1].result.scenario' "$BT_DIR/faaast-routing.json" \
    '.executionLog.stages[-1].result.scenario' "$BT_DIR/basyx-python-routing.json"
bt_finish
