#!/bin/sh
# A well-behaved simulator: checks its inputs, reports progress, writes the seed result.
# Usage: good.sh SCENARIO_DIR RESULTS_DIR
set -eu
scenario=$1 results=$2
for f in jobs operations operation_durations machine_transfer_time job_release; do
    [ -s "$scenario/$f.json" ] || { echo "missing $scenario/$f.json" >&2; exit 4; }
done
[ -s "$QG_INPUT" ] || { echo "missing simulation input" >&2; exit 4; }
jobs=$(grep -o '"job_id"' "$scenario/jobs.json" | wc -l)
for g in 1 2 3; do
    echo "QG_PROGRESS {\"phase\":\"optimize\",\"generation\":$g,\"best\":$((4000 - g * 100)),\"progress\":0.$((g * 3))}"
done
echo "simulated $jobs jobs" >&2
cat >"$results/simulator_optimization_result.json" <<JSON
{"goal3_data": {"predicted_completion_time": 3600, "confidence": 0.8,
  "simulator_type": "test-good",
  "bottlenecks": [{"machine": "M2", "utilization": 0.91}, {"machine": "M1", "utilization": 0.7}],
  "percentiles": {"p10": 3300, "p50": 3600, "p90": 3900},
  "detailed_results": {"jobs": $jobs}}}
JSON
