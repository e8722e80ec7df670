#!/usr/bin/env bash
# qg-gateway on the embedded broker (qg-broker): every endpoint, idempotent
# resubmits, status from a replica started after the goal, SSE to the end,
# the synchronous endpoint's 200/500/504, bad bodies -> 4xx problem documents
# and nothing produced, auth, CORS and TLS; every response validated against
# schemas/openapi.yaml (tests/integration/gateway.d/api_check.py).
# GW_BROKER=real runs the same on the real Kafka broker (gateway-kafka.sh),
# where the 503 of a stage without workers is checked too.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
. "$QG_ROOT/tests/integration/gateway.d/venv.sh"

free_port() { "$GW_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

qgk_init gateway
if [ "${GW_BROKER:-mock}" = real ]; then
    qgk_broker_real
    export GW_EXPECT_GROUPS=1
else
    qgk_broker_mock
fi
EV_IN=$(free_port)
EV_OUT=$(free_port)
"$QGK_BIN/qg-events" --events-xsub-bind "tcp://127.0.0.1:$EV_IN" \
    --events-xpub-bind "tcp://127.0.0.1:$EV_OUT" >/dev/null 2>"$QGK_DIR/log/events.log" &
EV_PID=$!
METRICS_PORT=$(free_port)
QGK_WORKER_ARGS=(-X pipeline.extra.stages=passA,passB,passC -X session.timeout.ms=6000
    -X heartbeat.interval.ms=1000 -X "events.connect=tcp://127.0.0.1:$EV_IN")
qgk_worker_start passA 1 -X "metrics.listen=127.0.0.1:$METRICS_PORT"
qgk_worker_start passB 1 -X passthrough.fail.param=failWith
qg_wait_for "passA's metrics endpoint" 30 curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"
for w in passA-1 passB-1; do
    qg_wait_for "$w to consume" 60 grep -q 'assigned' "$QGK_DIR/log/$w.log" ||
        { tail -n 5 "$QGK_DIR/log/$w.log"; exit 1; }
done

GW_BOOTSTRAP=$QGK_BOOTSTRAP GW_PREFIX=$QGK_PREFIX GW_EVENTS_OUT="tcp://127.0.0.1:$EV_OUT" \
GW_LOGDIR="$QGK_DIR/log" GW_WORKER_METRICS="127.0.0.1:$METRICS_PORT" QG_BIN="$QGK_BIN" \
    timeout 600 "$GW_PY" "$QG_ROOT/tests/integration/gateway.d/api_check.py" | tee "$QGK_DIR/log/checks.out"
rc=${PIPESTATUS[0]}
kill -TERM "$EV_PID" 2>/dev/null; wait "$EV_PID" 2>/dev/null
# Count the Python checks in this test's total.
read -r py_pass py_fail < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$QGK_DIR/log/checks.out" | tail -n1)
QGK_PASSED=$((QGK_PASSED + ${py_pass:-0}))
QGK_FAILED=$((QGK_FAILED + ${py_fail:-0}))
qgk_check "api_check.py ran to its end and exited 0" test "$rc" = 0 -a -n "${py_pass:-}"
qgk_check "workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
