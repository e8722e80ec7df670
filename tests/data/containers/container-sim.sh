#!/bin/sh
# The simulator of the test image: checks it runs confined (non-root, read-only
# root, no network), reads the bound scenario and the goal's parameters, and
# writes the plan's goal3_result.json with plan and bottlenecks under
# detailed_results. estimatedTime = 72 s per unit ordered.
set -eu
[ -s "$QG_INPUT" ] || { echo "missing simulation input $QG_INPUT" >&2; exit 4; }
jobs=$(grep -o '"job_id"' "$QG_SCENARIO_DIR/jobs.json" | wc -l)
quantity=${QG_PARAM_QUANTITY:?the quantity parameter is not in the environment}
if touch /rootfs-write-test 2>/dev/null; then readonly_root=false; else readonly_root=true; fi
interfaces=$(ls /sys/class/net | tr '\n' ' ')
memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
cpu=$(cat /sys/fs/cgroup/cpu.max 2>/dev/null ||
    echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
echo "QG_PROGRESS {\"phase\":\"running\",\"progress\":0.5}"
echo "container simulator: $jobs jobs, quantity $quantity, uid $(id -u)" >&2
cat >"$QG_RESULTS_DIR/goal3_result.json" <<JSON
{"goal3_data": {"predicted_completion_time": $((quantity * 72)), "confidence": 0.85,
  "simulator_type": "container-test",
  "detailed_results": {"jobs": $jobs, "uid": $(id -u), "readOnlyRoot": $readonly_root,
    "interfaces": "$interfaces", "args": "$*",
    "memoryLimitBytes": $memory, "cpuQuota": "$cpu",
    "bottlenecks": [{"machine": "M3", "utilization": 0.93}],
    "productionPlan": {"operations": [{"job": "J1", "operation": "O1", "machine": "M3",
                                       "start": 0, "end": $((quantity * 72))}]}}}}
JSON
