#!/usr/bin/env bash
# The exec runner in the real worker (qg-simulation on the embedded broker) with
# the small test simulators of tests/data/simulators: a good one and one writing
# a huge log complete; a crashing one, one hanging past its limit, one writing
# garbage, one with a malformed field and one writing nothing are dead-lettered
# as stage_error naming the cause; the worker stays up throughout, leaves no
# process or work directory behind, and a SIGTERM during a run cancels the
# simulator without losing the goal (it is redelivered and answered).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init sim-exec
. "$QG_ROOT/tests/data/simulators/lib.sh"
trap sim_cleanup EXIT
for b in qg-simulation qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done

qgk_broker_mock
sim_worker_start simulation-1 -X simulation.log.max.bytes=65536

# case: script, time limit, expected outcome ("completed ESTIMATE" or "stage_error TEXT")
CASES=(
    "good.sh|10|completed 3600"
    "huge-log.sh|20|completed 60"
    "crash.sh|10|stage_error signal 11"
    "hang.sh|2|stage_error time limit of 2 s"
    "garbage.sh|10|stage_error results/simulator_optimization_result.json"
    "bad-field.sh|10|stage_error goal3_data.predicted_completion_time"
    "no-result.sh|10|stage_error missing"
    "fail.sh|10|stage_error license server unreachable"
)
SUBMIT=("$QGK_BIN/qgctl" submit -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --wait
    --timeout 90)
pids=()
for i in "${!CASES[@]}"; do
    IFS='|' read -r script limit _ <<<"${CASES[$i]}"
    sim_goal "goal3-exec-$i-$$" "$SIM_SEED_PARAMS" "$(sim_exec_model "$script" "" "$limit")" \
        "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-$i.json"
    "${SUBMIT[@]}" "$QGK_DIR/goal-$i.json" --json >"$QGK_DIR/answer-$i.json" \
        2>"$QGK_DIR/submit-$i.err" &
    pids+=($!)
done
for i in "${!CASES[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    IFS='|' read -r script _ expect <<<"${CASES[$i]}"
    kind=${expect%% *} detail=${expect#* }
    if [ "$kind" = completed ]; then
        qgk_check "$script: completed with estimatedTime $detail" \
            sim_jq ".QueryGoal.outputs.estimatedTime == $detail" "$QGK_DIR/answer-$i.json"
    else
        qgk_check "$script: dead-lettered as stage_error naming \"$detail\"" \
            sim_dlq_says "$QGK_DIR/submit-$i.err" stage_error "$detail"
    fi
done
for i in "${!CASES[@]}"; do
    qg_say "${CASES[$i]%%|*}: $(grep -h "dead-lettered" "$QGK_DIR/submit-$i.err" || jq -c '.QueryGoal.outputs | {estimatedTime, confidence}' "$QGK_DIR/answer-$i.json" 2>/dev/null)"
done
qgk_check "huge-log.sh: the logs were capped, the run kept its result" \
    sim_jq '.executionLog.stages[-1].result.runner.logsTruncated == true' "$QGK_DIR/answer-1.json"
qgk_check "the worker stayed up through all of them" qgk_workers_alive
qgk_check "no simulator process is left (hang.sh's sleep was killed with its group)" \
    sim_no_process '^sleep 987$'
qgk_check "every work directory was removed" \
    bash -c "[ -z \"\$(ls -A '$QGK_DIR/work')\" ]"

# SIGTERM during a run: the simulator is cancelled, the goal is redelivered.
sim_goal "goal3-exec-term-$$" "$SIM_SEED_PARAMS" "$(sim_exec_model slow.sh 4 30)" \
    "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-term.json"
"${SUBMIT[@]}" "$QGK_DIR/goal-term.json" --json >"$QGK_DIR/answer-term.json" \
    2>"$QGK_DIR/submit-term.err" &
term_submit=$!
qg_wait_for "the slow run to start" 60 bash -c "ls -d '$QGK_DIR'/work/run-* >/dev/null 2>&1" ||
    QGK_FAILED=$((QGK_FAILED + 1))
t0=$(date +%s.%N)
qgk_check "the worker exits 0 on SIGTERM in the middle of a run" qgk_workers_stop
qg_say "worker stopped $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s after SIGTERM"
qgk_check "the cancelled run left no process or work directory" \
    bash -c "$(declare -f sim_no_process qg_wait_for qg_say); sim_no_process '[s]low.sh 4' && [ -z \"\$(ls -A '$QGK_DIR/work')\" ]"
sim_worker_start simulation-2 -X simulation.log.max.bytes=65536
rc=0
wait "$term_submit" || rc=$?
qgk_check "the goal was redelivered to the next worker and answered" \
    sim_jq '.QueryGoal.outputs.estimatedTime == 7200 and
           ([.executionLog.stages[] | select(.stage == "simulation")] | length == 1)' \
    "$QGK_DIR/answer-term.json"
qgk_check "the second worker exits 0 on SIGTERM" qgk_workers_stop
qgk_finish
