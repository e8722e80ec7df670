#!/bin/sh
# Records its environment and arguments, then writes a result in the engine's own format.
env | sort >"$QG_RESULTS_DIR/env.txt"
printf '%s\n' "$@" >"$QG_RESULTS_DIR/args.txt"
pwd >"$QG_RESULTS_DIR/pwd.txt"
cat >"$QG_RESULTS_DIR/result.json" <<JSON
{"estimatedTime": 1234.5, "confidence": 0.9, "percentiles": {"p10": 1200, "p50": 1234.5, "p90": 1300},
 "productionPlan": {"operations": [{"operation": "O1", "machine": "M1", "start": 0, "end": 10}]},
 "bottlenecks": [{"machine": "M1", "utilization": 0.5}], "units": {"estimatedTime": "s"}}
JSON
