#!/usr/bin/env bash
# `qgctl ask` from the command line: English and Korean requests become valid
# goals with typed parameters; a missing quantity and an unknown request exit 2
# with a helpful message; -o writes the goal to a file that `qgctl stage` accepts.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
BIN="$QG_BUILD/bin"
DIR=$(mktemp -d /tmp/qg-ask.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$QG_ROOT"
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@" >/dev/null; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
"$BIN/qgctl" ask "제품 P-1001 50개 생산 시간 예측" >"$DIR/ko.json"
check "Korean request -> goal3 with productType P-1001 and quantity 50 (a number)" \
    jq -e '.QueryGoal.goalType == "goal3_predict_production_time"
        and ([.QueryGoal.parameters[] | select(.key == "productType")][0].value == "P-1001")
        and ([.QueryGoal.parameters[] | select(.key == "quantity")][0].value == 50)' "$DIR/ko.json"
"$BIN/qgctl" ask "Where is product PRD-7?" -o "$DIR/where.json"
check "-o writes the goal; goal4 with productId PRD-7" \
    jq -e '.QueryGoal.goalType == "goal4_track_product_location"
        and .QueryGoal.parameters[0].value == "PRD-7"' "$DIR/where.json"
"$BIN/qgctl" ask "Predict production time for product P-1001" >/dev/null 2>"$DIR/missing.err"
rc=$?
check "missing quantity exits 2" test $rc -eq 2
check "... and says which parameter is missing" grep -qi 'quantity' "$DIR/missing.err"
"$BIN/qgctl" ask "make me a sandwich" >/dev/null 2>"$DIR/unknown.err"
rc=$?
check "an unknown request exits 2" test $rc -eq 2
check "... listing what can be asked, with examples" \
    bash -c "grep -q goal3_predict_production_time '$DIR/unknown.err' && grep -q 'Where is product' '$DIR/unknown.err'"
"$BIN/qgctl" ask "Predict production time for product P-2001 quantity 120" >"$DIR/en.json"
"$BIN/qgctl" stage swrlSelection "$DIR/en.json" >"$DIR/selected.json" 2>/dev/null
check "the goal it builds passes the selection stage" \
    jq -e '.QueryGoal.selectedModel.modelId | length > 0' "$DIR/selected.json"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
