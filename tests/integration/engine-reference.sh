#!/usr/bin/env bash
# The engine's answer against an independent reference (tests/reference/
# replay_plan.py, plain Python, no code shared with lib/engine) on a
# generated plant with every plant-model feature on: shift calendar with
# breaks, a maintenance window, sequence-dependent setups, breakdowns,
# yield, work in progress, spread fitted from job history. 10,000
# replications on each side: the engine's estimatedTime within 2 % of the
# reference median, 80 +- 3 % of reference samples inside the engine's
# [p10, p90], and with a due date the engine's confidence within 0.03 of the
# reference. Also: the generated AAS submodels pass the official schema, the
# answer names the stale machine and the laws fitted from history, and no
# operation of the plan is processed in non-working time.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

sim=$QG_BUILD/bin/qg-sim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); qg_say "ok: $name"; else fail=$((fail + 1)); qg_say "FAILED: $name"; fi
}
jqt() { jq -e "$@" >/dev/null; }
within() { # within A B TOLERANCE: |A - B| <= TOLERANCE
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

[ -x "$sim" ] || qg_die "$sim not built"
python3 "$QG_ROOT/factory/gen-plant" 8 "$work/plant" --seed 1 >/dev/null
sc=$work/plant/scenario.json

"$QG_ROOT/scripts/aas-server" install --impl basyx-python >/dev/null
check "generated plant-model submodels pass the official AAS v3.0.1 JSON schema" \
    "$QG_CACHE/py/bin/python" "$QG_ROOT/factory/check-schema" "$work/plant/model"

run_engine() { # run_engine OUT [extra qg-sim args]
    local out=$1; shift
    "$sim" run --scenario "$sc" --product P-9001 --quantity 12 --lot-size 3 --generations 30 \
        --replications 10000 --json --quiet --out "$out" "$@"
}

run_engine "$work/r.json"
check "qg-sim run exits 0 on the plant" test $? = 0
ref=$(python3 "$QG_ROOT/tests/reference/replay_plan.py" "$sc" "$work/r.json" --replications 10000)
qg_say "engine: $(jq -c '{estimatedTime, percentiles, confidence, confidenceBasis}' "$work/r.json")"
qg_say "reference: $ref"
est=$(jq .estimatedTime "$work/r.json")
med=$(jq .median <<<"$ref")
inside=$(jq .insideEngineP10P90 <<<"$ref")
check "estimatedTime within 2 % of the reference median" \
    within "$est" "$med" "$(awk -v m="$med" 'BEGIN { print 0.02 * m }')"
check "80 +- 3 % of reference samples inside the engine's [p10, p90] ($inside)" \
    within "$inside" 0.80 0.03
check "spread in the data: basis estimatePlusMargin, a probability in (0, 1]" \
    jqt '.confidenceBasis == "estimatePlusMargin" and .confidence > 0 and .confidence <= 1' "$work/r.json"
check "the stale machine is a warning" jqt '[.warnings[] | select(test("M8: data last updated"))] | length == 1' "$work/r.json"
check "six laws fitted from history are named" jqt '.lawsFromHistory | length == 6' "$work/r.json"
check "insert: no existing job moved" jqt '.impact.jobsMoved == 0' "$work/r.json"
check "setups, breakdowns and non-working time are in the plan" jqt '
    ([.productionPlan.operations[] | select(.setup > 0)] | length > 0) and
    ([.productionPlan.machines[] | select(.mtbfMin > 0)] | length > 0) and
    ([.productionPlan.machines[] | select((.offShift | length) > 0)] | length > 0)' "$work/r.json"
check "asOf is the plant's" jqt '.asOf == "2026-12-01T06:00:00Z"' "$work/r.json"
# Nights: the plant works 06:00-22:00 on weekdays; asOf is 06:00, so a start
# in [16 h, 24 h) + k days (from asOf) is in the night.
check "no operation starts in the night" jqt '
    [.productionPlan.operations[] | (.start / 3600) % 24 | select(. >= 16)] | length == 0' "$work/r.json"

due=$(awk -v m="$est" 'BEGIN { printf "%d", m * 1.01 }')
run_engine "$work/d.json" --due "$due"
refd=$(python3 "$QG_ROOT/tests/reference/replay_plan.py" "$sc" "$work/d.json" --replications 10000 --due "$due")
conf=$(jq .confidence "$work/d.json")
rconf=$(jq .dueConfidence <<<"$refd")
qg_say "due $due s: engine confidence $conf, reference $rconf"
check "with a due date: basis dueDate, promiseTime is the due date" \
    jqt ".confidenceBasis == \"dueDate\" and .promiseTime == $due" "$work/d.json"
check "engine confidence within 0.03 of the reference ($conf vs $rconf)" within "$conf" "$rconf" 0.03
check "the confidence is not trivial (between 0.05 and 0.95)" \
    awk -v c="$conf" 'BEGIN { exit !(c > 0.05 && c < 0.95) }'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
