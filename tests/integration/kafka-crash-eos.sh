#!/usr/bin/env bash
# Exactly-once crash test on the real Kafka broker: three pass-through stages,
# two workers each (processing.guarantee=exactly_once), goals produced at a steady
# rate while a random worker is kill -9-ed every few seconds and restarted with
# the same id. Asserts (read_committed) every goal is in completed exactly once
# with no stage logged twice, every malformed message once in the DLQ as
# bad_input, that workers were really killed, and that all stop cleanly.
#   QG_CRASH_COUNT (default 2000), QG_CRASH_RATE goals/s (default 150),
#   QG_CRASH_GUARANTEE (exactly_once; kafka-crash-alo.sh sets at_least_once)
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"

GUARANTEE=${QG_CRASH_GUARANTEE:-exactly_once}
COUNT=${QG_CRASH_COUNT:-2000}
RATE=${QG_CRASH_RATE:-150}
MALFORMED=${QG_CRASH_MALFORMED:-20}
STAGES="passA,passB,passC;passA,passC;passB,passC"
VERIFY_ARGS=()
[ "$GUARANTEE" = at_least_once ] && VERIFY_ARGS+=(--at-least-once)

qgk_init "crash-${GUARANTEE//_/-}"
qgk_broker_real
# Short session and transaction timeouts so a killed member's partitions and
# open transaction are taken over in seconds rather than a minute.
QGK_WORKER_ARGS=(-X pipeline.extra.stages=passA,passB,passC -X goal.max.bytes=262144
    -X processing.guarantee="$GUARANTEE" -X session.timeout.ms=6000
    -X heartbeat.interval.ms=1000 -X transaction.timeout.ms=10000 -X passthrough.delay.ms=1)

LG=("$QGK_BIN/qg-loadgen" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --run-id crash
    --count "$COUNT" --malformed "$MALFORMED" --stages "$STAGES" --max-bytes 262144
    --size 2048)
qgk_check "create topics" "${LG[@]}" topics
qgk_workers_start "passA passB passC" 2
qgk_check "each stage's consumer group is stable with 2 members" "${LG[@]}" wait-groups \
    --members 2 --timeout 60
qgk_chaos_start 1.5 4

# Produce at RATE goals/s while reading completed and the DLQ (read_committed).
"${LG[@]}" bench --rate "$RATE" --timeout "$((COUNT / RATE + 240))" --settle 5 \
    "${VERIFY_ARGS[@]}" >"$QGK_DIR/report.txt" 2>"$QGK_DIR/report.err" && rc=0 || rc=$?
qgk_chaos_stop
KILLS=$QGK_KILLS
cat "$QGK_DIR/report.txt"
head -n 30 "$QGK_DIR/report.err" >&2
qg_say "$KILLS workers killed with SIGKILL during the run"
if [ "$GUARANTEE" = exactly_once ]; then
    qgk_check "every goal exactly once in completed, malformed once in the DLQ ($KILLS kills)" \
        test "$rc" = 0
else
    qgk_check "no goal lost, malformed all in the DLQ ($KILLS kills; $(grep -o 'duplicates [0-9]*' \
        "$QGK_DIR/report.txt" | head -n1) in completed)" test "$rc" = 0
fi
qgk_check "workers were killed during the run (at least 3)" test "$KILLS" -ge 3
qgk_check "all workers running after the chaos" qgk_workers_alive
qgk_check "restarted workers rejoined their groups" \
    qg_wait_for "workers to get assignments" 60 qgk_workers_assigned
qgk_check "workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
