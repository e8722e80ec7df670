#!/usr/bin/env bash
# Retries and dead letters on the real Kafka broker, exactly-once mode: every
# pass-through worker fails each goal transiently once (so every goal goes through
# each stage's retry topic and comes back when due), and every 10th goal asks the
# stage to fail for good with transient, stage_error, gate_failed or bad_input.
# Asserts: the others all complete exactly once with their stages in order; each
# failing goal is in the DLQ once with the class it asked for (transient after the
# last attempt -> transient_exhausted); malformed messages are dead-lettered as
# bad_input; the retry topics were used; the workers stop cleanly.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"

COUNT=${QG_RETRY_COUNT:-400}
MALFORMED=12

qgk_init retry-dlq
qgk_broker_real
QGK_WORKER_ARGS=(-X pipeline.extra.stages=passA,passB,passC -X goal.max.bytes=262144
    -X processing.guarantee=exactly_once -X retry.backoff.ms=200,400
    -X passthrough.transient.failures=1 -X passthrough.fail.param=fail)

LG=("$QGK_BIN/qg-loadgen" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --run-id retry
    --count "$COUNT" --malformed "$MALFORMED" --stages "passA,passB,passC;passA,passC"
    --max-bytes 262144 --size 1024 --fail-every 10)
qgk_check "create topics" "${LG[@]}" topics
qgk_workers_start "passA passB passC" 1
qgk_check "consumer groups stable" "${LG[@]}" wait-groups --members 1 --timeout 60
qgk_check "produce $COUNT goals (every 10th asks to fail) and $MALFORMED malformed" \
    "${LG[@]}" produce
qgk_check "completed exactly once; failing goals in the DLQ with the class they asked for" \
    "${LG[@]}" verify --timeout 180 --settle 2

# Every stage logged its retries: attempt 1 failed transiently, attempt 2 was taken
# from <prefix>.<stage>.retry when due.
retried() {
    grep -h '"msg":"goal [^"]*: transient failure, attempt 1' "$QGK_DIR"/log/*.log | wc -l
}
qgk_check "goals went through the retry topics ($(retried) retries logged)" \
    test "$(retried)" -ge "$COUNT"
qgk_check "all workers running" qgk_workers_alive
qgk_check "workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
