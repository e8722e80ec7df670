#!/usr/bin/env bash
# The seed factory scenario through qg-sim: assemble it from the seed AAS
# files, split it into a scenario directory, plan P-1001 x 50, check the
# result and its speed, verify the plan (and that a broken plan is refused),
# check the replay's convergence, and solve ft06 to its optimum.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

sim=$QG_BUILD/bin/qg-sim
seed=$QG_SHARED/factory/seed-factory
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); qg_say "ok: $name"; else fail=$((fail + 1)); qg_say "FAILED: $name"; fi
}

jqt() { jq -e "$@" >/dev/null; } # a jq test on a file, quiet

[ -x "$sim" ] || qg_die "$sim not built"

# 1. assemble from the AAS environments, then write a scenario directory
"$sim" assemble --aas "$seed/FactorySimulation.json" --aas "$seed/Factory.json" \
    --aas "$seed/M1.json" --aas "$seed/M2.json" --aas "$seed/M3.json" --aas "$seed/M4.json" \
    --out "$work/scenario.json"
check "assemble has 30 jobs and 95 operations" \
    test "$(jq -r '[(.jobs | length), (.operations | length)] | map(tostring) | join(",")' \
        "$work/scenario.json")" = "30,95"
mkdir -p "$work/dir"
for key in jobs operations operation_durations machine_transfer_time job_release machines routing; do
    jq ".$key" "$work/scenario.json" >"$work/dir/$key.json"
done

# 2. plan P-1001 x 50 with a 0.3 s optimizer budget: the whole run stays well under a second
start=$(date +%s%N)
"$sim" run --scenario "$work/dir" --product P-1001 --quantity 50 --time-limit 0.3 --json \
    --quiet --out "$work/result.json"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "qg-sim run exits 0" test "$rc" = 0
check "run takes well under a second (${ms} ms)" test "$ms" -lt 900
check "result has estimate and percentiles; no spread in the data: confidence null, basis deterministic" jqt '
    (.estimatedTime > 0) and (.percentiles.p10 <= .percentiles.p50) and
    (.percentiles.p50 <= .percentiles.p90) and (.confidence == null) and
    (.confidenceBasis == "deterministic") and (.promiseTime == .estimatedTime) and
    (.units.time == "s")' "$work/result.json"
check "the missing M2 welding law is a warning" \
    jqt '[.warnings[] | select(test("welding on M2"))] | length == 1' "$work/result.json"
check "insert policy: no existing job moves" \
    jqt '.policy == "insert" and .impact.jobsMoved == 0 and (.impact.jobs | length) == 0' "$work/result.json"
check "estimatedCompletionAt is asOf plus estimatedTime" jqt '
    ((.estimatedCompletionAt | fromdate) - (.asOf | fromdate) - .estimatedTime | fabs) <= 1' \
    "$work/result.json"
check "plan holds the 95 existing and 100 order operations" \
    jqt '(.productionPlan.operations | length) == 195 and
           ([.productionPlan.operations[] | select(.order)] | length) == 100' "$work/result.json"
check "bottlenecks, pareto front and solver stats present" jqt '
    (.bottlenecks | length > 0) and (.paretoFront | length > 0) and
    (.solver.generations >= 0) and (.solver.seed == 1)' "$work/result.json"
check "order completes after 50 drillings of 12 min on M1" \
    jqt '.orderCompletion >= 50 * 12 * 60' "$work/result.json"

# reoptimize schedules everything jointly, as before the insert policy: the order finishes
# at 39,824.5 s and the answer lists the existing jobs it delays
"$sim" run --scenario "$work/dir" --product P-1001 --quantity 50 --generations 60 --policy reoptimize \
    --json --quiet --out "$work/reopt.json"
check "reoptimize: order done at 39824.5 s; the delayed existing jobs are listed" jqt '
    .policy == "reoptimize" and (.orderCompletion - 39824.533 | fabs) < 0.01 and
    .impact.jobsMoved > 0 and .impact.maxDelay > 0 and
    .impact.jobsMoved == (.impact.jobs | length)' "$work/reopt.json"
check "insert: the order waits for existing work (later than under reoptimize)" \
    test "$(jq '.orderCompletion > 39824.533' "$work/result.json")" = true

# 3. the plan verifies; a tampered plan does not
check "qg-sim verify accepts the plan" "$sim" verify --scenario "$work/dir" --product P-1001 \
    --quantity 50 --result "$work/result.json"
jq '.productionPlan.operations[5].start -= 300' "$work/result.json" >"$work/bad.json"
"$sim" verify --scenario "$work/dir" --product P-1001 --quantity 50 --result "$work/bad.json" \
    2>"$work/verify.err"
check "qg-sim verify refuses a plan with an early start (exit 3)" test $? = 3
check "the refusal names the violation" grep -q "violation" "$work/verify.err"

# 4. replay convergence: R replications within 2 % of 10,000 (plan fixed by seed + generations)
jq '.operation_durations |= map_values(map_values(.std = (.mean * 0.2)))' "$work/scenario.json" \
    >"$work/spread.json"
for r in 300 10000; do
    "$sim" run --scenario "$work/spread.json" --product P-1001 --quantity 50 --generations 2 \
        --population 10 --replications "$r" --json --quiet --out "$work/r$r.json"
done
check "same plan for both replays" test "$(jq .makespan "$work/r300.json")" = "$(jq .makespan "$work/r10000.json")"
check "replay has spread" jqt '.std > 0 and .percentiles.p90 > .percentiles.p10' "$work/r10000.json"
check "with spread: a probability of keeping estimatedTime x 1.1" jqt '
    .confidenceBasis == "estimatePlusMargin" and .confidence > 0 and .confidence <= 1 and
    (.promiseTime - .estimatedTime * 1.1 | fabs) < 0.01' "$work/r10000.json"
check "mean of 300 replications within 2% of 10,000" awk -v a="$(jq .mean "$work/r300.json")" \
    -v b="$(jq .mean "$work/r10000.json")" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.02 * b) }'

# 5. benchmark path: ft06 reaches 55 and the schedule is verified
out=$("$sim" solve --fjs "$QG_SHARED/bench/jssp/ft06.txt" --time-limit 2 --quiet)
check "ft06 solved to 55" grep -qx "makespan 55" <<<"$out"
check "ft06 schedule verified" grep -qx "verified yes" <<<"$out"

# 6. bad input is refused with a message, not a crash
"$sim" run --scenario "$work/dir" --product NOPE --quantity 5 --quiet 2>"$work/err.txt"
check "unknown product exits 2" test $? = 2
check "unknown product named" grep -q NOPE "$work/err.txt"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
