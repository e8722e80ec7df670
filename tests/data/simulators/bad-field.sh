#!/bin/sh
# Valid JSON, but predicted_completion_time is not a number.
cat >"$2/simulator_optimization_result.json" <<JSON
{"goal3_data": {"predicted_completion_time": "soon", "confidence": 0.8, "simulator_type": "test"}}
JSON
