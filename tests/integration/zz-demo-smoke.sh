#!/usr/bin/env bash
# The README's first command, end to end: scripts/demo with the default goal on
# the embedded broker, a real AAS server with the sample factory and all five
# workers. Asserts a real answer (estimated time, confidence, plan, bottlenecks)
# and a report, then asks the Korean cooling question of the README and compares
# its failures with the ones computed from the demo's factory files, and that
# the demo left no process behind.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
OUT=$(mktemp /tmp/qg-demo.XXXXXX)
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
"$QG_ROOT/scripts/demo" >"$OUT" 2>&1
rc=$?
check "scripts/demo exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -n 40 "$OUT"
ANSWER=$(sed -n 's/^enriched goal: //p' "$OUT")
REPORT=$(sed -n 's/^report: //p' "$OUT")
check "the answer is printed in human units" \
    grep -Eq '^answer +estimated time [0-9][0-9.]*(d|h|m|s| s| ms)[0-9dhms ]* \([0-9]+ s\)' "$OUT"
check "the enriched goal has a real estimatedTime, plan and bottlenecks; deterministic seed: confidence null" \
    jq -e '.QueryGoal.outputs | (.estimatedTime > 0) and (.confidence == null)
        and (.confidenceBasis == "deterministic")
        and ([.warnings[] | select(test("welding on M2"))] | length == 1)
        and ((.productionPlan.operations // .productionPlan) | length > 0)
        and (.bottlenecks | length > 0)' "$ANSWER"
check "the goal went through selection, binding and simulation in order" \
    jq -e '[.executionLog.stages[].stage] == ["swrlSelection","yamlBinding","simulation"]' "$ANSWER"
check "an HTML report was written" test -s "$REPORT"
"$QG_ROOT/scripts/demo" "어제 M2 기계 냉각 고장 조회" >"$OUT" 2>&1
rc=$?
check "scripts/demo \"어제 M2 기계 냉각 고장 조회\" exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -n 40 "$OUT"
ANSWER=$(sed -n 's/^enriched goal: //p' "$OUT")
want=$(python3 "$QG_ROOT/tests/data/query/expected.py" "$(dirname "$ANSWER")/factory" goal1 M2 \
    "$(date -u -d yesterday +%F)" | jq -c .alarmIds)
check "the cooling answer lists yesterday's M2 failures ($want)" \
    test "$(jq -c '[.QueryGoal.outputs.failures[].alarmId]' "$ANSWER")" = "$want"
check "the answer is printed" grep -Eq '^answer +[1-9][0-9]* cooling failures?$' "$OUT"
check "the web console's URL is printed" grep -Eq '^console: http://127\.0\.0\.1:[0-9]+/console/$' "$OUT"
leftover() { # this checkout's binaries only: the machine may run other checkouts' demos
    local p
    for p in qg-selection qg-binding qg-simulation qg-aasquery qg-datafiltering qg-events qg-broker qg-gateway; do
        pgrep -f "^$QG_BUILD/bin/$p( |\$)" >/dev/null && return 0
    done
    return 1
}
check "no demo process left running" bash -c "QG_BUILD='$QG_BUILD'; $(declare -f leftover); ! leftover"
rm -f "$OUT"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
