#!/usr/bin/env bash
# Live promises end to end with real peers: Debian's Mosquitto, FA³ST Service
# with its MQTT message bus pointed at it and the sample factory loaded, the
# three real workers (qg-selection, qg-binding, qg-simulation) and qg-trigger.
# A new-order event on MQTT becomes a watched goal3 question; setting machine
# M1 down until minute 600 through the AAS API makes FA³ST publish change events;
# qg-trigger re-runs the goal with a new run id, and the updated answer arrives
# on <prefix>.updates with a later estimate and "M1 status idle -> down". The
# expected values are read from the answers in <prefix>.completed, not from
# qg-trigger. `qgctl watch --live ID --stop` ends the watch, `qgctl watch
# --live ID` starts it again from the last answer.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init trigger-live
. "$QG_ROOT/tests/integration/trigger.lib"
trg_init
for b in qg-selection qg-binding qg-simulation qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done

qgk_broker_mock
trg_mosquitto_start
TRG_AAS_NAME=trigger-live-$$
AAS_URL=$("$QG_ROOT/scripts/aas-server" start --model "$QG_ROOT/factory/seed-factory" \
    --name "$TRG_AAS_NAME" --mqtt "127.0.0.1:$TRG_MQTT_PORT")
qg_say "FA³ST at $AAS_URL, publishing to MQTT port $TRG_MQTT_PORT"

COMMON=(-b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX")
trg_proc_start selection "$QGK_BIN/qg-selection" "${COMMON[@]}" \
    --registry-file "$QG_ROOT/config/registry.yaml" --rules-file "$QG_ROOT/config/rules.swrl"
trg_proc_start binding "$QGK_BIN/qg-binding" "${COMMON[@]}" -X "aas.base.url=$AAS_URL" \
    -X "registry.dir=$QG_ROOT/config" -X "binding.work.dir=$QGK_DIR/binding"
trg_proc_start simulation "$QGK_BIN/qg-simulation" "${COMMON[@]}" \
    -X "simulation.work.dir=$QGK_DIR/simulation"

cat >"$QGK_DIR/triggers.yaml" <<YAML
sources:
  - name: plant
    type: mqtt
    port: $TRG_MQTT_PORT
    protocol: 5
    client_id: qg-trigger-live-$$
    clean_session: false
    subscribe: ["events/ValueChangeEventMessage", "plant/+/orders/new"]
rules:
  - name: machine-status
    when: {source: plant, topic: events/ValueChangeEventMessage, shape: faaast,
           where: [{field: idShort, in: [status, next_available_time]}]}
    then: {rerun: watched}
    debounce: 1s
  - name: new-order
    when: {source: plant, topic: plant/+/orders/new, where: [{field: order.quantity, gt: 0}]}
    event_id: order.id
    then:
      goal:
        type: goal3_predict_production_time
        id: "order-\${order.id}"
        pipeline: [swrlSelection, yamlBinding, simulation]
        parameters: {productType: "\${order.product}", quantity: "\${order.quantity}",
                     optimizationMode: fast}
        watch: live
YAML
trg_start trigger "$QGK_DIR/triggers.yaml"
qg_wait_for "qg-trigger connected" 60 trg_connected trigger || qg_die "qg-trigger did not connect"
STATS=$QGK_DIR/trigger.stats

mosquitto_pub -p "$TRG_MQTT_PORT" -q 1 -t plant/line1/orders/new \
    -m '{"order": {"id": "A1", "product": "P-1001", "quantity": 50}}'
GOAL=order-A1
"$QGK_BIN/qgctl" tail "$QGK_PREFIX.completed" --from-beginning --key "$GOAL" --count 1 \
    --timeout 180 "${COMMON[@]}" >"$QGK_DIR/first.json" || true
qgk_check "the MQTT order event became goal $GOAL and it was answered" \
    jq -e '.QueryGoal.outputs.estimatedTime > 0' "$QGK_DIR/first.json"
qgk_check "the goal carries the event's parameters and the trigger's provenance" \
    jq -e '(.QueryGoal.parameters | from_entries | .productType == "P-1001" and .quantity == 50)
           and .QueryGoal.metadata.trigger.rule == "new-order" and .QueryGoal.metadata.trigger.eventId == "A1"' \
    "$QGK_DIR/first.json"
qgk_check "the binding's result names the submodels it read (M1 status among them)" \
    jq -e '[.executionLog.stages[] | select(.stage == "yamlBinding") | .result.submodelsRead[]]
           | index("urn:factory:submodel:status:M1") != null' "$QGK_DIR/first.json"
qgk_check "qg-trigger watches the answered goal (metadata.watch: live)" \
    trg_wait_stat "$STATS" '.watches == 1' 30

# M1 (the only drilling machine) breaks down: status down, repaired in 600 min.
# The engine leaves a down machine out only without a next_available_time; with
# one, nothing starts on it before that time.
SM=$(printf 'urn:factory:submodel:status:M1' | base64 -w0 | tr '+/' '-_' | tr -d '=')
patch() {
    curl -fsS -X PATCH -H 'Content-Type: application/json' \
        "$AAS_URL/submodels/$SM/submodel-elements/$1/\$value" -d "$2"
}
T0=$(date +%s%N)
qgk_check "M1 status set to down and next_available_time to 600 through the AAS API" \
    bash -c "$(declare -f patch); AAS_URL=$AAS_URL SM=$SM; patch status '\"down\"' && patch next_available_time '\"600\"'"
# The updated answer that includes the repair time (the two changes usually come
# in one re-run; if not, the second re-run's update is the one).
has_repair() {
    "$QGK_BIN/qgctl" tail "$QGK_PREFIX.updates" --from-beginning --key "$GOAL" --timeout 2 \
        "${COMMON[@]}" 2>/dev/null | jq -c 'select(.changes | index("M1 next_available_time 20 -> 600"))' \
        | head -n 1 >"$QGK_DIR/update.json"
    [ -s "$QGK_DIR/update.json" ]
}
qg_wait_for "the updated answer" 180 has_repair || true
T1=$(date +%s%N)
qg_say "update after $(( (T1 - T0) / 1000000 )) ms: $(cat "$QGK_DIR/update.json")"
RUN=$(jq -r '.runId // "none"' "$QGK_DIR/update.json")
"$QGK_BIN/qgctl" tail "$QGK_PREFIX.completed" --from-beginning --key "$GOAL" --timeout 3 \
    "${COMMON[@]}" | jq -c --arg r "$RUN" 'select(.QueryGoal.metadata.runId == $r)' >"$QGK_DIR/second.json" || true

qgk_check "an updated answer arrived on <prefix>.updates" \
    jq -e '.status == "updated" and .goalId == "order-A1"' "$QGK_DIR/update.json"
"$QGK_BIN/qgctl" tail "$QGK_PREFIX.updates" --from-beginning --key "$GOAL" --timeout 2 \
    "${COMMON[@]}" >"$QGK_DIR/updates.json" 2>/dev/null || true
qgk_check "the updates name what changed: M1 status idle -> down, next_available_time 20 -> 600" \
    jq -se '[.[].changes[]] | index("M1 status idle -> down") != null and index("M1 next_available_time 20 -> 600") != null' \
    "$QGK_DIR/updates.json"
qgk_check "the re-run has a new run id, and its answer in completed carries it" \
    jq -e --slurpfile u "$QGK_DIR/update.json" \
    '.QueryGoal.metadata.runId == $u[0].runId and $u[0].runId != $u[0].previousRunId' "$QGK_DIR/second.json"
qgk_check "the re-run's binding read M1 as down until 600" \
    jq -e '[.executionLog.stages[] | select(.stage == "yamlBinding") | .result.scenario.machines[]
            | select(.machine_id == "M1") | [.status, .next_available_time]] == [["down", 600]]' "$QGK_DIR/second.json"
