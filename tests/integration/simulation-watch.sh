#!/usr/bin/env bash
# The simulation worker on the embedded broker with the event forwarder: the
# seed goal "Predict production time for product P-1001 quantity 50" (already
# bound to the seed factory scenario) runs on the builtin engine; `qgctl watch`
# shows its live progress; the answer carries a real estimatedTime, confidence,
# a non-empty verified productionPlan and ranked bottlenecks. The forwarder and
# the worker stop cleanly on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init sim-watch
. "$QG_ROOT/tests/data/simulators/lib.sh"
trap sim_cleanup EXIT
for b in qg-simulation qg-events qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done

qgk_broker_mock
sim_events_start
sim_worker_start simulation-1 -X events.connect="$SIM_XSUB" -X simulation.progress.interval.ms=100

GOAL=goal3-watch-$$-$RANDOM
MODEL='{"modelId":"NSGA2SimulatorModel","version":"2.0.0","runner":{"type":"builtin","engine":"nsga2","options":{"timeLimitSeconds":3,"population":30,"lsIterations":300,"replications":1000,"seed":1}}}'
sim_goal "$GOAL" "$SIM_SEED_PARAMS" "$MODEL" "$SIM_SEED_SPEC" >"$QGK_DIR/goal.json"

"$QGK_BIN/qgctl" watch "$GOAL" --events "$SIM_XPUB" --timeout 120 >"$QGK_DIR/watch.out" 2>&1 &
WATCH_PID=$!
start=$(date +%s.%N)
"$QGK_BIN/qgctl" submit "$QGK_DIR/goal.json" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" \
    -X events.watch="$SIM_XPUB" --wait --timeout 120 --json >"$QGK_DIR/answer.json" \
    2>"$QGK_DIR/submit.err" || true
end=$(date +%s.%N)
kill -TERM "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
A=$QGK_DIR/answer.json
OUT='.QueryGoal.outputs'
qg_say "answered in $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}') s:" \
    "$(jq -c "$OUT | {estimatedTime, confidence, percentiles, operations: (.productionPlan.operations|length), bottlenecks: [.bottlenecks[]? | {machine, utilization}]}" "$A" 2>/dev/null)"

qg_say "answered goal: $(wc -c <"$A") bytes; stage result $(jq -c '.executionLog.stages[-1].result' "$A" | wc -c) bytes"
qgk_check "the goal completed" \
    test "$(jq -r '.executionLog.status' "$A" 2>/dev/null)" = completed
qgk_check "estimatedTime is a positive number of seconds" \
    sim_jq "$OUT.estimatedTime | type == \"number\" and . > 0" "$A"
qgk_check "no spread in the seed data: confidence null with basis deterministic" \
    sim_jq "($OUT.confidence == null) and ($OUT.confidenceBasis == \"deterministic\")" "$A"
qgk_check "the production plan is non-empty and holds the 100 order operations" \
    sim_jq "[$OUT.productionPlan.operations[] | select(.order == true)] | length == 100" "$A"
qgk_check "bottlenecks are ranked by utilization" \
    sim_jq "$OUT.bottlenecks | length > 0 and ([.[].utilization] == ([.[].utilization] | sort | reverse))" "$A"
qgk_check "the plan passed the engine's verifier and the gate" \
    sim_jq '.executionLog.stages[-1] | .gate.passed == true and .result.verification.passed == true' "$A"
qgk_check "qgctl watch showed progress bars with generations" \
    grep -qE "$GOAL +simulation +progress +\[#+\.*\] +[0-9]+% gen [0-9]+ best [0-9]+" "$QGK_DIR/watch.out"
qgk_check "qgctl watch showed the replications" \
    grep -qE "simulation +progress .*replications [0-9]+" "$QGK_DIR/watch.out"
qgk_check "qgctl watch showed the stage completing" \
    grep -qE "$GOAL +simulation +completed" "$QGK_DIR/watch.out"
qg_say "watch: $(grep -c progress "$QGK_DIR/watch.out" || true) progress lines; last:"
tail -n 2 "$QGK_DIR/watch.out" >&2 || true
qgk_check "qg-events --version and --help" \
    bash -c "'$QGK_BIN/qg-events' --version | grep -q '^qg-events ' &&
             '$QGK_BIN/qg-events' --help | grep -q events.xpub.bind"
qgk_check "the worker is still running" qgk_workers_alive
qgk_check "the worker exits 0 on SIGTERM" qgk_workers_stop
qgk_check "the forwarder exits 0 on SIGTERM" sim_events_stop
qgk_finish
