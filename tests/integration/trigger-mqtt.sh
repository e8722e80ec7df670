#!/usr/bin/env bash
# qg-trigger on Debian's Mosquitto (username/password, MQTT 5 and 3.1.1) and a
# Kafka source:
#   - malformed payloads, an unknown topic, rules missing a field: logged with
#     the reason and counted, no crash, no goal;
#   - 400 order events at QoS 1 while qg-trigger is killed (-9) twice and
#     restarted (fixed client id, persistent session), on the real Kafka broker:
#     at_least_once loses none (400 distinct goal ids); exactly_once loses none
#     and doubles none (400 records, 400 distinct);
#   - a redelivered event id gives no second goal;
#   - Kafka source records become goals too; debounce and rate limit drop events;
#   - watches: watch.max.goals refuses the third, a plant event re-runs the
#     goals that read its submodel, watchTtlMs ends a watch, a rule unwatches.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init trigger-mqtt
. "$QG_ROOT/tests/integration/trigger.lib"
trg_init
N=400

qgk_broker_real # exactly_once needs a real cluster
mosquitto_passwd -b -c "$QGK_DIR/passwd" plant s3cret >/dev/null
trg_mosquitto_start "allow_anonymous false
password_file $QGK_DIR/passwd"
printf 's3cret\n' >"$QGK_DIR/mqtt-password"
export TRG_MQTT_PASSWORD=s3cret
ERP=$QGK_PREFIX.erp.orders

cat >"$QGK_DIR/triggers.yaml" <<YAML
sources:
  - {name: plant, type: mqtt, port: $TRG_MQTT_PORT, protocol: 5, client_id: trg-mqtt5-$$,
     clean_session: false, qos: 1, username: plant, password_file: $QGK_DIR/mqtt-password,
     subscribe: ["plant/#"]}
  - {name: legacy, type: mqtt, port: $TRG_MQTT_PORT, protocol: "3.1.1", client_id: trg-mqtt3-$$,
     clean_session: false, username: plant, password_env: TRG_MQTT_PASSWORD,
     subscribe: ["legacy/+/orders"]}
  - {name: erp, type: kafka, topics: [$ERP]}
rules:
  - name: order
    when: {topic: "+/+/orders/new", where: [{field: order.quantity, gt: 0}]}
    event_id: order.id
    then:
      goal:
        type: goal3_predict_production_time
        id: "order-\${order.id}"
        pipeline: [swrlSelection, yamlBinding, simulation]
        parameters: {productType: "\${order.product}", quantity: "\${order.quantity}",
                     line: "\${\$topic.1}"}
  - name: legacy-order
    when: {source: legacy, topic: "legacy/+/orders"}
    event_id: id
    then:
      goal: {type: goal3_predict_production_time, id: "legacy-\${id}",
             pipeline: [swrlSelection, yamlBinding, simulation],
             parameters: {productType: "\${product}", quantity: "\${qty}"}}
  - name: limited
    when: {topic: "plant/+/limited"}
    event_id: id
    then:
      goal: {type: goal3_predict_production_time, id: "lim-\${key}",
             pipeline: [swrlSelection, yamlBinding, simulation],
             parameters: {productType: P-1001, quantity: 1}}
    debounce: 1h
    rate_limit: {max: 2, per: 1h}
  - name: machine-event
    when: {source: plant, topic: "plant/+/machines", where: [{field: machine, exists: true}]}
    then: {rerun: {submodel: "sm-\${machine}", change: "\${machine} \${state}"}}
  - name: order-done
    when: {topic: "+/+/orders/done"}
    then: {unwatch: "\${order.id}"}
  - name: erp-order
    when: {source: erp, where: [{field: order.quantity, gt: 0}]}
    then:
      goal: {type: goal3_predict_production_time, id: "erp-\${order.id}",
             pipeline: [swrlSelection, yamlBinding, simulation],
             parameters: {productType: "\${order.product}", quantity: "\${order.quantity}"}}
YAML