qgk_check "old and new estimates are the two answers' estimatedTime" \
    jq -e --slurpfile a "$QGK_DIR/first.json" --slurpfile b "$QGK_DIR/second.json" \
    '.oldEstimate == $a[0].QueryGoal.outputs.estimatedTime and .newEstimate == $b[0].QueryGoal.outputs.estimatedTime' \
    "$QGK_DIR/update.json"
qgk_check "with M1 down until 600 the estimate is later, and so is the promise" \
    jq -e '.newEstimate > .oldEstimate and .newPromiseAt > .oldPromiseAt' "$QGK_DIR/update.json"

qgk_check "qgctl watch --live --stop ends the watch" \
    "$QGK_BIN/qgctl" watch --live "$GOAL" --stop "${COMMON[@]}"
qgk_check "qg-trigger saw it: no goal watched" trg_wait_stat "$STATS" '.watches == 0' 30
qgk_check "qgctl watch --live watches it again from its last answer" \
    "$QGK_BIN/qgctl" watch --live "$GOAL" --ttl 1h "${COMMON[@]}"
qgk_check "qg-trigger watches it again" trg_wait_stat "$STATS" '.watches == 1' 30
qgk_check "no event was malformed, unknown or missing a field" \
    jq -e '.malformed == 0 and .unknownTopic == 0 and .missingField == 0 and .goals == 1' "$STATS"
qgk_check "every process is still running" qgk_workers_alive
qgk_check "qg-trigger and the workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
