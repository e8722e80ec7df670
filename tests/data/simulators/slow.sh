#!/bin/sh
# Takes SECONDS (default 3) to answer, reporting progress every half second.
set -eu
n=$(( ${3:-3} * 2 ))
i=0
while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    echo "QG_PROGRESS {\"phase\":\"running\",\"progress\":$(awk -v a="$i" -v b="$n" 'BEGIN{printf "%.2f", a/b}')}"
    sleep 0.5
done
cat >"$2/simulator_optimization_result.json" <<JSON
{"goal3_data": {"predicted_completion_time": 7200, "confidence": 0.7, "simulator_type": "test-slow",
  "bottlenecks": [{"machine": "M1", "utilization": 0.8}]}}
JSON