COMMON=(-b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX")
echo '{"order": {"id": "warm-up", "quantity": 0}}' | "$QGK_BIN/qgctl" produce "$ERP" "${COMMON[@]}"
# Short sessions: a restarted qg-trigger rejoins its group (Kafka sources, completed)
# without waiting out the killed one's default 45 s.
TRG_ARGS=(-X watch.max.goals=2 -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)
trg_start trigger "$QGK_DIR/triggers.yaml" "${TRG_ARGS[@]}"
qg_wait_for "qg-trigger connected" 60 trg_connected trigger 2 || qg_die "qg-trigger did not connect"
STATS=$QGK_DIR/trigger.stats
pub() { mosquitto_pub -p "$TRG_MQTT_PORT" -u plant -P s3cret -q 1 "$@"; }

# --- bad input ---
pub -t plant/l1/orders/new -m 'not json'
pub -t plant/l1/orders/new -m '[1, 2]'
pub -t plant/l1/orders/new -m '{"order": {"id": "no-quantity"}}'
pub -t plant/l1/orders/new -m '{"order": {"id": "no-product", "quantity": 3}}'
pub -t plant/l1/alarms -m '{"alarm": 1}'
pub -t plant/l1/orders/new -m '{"order": {"id": "zero", "product": "P-1001", "quantity": 0}}'
qgk_check "2 malformed payloads, 2 rules missing a field, 1 unknown topic, 2 unmatched (one on Kafka): counted" \
    trg_wait_stat "$STATS" '.malformed == 2 and .missingField == 2 and .unknownTopic == 1 and .unmatched == 2' 30
qgk_check "the reasons are logged" bash -c "
    grep -q 'malformed: payload is not JSON' '$QGK_DIR/log/trigger.log' &&
    grep -q 'malformed: payload is not a JSON object' '$QGK_DIR/log/trigger.log' &&
    grep -q 'field order.quantity is missing' '$QGK_DIR/log/trigger.log' &&
    grep -q 'field order.product is missing' '$QGK_DIR/log/trigger.log' &&
    grep -q 'plant/l1/alarms: no rule for this topic' '$QGK_DIR/log/trigger.log'"
qgk_check "no goal from them, and qg-trigger is running" \
    bash -c "jq -e '.goals == 0' '$STATS' >/dev/null && kill -0 \$(cat '$QGK_DIR/pid/trigger')"

# --- MQTT 3.1.1 and Kafka sources ---
mosquitto_pub -V mqttv311 -p "$TRG_MQTT_PORT" -u plant -P s3cret -q 1 -t legacy/l2/orders \
    -m '{"id": "L1", "product": "P-2001", "qty": 7}'
printf '%s\n' '{"order": {"id": "K1", "product": "P-3001", "quantity": 4}}' '{bad json' \
    '{"order": {"id": "K2", "product": "P-1001", "quantity": 9}}' |
    "$QGK_BIN/qgctl" produce "$ERP" "${COMMON[@]}"
qgk_check "the MQTT 3.1.1 event and the 2 good Kafka records became goals" \
    trg_wait_stat "$STATS" '.goals == 3 and .malformed == 3' 60

# --- debounce and rate limit ---
for e in '{"id": "r1", "key": "a"}' '{"id": "r2", "key": "a"}' '{"id": "r3", "key": "b"}' \
    '{"id": "r4", "key": "c"}'; do
    pub -t plant/l1/limited -m "$e"
done
qgk_check "debounce: a second event for goal lim-a within 1h dropped; rate limit 2/h: the fourth dropped" \
    trg_wait_stat "$STATS" '.goals == 5 and .debounced == 1 and .rateLimited == 1' 30

# --- 400 events while qg-trigger is killed twice, at-least-once then exactly-once ---
count_goals() { # PATTERN: goal ids in the first stage topic (read_committed) into goals.txt
    "$QGK_BIN/qgctl" tail "$QGK_PREFIX.swrlSelection" --from-beginning --timeout 5 "${COMMON[@]}" \
        2>/dev/null | jq -r '.QueryGoal.goalId' >"$QGK_DIR/goals.txt"
    [ "$(grep -c "$1" "$QGK_DIR/goals.txt")" -ge "$N" ]
}
kill_run() { # MODE GUARANTEE
    local mode=$1 guarantee=$2 k
    kill -TERM "$(cat "$QGK_DIR/pid/trigger")"
    qg_wait_for "qg-trigger to stop" 60 test -e "$QGK_DIR/rc/trigger" || true
    TRG_ARGS+=(-X "processing.guarantee=$guarantee")
    trg_start trigger "$QGK_DIR/triggers.yaml" "${TRG_ARGS[@]}"
    qg_wait_for "qg-trigger connected" 60 trg_connected trigger 2 || qg_die "not connected"
    (for i in $(seq 1 $N); do
        printf '{"order": {"id": "%s-E%d", "product": "P-1001", "quantity": %d}}\n' "$mode" "$i" "$i"
        sleep 0.01 # a steady flow, not synchronisation
    done | pub -t plant/l1/orders/new -l) &
    local pub_pid=$!
    for k in 1 2; do
        qg_wait_for "100 goals since the last start" 60 jq -e ".goals >= 100" "$STATS" || true
        trg_proc_kill9 trigger
        qg_say "$guarantee: killed qg-trigger (-9) after $(trg_stat "$STATS" goals) goals since its start"
        trg_start trigger "$QGK_DIR/triggers.yaml" "${TRG_ARGS[@]}"
        qg_wait_for "qg-trigger connected" 60 trg_connected trigger 2 || true
    done
    wait "$pub_pid"
    qg_wait_for "$N goals in Kafka" 120 count_goals "^order-$mode-E" || true
    TOTAL=$(grep -c "^order-$mode-E" "$QGK_DIR/goals.txt" || true)
    DISTINCT=$(grep "^order-$mode-E" "$QGK_DIR/goals.txt" | sort -u | wc -l)
    qg_say "$guarantee: order goals in Kafka: $TOTAL records, $DISTINCT distinct (expected $N)"
}
kill_run alo at_least_once
qgk_check "at_least_once, two kill -9 and restarts: no event lost ($N distinct goals)" \
    test "$DISTINCT" = "$N"
# at_least_once: a goal acknowledged by Kafka in the few ms before its delivery report
# was read is produced again after the restart (same goal id); exactly_once has none.
qgk_check "at_least_once: only the goals in flight at a kill repeat, same goal id (here $((TOTAL - DISTINCT)), at most 10 per kill)" \
    test "$((TOTAL - DISTINCT))" -le 20
pub -t plant/l1/orders/new -m '{"order": {"id": "alo-E7", "product": "P-1001", "quantity": 7}}'
qgk_check "the redelivered event id alo-E7 was recognised as a duplicate" \
    trg_wait_stat "$STATS" '.duplicates >= 1' 60
kill_run eos exactly_once
qgk_check "exactly_once, two kill -9 and restarts: no event lost ($N distinct goals)" \
    test "$DISTINCT" = "$N"
qgk_check "exactly_once: none duplicated ($N records)" test "$TOTAL" = "$N"
qgk_check "the other goals: L1, K1, K2, lim-a, lim-b, once each, and nothing else" \
    test "$(grep -v '^order-\(alo\|eos\)-E' "$QGK_DIR/goals.txt" | sort | tr '\n' ' ')" = "erp-K1 erp-K2 legacy-L1 lim-a lim-b "
qgk_check "a goal carries the event's values with their types and the topic level" \
    bash -c "'$QGK_BIN/qgctl' tail '$QGK_PREFIX.swrlSelection' --from-beginning --key order-eos-E42 --count 1 \
        --timeout 10 ${COMMON[*]} | jq -e '.QueryGoal.parameters | from_entries |
        .productType == \"P-1001\" and .quantity == 42 and .line == \"l1\"' >/dev/null"
# --- watches: the bound, a re-run from a plant event, the time limit, unwatch ---
answered() { # ID TTL_MS: an answered goal flagged watch: live, whose binding read sm-X
    jq -nc --arg id "$1" --argjson ttl "$2" '{QueryGoal: {goalId: $id,
        goalType: "goal3_predict_production_time", parameters: [],
        metadata: {pipelineStages: ["swrlSelection", "yamlBinding", "simulation"], watch: "live",
                   watchTtlMs: $ttl}, outputs: {estimatedTime: 100, confidence: 0.9}},
      executionLog: {goalId: $id, status: "completed", stages: [{stage: "yamlBinding",
        status: "completed", result: {submodelsRead: ["sm-X"]}}]}}'
}
{ answered W1 15000; answered W2 3600000; } |
    "$QGK_BIN/qgctl" produce "$QGK_PREFIX.completed" "${COMMON[@]}"
