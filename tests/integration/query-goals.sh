#!/usr/bin/env bash
# goal1 (cooling failures) and goal4 (product location) end to end: `qgctl ask`
# in English and Korean, the goals through the real qg-aasquery and
# qg-datafiltering workers on the embedded broker and a real AAS server (FA³ST)
# loaded with the sample factory, its condition and tracking data generated for
# yesterday and today. Expected answers come from tests/data/query/expected.py,
# which reads the environment files directly. "No failure found" completes
# with failureCount 0; an unknown product is dead-lettered with a clear reason.
# Goals with bad parameters are dead-lettered by the first stage as bad_input
# naming the parameter, and a counting proxy in front of the AAS server shows
# that none of their requests reached it. qgctl ask refuses a pattern file
# whose goal type names a stage no worker serves; a worker refuses to start on
# a missing or invalid goal-types file.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/binding.lib"

bt_init query-goals
BIN=$BT_BIN
for b in qg-aasquery qg-datafiltering qg-broker qgctl; do
    [ -x "$BIN/$b" ] || qg_die "$BIN/$b not built"
done
PATTERNS=$QG_ROOT/config/goal-patterns.yaml
EXPECT=$QG_ROOT/tests/data/query/expected.py
TODAY=$(date -u +%F)
YESTERDAY=$(date -u -d yesterday +%F)

