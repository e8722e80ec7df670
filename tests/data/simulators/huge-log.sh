#!/bin/sh
# Writes about 20 MB to stdout and 5 MB to stderr, then a good result.
head -c 20000000 /dev/zero | tr '\0' 'x'
head -c 5000000 /dev/zero | tr '\0' 'e' >&2
cat >"$2/simulator_optimization_result.json" <<JSON
{"goal3_data": {"predicted_completion_time": 60, "confidence": 0.5, "simulator_type": "test-huge-log",
  "bottlenecks": [{"machine": "M3", "utilization": 0.5}]}}
JSON