qgk_check "two answered goals flagged watch: live are watched" \
    trg_wait_stat "$STATS" '.watches == 2' 60
answered W3 3600000 | "$QGK_BIN/qgctl" produce "$QGK_PREFIX.completed" "${COMMON[@]}"
qgk_check "watch.max.goals=2: the third is refused" \
    trg_wait_stat "$STATS" '.watches == 2 and .watchRefused == 1' 30
qgk_check "the refusal is on <prefix>.updates with its reason" bash -c "
    '$QGK_BIN/qgctl' tail '$QGK_PREFIX.updates' --from-beginning --key W3 --count 1 --timeout 20 \
        ${COMMON[*]} | jq -e '.status == \"refused\" and (.reason | test(\"watch.max.goals\"))' >/dev/null"
pub -t plant/l1/machines -m '{"machine": "X", "state": "down"}'
qgk_check "a plant event on sm-X re-ran both watched goals" trg_wait_stat "$STATS" '.reruns == 2' 30
qgk_check "the re-run of W2 is on the first stage with a new run id and the change" bash -c "
    '$QGK_BIN/qgctl' tail '$QGK_PREFIX.swrlSelection' --from-beginning --key W2 --count 1 --timeout 20 \
        ${COMMON[*]} | jq -e '.QueryGoal.metadata | (.runId | startswith(\"run-\"))
            and .previousRunId == \"initial\" and .rerunBecause == [\"X down\"]' >/dev/null"
qgk_check "W1's watch ended after its watchTtlMs" \
    trg_wait_stat "$STATS" '.watchExpired == 1 and .watches == 1' 60
pub -t plant/l1/orders/done -m '{"order": {"id": "W2"}}'
qgk_check "the order-done event stopped watching W2" \
    trg_wait_stat "$STATS" '.unwatched == 1 and .watches == 0' 30

qgk_check "qg-trigger exits 0 on SIGTERM" qgk_workers_stop
qgk_check "and leaves an empty spool" bash -c "! test -s '$QGK_DIR/spool-trigger/plant.spool'"
qgk_finish