# The factory: the sample one, with condition and tracking data for yesterday and today.
FACTORY=$BT_DIR/factory
mkdir -p "$FACTORY"
cp "$QG_ROOT"/factory/seed-factory/*.json "$FACTORY/"
"$QG_ROOT/factory/make-condition-data" --day "$YESTERDAY" "$FACTORY" >/dev/null
"$QG_ROOT/scripts/aas-server" install --impl basyx-python
bt_check "generated condition and tracking data pass the official AAS v3.0.1 JSON schema" \
    "$QG_CACHE/py/bin/python" "$QG_ROOT/factory/check-schema" "$FACTORY/MachineCondition.json" \
    "$FACTORY/ProductTracking.json"
bt_check "the query manifests pass schemas/manifest.schema.json" \
    "$QG_CACHE/py/bin/python" "$QG_ROOT/factory/check-manifest" "$QG_ROOT"/config/queries/*.yaml
bt_server faaast "$FACTORY"

# A counting proxy in front of the server: one log line per request that reached it.
PROXY_LOG=$BT_DIR/aas-requests.log
python3 "$QG_ROOT/tests/integration/aas-count-proxy.py" "${BT_URL%/api/v3.0}" "$BT_DIR/proxy.port" \
    "$PROXY_LOG" 2>"$BT_DIR/proxy.err" &
BT_PIDS+=($!)
qg_wait_for "the counting proxy" 20 test -s "$BT_DIR/proxy.port"
AAS=http://127.0.0.1:$(cat "$BT_DIR/proxy.port")/api/v3.0

"$BIN/qg-broker" >"$BT_DIR/broker.out" 2>"$BT_DIR/broker.err" &
BT_PIDS+=($!)
qg_wait_for "qg-broker" 20 test -s "$BT_DIR/broker.out"
BOOT=$(head -n1 "$BT_DIR/broker.out")
PREFIX=qgt-query-$$-$RANDOM
COMMON=(-b "$BOOT" --topic-prefix "$PREFIX" -X "goal.types.file=$PATTERNS")
"$BIN/qg-aasquery" "${COMMON[@]}" -X "aas.base.url=$AAS" 2>"$BT_DIR/aasquery.log" &
BT_PIDS+=($!)
"$BIN/qg-datafiltering" "${COMMON[@]}" 2>"$BT_DIR/datafiltering.log" &
BT_PIDS+=($!)
for w in aasquery datafiltering; do
    qg_wait_for "qg-$w consuming" 60 grep -q '"stage .* consuming' "$BT_DIR/$w.log"
done

N=0
# ask TEXT: build the goal with qgctl ask into $BT_DIR/q$N.json.
ask() {
    N=$((N + 1))
    "$BIN/qgctl" ask "$1" --patterns "$PATTERNS" -o "$BT_DIR/q$N.json"
}
# submit FILE: send a goal and wait for its answer (FILE.out) or its DLQ record (FILE.err).
submit() {
    "$BIN/qgctl" submit "$1" --wait --json --timeout 90 -b "$BOOT" --topic-prefix "$PREFIX" \
        >"$1.out" 2>"$1.err"
}

# cooling "QUESTION" MACHINE|- DAY|-: the answer equals the expected one.
cooling() {
    local q=$1 want got
    ask "$q" || return 1
    want=$(python3 "$EXPECT" "$FACTORY" goal1 "$2" "$3")
    submit "$BT_DIR/q$N.json" || { cat "$BT_DIR/q$N.json.err"; return 1; }
    got=$(jq -c '.QueryGoal.outputs | {alarmIds: [.failures[].alarmId], count: .failureCount,
            jobs: [.failures[] | [.jobLog[].JobId]], readings: [.failures[] | [.readings[].Time]]}' \
        "$BT_DIR/q$N.json.out")
    [ "$(jq -cS . <<<"$want")" = "$(jq -cS . <<<"$got")" ] ||
        { echo "want $want"; echo "got  $got"; return 1; }
    jq -e '.executionLog.status == "completed" and
           ([.executionLog.stages[].gate.passed] == [true, true]) and
           (.QueryGoal.outputs.failures | all(.machine != null and .time != null))' \
        "$BT_DIR/q$N.json.out" >/dev/null
}

# location "QUESTION" PRODUCT: the answer equals the expected one.
location() {
    local want got
    ask "$1" || return 1
    want=$(python3 "$EXPECT" "$FACTORY" goal4 "$2")
    submit "$BT_DIR/q$N.json" || { cat "$BT_DIR/q$N.json.err"; return 1; }
    got=$(jq -c '.QueryGoal.outputs.location |
            {station, since, jobId, operation, step, nextStep, jobStatus: .job.Status}' \
        "$BT_DIR/q$N.json.out")
    [ "$(jq -cS . <<<"$want")" = "$(jq -cS . <<<"$got")" ] ||
        { echo "want $want"; echo "got  $got"; return 1; }
    # The live machine status comes with it (machines only for machine stations).
    jq -e '.QueryGoal.outputs.location | (if (.station | test("^M[0-9]")) then .machineStatus.machine_id == .station
            else .machineStatus == null end)' "$BT_DIR/q$N.json.out" >/dev/null
}

# unknown_product "QUESTION" PRODUCT: dead-lettered, the reason names the product.
unknown_product() {
    ask "$1" || return 1
    [ "$(python3 "$EXPECT" "$FACTORY" goal4 "$2")" = null ] || return 1
    ! submit "$BT_DIR/q$N.json" || return 1
    grep -q "gate_failed" "$BT_DIR/q$N.json.err" &&
        grep -q "no tracking record for product $2" "$BT_DIR/q$N.json.err"
}

bt_check "goal1 KO: 어제 M2 기계 냉각 고장 조회 (yesterday, M2)" \
    cooling "어제 M2 기계 냉각 고장 조회" M2 "$YESTERDAY"
bt_check "goal1 EN: Show cooling failures yesterday (every machine)" \
    cooling "Show cooling failures yesterday" - "$YESTERDAY"
bt_check "goal1 EN: no failure found: machine M4 yesterday -> failureCount 0" \
    cooling "Check cooling failure for machine M4 yesterday" M4 "$YESTERDAY"
bt_check "goal1 KO: 오늘 M3 냉각 문제 있어? (today, M3)" \
    cooling "오늘 M3 냉각 문제 있어?" M3 "$TODAY"
bt_check "goal1 EN: no cooling failure on M1 on an ISO date (only a spindle alarm)" \
    cooling "Any coolant problems on machine M1 on $YESTERDAY?" M1 "$YESTERDAY"
bt_check "goal1 EN: machine M2, no date (both days)" \
    cooling "Check cooling failure for machine M2" M2 -
bt_check "goal1 KO: 고장 없음: M3 설비 냉각 고장 어제" \
    cooling "M3 설비 냉각 고장 어제" M3 "$YESTERDAY"
bt_check "goal1 EN: machine M3 in the last 24 hours (a span ending now)" \
    cooling "Cooling failures on machine M3 in the last 24 hours" M3 last:24
bt_check "goal1 KO: 최근 48시간 M2 냉각 고장 (a span ending now)" \
    cooling "최근 48시간 M2 냉각 고장" M2 last:48
bt_check "goal1: failuresByMachine groups the failures (group/count)" \
    jq -e '.QueryGoal.outputs.failuresByMachine == [{"machine": "M2", "count": 3}]' "$BT_DIR/q6.json.out"

bt_check "goal4 EN: Where is product PRD-2024-001? (on M2, welding)" \
    location "Where is product PRD-2024-001?" PRD-2024-001
bt_check "goal4 KO: 제품 PRD-2024-002 위치 추적 (on M3, testing)" \
    location "제품 PRD-2024-002 위치 추적" PRD-2024-002
bt_check "goal4 EN: Track product PRD-7 (in the warehouse)" \
    location "Track product PRD-7" PRD-7
bt_check "goal4 KO: PRD-7 제품 어디 있어?" \
    location "PRD-7 제품 어디 있어?" PRD-7
bt_check "goal4 EN: unknown product PRD-999 -> DLQ gate_failed naming it" \
    unknown_product "Where is product PRD-999?" PRD-999
bt_check "goal4 KO: unknown product XYZ-42 -> DLQ gate_failed naming it" \
    unknown_product "제품 XYZ-42 위치 알려줘" XYZ-42

# Bad parameters: refused by the first stage, naming the parameter; nothing reaches the server.
ask "Check cooling failure for machine M2 yesterday"
G1=$BT_DIR/q$N.json
ask "Where is product PRD-7?"
G4=$BT_DIR/q$N.json
bad() { # NAME BASE JQ-EDIT
    jq "$3" "$2" >"$BT_DIR/bad-$1.json"
}
bad g1-shape "$G1" '(.QueryGoal.parameters[] | select(.key == "machineId") | .value) = "M2'"'"' OR 1=1"'
bad g1-date "$G1" '(.QueryGoal.parameters[] | select(.key == "date") | .value) = "2026-02-30"'
bad g1-date-number "$G1" '(.QueryGoal.parameters[] | select(.key == "date") | .value) = 20261129'
bad g4-missing "$G4" '.QueryGoal.parameters = []'
bad g4-number "$G4" '(.QueryGoal.parameters[] | select(.key == "productId") | .value) = 42'
bad g4-twice "$G4" '.QueryGoal.parameters += [.QueryGoal.parameters[0]]'
before=$(wc -l <"$PROXY_LOG")
refused() { # NAME PARAMETER
    ! submit "$BT_DIR/bad-$1.json" || return 1
    grep -q "bad_input" "$BT_DIR/bad-$1.json.err" && grep -q "($2)" "$BT_DIR/bad-$1.json.err" &&
        grep -q "aasQuery" "$BT_DIR/bad-$1.json.err"
}
bt_check "goal1 machineId \"M2' OR 1=1\" refused at aasQuery naming machineId" refused g1-shape machineId
bt_check "goal1 date 2026-02-30 refused naming date" refused g1-date date
bt_check "goal1 date as a number refused naming date" refused g1-date-number date
bt_check "goal4 without productId refused naming productId" refused g4-missing productId
bt_check "goal4 productId 42 (a number) refused naming productId" refused g4-number productId
bt_check "goal4 productId given twice refused naming productId" refused g4-twice productId
bt_check "none of the refused goals reached the AAS server ($before requests before and after)" \
    test "$(wc -l <"$PROXY_LOG")" = "$before"
bt_check "the answered goals did reach it (requests counted)" test "$before" -gt 0

# goal3's first stage refuses a bad quantity the same way (selection runs locally, no AAS server).
G3=$QG_ROOT/tests/data/goals/goal3-p1001.json
for q in 2.5 0 -3 '"50"'; do
    jq "(.QueryGoal.parameters[] | select(.key == \"quantity\") | .value) = $q" "$G3" >"$BT_DIR/g3-$N.json"
    bt_check "goal3 quantity $q refused by swrlSelection naming quantity" bash -c \
        "'$BIN/qgctl' stage swrlSelection '$BT_DIR/g3-$N.json' -X goal.types.file='$PATTERNS' \
         --registry-file '$QG_ROOT/config/registry.yaml' --rules-file '$QG_ROOT/config/rules.swrl' \
         >/dev/null 2>'$BT_DIR/g3-$N.err'; [ \$? = 2 ] && grep -q '(quantity)' '$BT_DIR/g3-$N.err'"
    N=$((N + 1))
done

# Startup check: a goal type naming a stage without a worker makes qgctl ask refuse.
sed 's/pipelineStages: \[aasQuery, dataFiltering\]/pipelineStages: [aasQuery, crystalBall]/' \
    "$PATTERNS" >"$BT_DIR/patterns-bad.yaml"
bt_check "qgctl ask refuses when a goal type names a stage no worker serves" bash -c \
    "! '$BIN/qgctl' ask 'Where is product PRD-7?' --patterns '$BT_DIR/patterns-bad.yaml' \
       2>'$BT_DIR/ask-bad.err' &&
     grep -q 'crystalBall' '$BT_DIR/ask-bad.err' && grep -q 'no worker' '$BT_DIR/ask-bad.err'"
bt_check "a stage named in pipeline.extra.stages counts as served by your own worker" \
    "$BIN/qgctl" ask "Where is product PRD-7?" --patterns "$BT_DIR/patterns-bad.yaml" \
    -X pipeline.extra.stages=crystalBall -o "$BT_DIR/extra.json"
bt_check "every stage config/goal-patterns.yaml names has a worker (qgctl ask accepts it)" \
    "$BIN/qgctl" ask "Where is product PRD-7?" --patterns "$PATTERNS" -o "$BT_DIR/ok.json"

# Large record sets travel by claim check: aasQuery writes them to the shared directory,
# dataFiltering reads them back (digest checked) and answers as with inline records.
claim_roundtrip() {
    local st=("$BIN/qgctl" stage)
    "${st[@]}" aasQuery "$BT_DIR/q1.json" -X "goal.types.file=$PATTERNS" -X "aas.base.url=$AAS" \
        -X aasquery.inline.max.bytes=0 -X "aasquery.shared.dir=$BT_DIR/shared" \
        >"$BT_DIR/claim-a.json" 2>/dev/null || return 1
    jq -e '.executionLog.stages[0].result | (.records == null) and (.recordsRef.sha256 | length == 64)' \
        "$BT_DIR/claim-a.json" >/dev/null || return 1
    "${st[@]}" dataFiltering "$BT_DIR/claim-a.json" -X "goal.types.file=$PATTERNS" \
        -X "datafiltering.claims.dir=$BT_DIR/shared" >"$BT_DIR/claim-b.json" 2>/dev/null || return 1
    [ "$(jq -cS .QueryGoal.outputs "$BT_DIR/claim-b.json")" = "$(jq -cS .QueryGoal.outputs "$BT_DIR/q1.json.out")" ] || return 1
    # A reference outside datafiltering.claims.dir is refused.
    mkdir -p "$BT_DIR/elsewhere"
    ! "${st[@]}" dataFiltering "$BT_DIR/claim-a.json" -X "goal.types.file=$PATTERNS" \
        -X "datafiltering.claims.dir=$BT_DIR/elsewhere" >/dev/null 2>"$BT_DIR/claim.err" &&
        grep -q "is not below datafiltering.claims.dir" "$BT_DIR/claim.err"
}
bt_check "records by claim check (aasquery.inline.max.bytes=0) give the same answer" claim_roundtrip

# A worker refuses to start on a goal-types file that is missing (named explicitly) or invalid.
sed 's/type: integer/type: float/' "$PATTERNS" >"$BT_DIR/patterns-invalid.yaml"
for f in "$BT_DIR/no-such-file.yaml" "$BT_DIR/patterns-invalid.yaml"; do
    bt_check "qg-datafiltering refuses to start with goal.types.file=$(basename "$f")" bash -c \
        "! '$BIN/qg-datafiltering' -b 127.0.0.1:1 -X goal.types.file='$f' 2>'$BT_DIR/start.err' &&
         grep -q '$(basename "$f")' '$BT_DIR/start.err'"
done

bt_finish
