#!/usr/bin/env bash
# The stage-worker framework on the embedded mock cluster (qg-broker): three
# pass-through workers (passA, passB, passC), 1,000 goals with varied
# pipelineStages and 20 malformed messages of every kind. Asserts every good
# goal is in completed once with its stages logged in order, every malformed one
# is in the DLQ with class bad_input, the workers stay up and stop cleanly.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"

COUNT=${QG_TEST_COUNT:-1000}
MALFORMED=20
STAGES="passA,passB,passC;passA,passC;passB,passC;passC;passA,passB;passB"

qgk_init mock-pipeline
qgk_broker_mock
QGK_WORKER_ARGS=(-X pipeline.extra.stages=passA,passB,passC -X goal.max.bytes=262144
    -X processing.guarantee=at_least_once)
qgk_workers_start "passA passB passC" 1

LG=("$QGK_BIN/qg-loadgen" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --run-id mock
    --count "$COUNT" --malformed "$MALFORMED" --stages "$STAGES" --max-bytes 262144
    --no-create-topics)
qgk_check "produce $COUNT goals and $MALFORMED malformed messages" "${LG[@]}" produce
qgk_check "every goal once in completed with its stages in order; every malformed one in the DLQ as bad_input" \
    "${LG[@]}" verify --timeout 120 --settle 2
# The verifier can fail: a goal that never came and a wrong stage order are caught.
fails() { ! "$@" >/dev/null 2>&1; }
LG_ONE=("$QGK_BIN/qg-loadgen" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --run-id mock
    --malformed "$MALFORMED" --max-bytes 262144)
qgk_check "verify fails when a goal is missing" \
    fails "${LG_ONE[@]}" verify --count $((COUNT + 1)) --stages "$STAGES" --timeout 5 --settle 0
qgk_check "verify fails on a wrong stage order" \
    fails "${LG_ONE[@]}" verify --count "$COUNT" --stages "passC,passB,passA" --timeout 30 --settle 0
qgk_check "all three workers still running" qgk_workers_alive
qgk_check "workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
