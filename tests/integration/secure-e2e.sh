#!/usr/bin/env bash
# The seed goal end to end on a secured plant: Kafka 3.9 with SASL_SSL
# (SCRAM-SHA-512), the StandardAuthorizer and per-stage ACLs (scripts/kafka-acls);
# the AAS server (FA³ST) behind HTTPS that lets through only valid OAuth2 tokens
# (scripts/aas-proxy: Apache httpd with mod_auth_openidc checking the JWT's
# signature, issuer, audience and expiry; tokens from mock-oauth2-server); the
# binding stage on OAuth2 client credentials with tokens that expire after 4 s.
# The simulation worker authenticates to Kafka with a client certificate (mutual
# TLS listener, principal = CN) and runs exactly_once (transactional ids under its
# ACL prefix); the binding worker presents a client certificate to the AAS proxy.
# Then each failure closes: a wrong Kafka password and an unknown Kafka CA stop a
# worker at start; a principal without Read on its topic stops at start naming
# it; an expired static token and an unknown AAS CA dead-letter the goal with the
# reason; a principal without Write on the next topic stops without committing,
# and the goal is finished by a correctly authorised worker. qg-gateway (behind a
# bearer token) and qg-trigger (exactly_once, fed by an MQTT broker over TLS with a password)
# run on the same SASL_SSL cluster, each as its own principal with its own grants
# (scripts/kafka-acls gateway / trigger): the seed question asked over HTTP and an
# MQTT order event both become answered goals. No secret appears in any log, output
# or DLQ record.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

BIN=$QG_BUILD/bin
DIR=$(mktemp -d "${TMPDIR:-/tmp}/qg-secure.XXXXXX")
PASSED=0
FAILED=0
PIDS=()
check() { # DESC COMMAND...
    local desc=$1
    shift
    if "$@"; then echo "ok - $desc"; PASSED=$((PASSED + 1)); else echo "not ok - $desc"; FAILED=$((FAILED + 1)); fi
}
jq_ok() { [ -s "$2" ] && jq -e "$1" "$2" >/dev/null 2>&1; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
ports_free() { # PORT...: none accepts a connection
    local p
    for p in "$@"; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 1; done
    return 0
}
until port=$(free_port) && ports_free "$((port + 1))" "$((port + 2))"; do :; done
export QG_BROKER_PORT=$port
unset QG_KAFKA_PORT
NAME=secure-$$
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$QG_ROOT/scripts/aas-proxy" stop --name "$NAME" >/dev/null 2>&1 || true
    "$QG_ROOT/scripts/oauth-server" stop --name "$NAME" >/dev/null 2>&1 || true
    "$QG_ROOT/scripts/aas-server" stop --name "$NAME" >/dev/null 2>&1 || true
    "$QG_ROOT/scripts/kafka" stop >/dev/null 2>&1 || true
    [ "$rc" = 0 ] && rm -rf "$DIR" || echo "logs in $DIR"
}
trap cleanup EXIT

# ---- peers ----
QG_BROKER_SECURE=1 QG_BROKER_SCRAM_USERS="selection binding simulation qgctl gateway trigger reader nowrite" \
    "$QG_ROOT/scripts/kafka" start >/dev/null
CLIENTS=$QG_CACHE/kafka/run-$port/clients
TLS=$QG_CACHE/kafka/run-$port/tls
# Every stage's topics (the gateway's index reads them all) and qg-trigger's own (--trigger).
"$BIN/qgctl" topics -F "$CLIENTS/admin.properties" --trigger \
    swrlSelection yamlBinding simulation aasQuery dataFiltering >/dev/null 2>"$DIR/topics.log"
"$QG_ROOT/scripts/kafka-acls" stage User:selection swrlSelection yamlBinding
"$QG_ROOT/scripts/kafka-acls" stage User:binding yamlBinding simulation
"$QG_ROOT/scripts/kafka-acls" stage User:simulation simulation
"$QG_ROOT/scripts/kafka-acls" stage User:nowrite yamlBinding
"$QG_ROOT/scripts/kafka-acls" client User:qgctl swrlSelection
"$QG_ROOT/scripts/kafka-acls" gateway User:gateway swrlSelection aasQuery
"$QG_ROOT/scripts/kafka-acls" trigger User:trigger swrlSelection

cat >"$DIR/oauth.json" <<'JSON'
{"interactiveLogin": false,
 "tokenCallbacks": [{"issuerId": "plant", "tokenExpiry": 4,
   "requestMappings": [{"requestParam": "grant_type", "match": "client_credentials",
                        "claims": {"sub": "qg-binding", "aud": ["aas"]}}]}]}
JSON
ISSUER=$("$QG_ROOT/scripts/oauth-server" start --name "$NAME" --config "$DIR/oauth.json")
AAS_PLAIN=$("$QG_ROOT/scripts/aas-server" start --model "$QG_ROOT/factory/seed-factory" --name "$NAME")
mkdir -p "$DIR/aas-tls" "$DIR/other-ca"
"$QG_ROOT/scripts/tls" ca "$DIR/aas-tls"
"$QG_ROOT/scripts/tls" ca "$DIR/other-ca"
AAS=$("$QG_ROOT/scripts/aas-proxy" start --upstream "$AAS_PLAIN" --issuer "$ISSUER" \
    --tls-dir "$DIR/aas-tls" --name "$NAME" --require-client-cert)
"$QG_ROOT/scripts/tls" client "$DIR/aas-tls" qg-binding
AAS_MTLS=(-X "aas.tls.cert.file=$DIR/aas-tls/qg-binding.pem" -X "aas.tls.key.file=$DIR/aas-tls/qg-binding.key")
SECRET=binding-client-secret-$RANDOM$RANDOM
printf '%s\n' "$SECRET" >"$DIR/client.secret"
chmod 600 "$DIR/client.secret"

# ---- workers ----
start_worker() { # NAME PROGRAM ARGS...: pid in $DIR/NAME.pid, stderr in $DIR/NAME.log, stdout in NAME.out
    local name=$1
    shift
    "$@" >"$DIR/$name.out" 2>"$DIR/$name.log" &
    echo $! >"$DIR/$name.pid"
    PIDS+=($!)
}
consuming() { grep -q '"stage .* consuming' "$DIR/$1.log"; }
exited() { ! kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }
exit_code() { wait "$(cat "$DIR/$1.pid")" 2>/dev/null; echo $?; }
AAS_OAUTH=("${AAS_MTLS[@]}" -X "aas.base.url=$AAS" -X "aas.ca.file=$DIR/aas-tls/ca.pem"
    -X "aas.oauth.token.url=$ISSUER/token" -X aas.oauth.client.id=qg-binding
    -X "aas.oauth.client.secret.file=$DIR/client.secret" -X aas.oauth.scope=aas.read
    -X "registry.dir=$QG_ROOT/config")

start_worker selection "$BIN/qg-selection" -F "$CLIENTS/selection.properties" \
    --registry-file "$QG_ROOT/config/registry.yaml" --rules-file "$QG_ROOT/config/rules.swrl"
start_worker binding "$BIN/qg-binding" -F "$CLIENTS/binding.properties" "${AAS_OAUTH[@]}" \
    -X "binding.work.dir=$DIR/binding"
start_worker simulation "$BIN/qg-simulation" -F "$CLIENTS/simulation.mtls.properties" \
    -X processing.guarantee=exactly_once \
    -X "simulation.work.dir=$DIR/simulation"
for w in selection binding simulation; do
    qg_wait_for "qg-$w consuming" 60 consuming "$w" || { tail -5 "$DIR/$w.log"; exit 1; }
done

ask() { # GOAL_ID OUT: the seed question with a fixed goal id, submitted and followed
    "$BIN/qgctl" ask "Predict production time for product P-1001 quantity 50" -o "$DIR/$1.json" \
        --patterns "$QG_ROOT/config/goal-patterns.yaml" >/dev/null
    jq --arg id "$1" '.QueryGoal.goalId = $id' "$DIR/$1.json" >"$DIR/$1.id.json"
    "$BIN/qgctl" submit "$DIR/$1.id.json" --wait --json --timeout 120 \
        -F "$CLIENTS/qgctl.properties" >"$2" 2>>"$DIR/qgctl.log"
}
check "the seed goal completes on SASL_SSL Kafka with ACLs and the OAuth2-protected AAS server" \
    ask secure-1 "$DIR/answer1.json"
check "... with a production time in the answer" \
    bash -c "test -s '$DIR/answer1.json' && jq -e '.QueryGoal.outputs.estimatedTime > 0' '$DIR/answer1.json' >/dev/null"

# A token from the same client and scope, to see the binding's token expire.
token_of() { # SCOPE
    curl -fsS -u "qg-binding:$SECRET" -d grant_type=client_credentials -d "scope=$1" "$ISSUER/token" | jq -r .access_token
}
expired() { # TOKEN: its exp claim has passed
    python3 -c 'import base64, json, sys, time
p = sys.argv[1].split(".")[1]
# The proxy compares whole seconds: a token is refused from the second after exp.
sys.exit(0 if json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["exp"] + 1 < time.time() else 1)' "$1"
}
probe=$(token_of aas.read)
qg_wait_for "a 4 s token to expire" 30 expired "$probe"
check "after the first token expired, the binding fetches a new one and a second goal completes" \
    ask secure-2 "$DIR/answer2.json"

# ---- the gateway on SASL_SSL: the seed question over HTTP ----
GW_PORT=$(free_port)
GW=http://127.0.0.1:$GW_PORT
HTTP_TOKEN=gateway-token-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$HTTP_TOKEN" >"$DIR/http.token"
printf 'Authorization: Bearer %s\n' "$HTTP_TOKEN" >"$DIR/http.header"
chmod 600 "$DIR/http.token" "$DIR/http.header"
start_worker gateway "$BIN/qg-gateway" -F "$CLIENTS/gateway.properties" -X topics.create=false \
    -X "http.listen=127.0.0.1:$GW_PORT" -X "http.token.file=$DIR/http.token" \
    --patterns "$QG_ROOT/config/goal-patterns.yaml"
gw_ready() { curl -sf --max-time 5 "$GW/readyz" >"$DIR/gateway-ready.json"; }
check "qg-gateway as its own SCRAM principal is ready: index caught up on every stage topic, the stage groups' members seen" \
    qg_wait_for "qg-gateway ready" 90 gw_ready
check "... it refuses a request without its bearer token (401)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d '{"text": "x"}' "$GW/api/v1/goals")" = 401
gw_post() { # TEXT -> Location of the goal (202)
    curl -sS --max-time 30 -o "$DIR/gateway-post.json" -w '%{http_code} %header{location}' \
        -H @"$DIR/http.header" -H 'Content-Type: application/json' \
        -d "$(jq -cn --arg t "$1" '{text: $t}')" "$GW/api/v1/goals" 2>>"$DIR/curl.log"
}
gw_final() { # LOCATION OUT: the goal's status document once completed or failed
    curl -sS --max-time 10 -H @"$DIR/http.header" -o "$2" "$GW$1" 2>>"$DIR/curl.log" &&
        jq -e '.status == "completed" or .status == "failed"' "$2" >/dev/null
}
post=$(gw_post "Predict production time for product P-1001 quantity 50" || true)
GW_LOC=${post#202 }
check "POST /api/v1/goals with the seed question: 202 Accepted and the goal's Location" \
    bash -c "[[ '$post' == '202 /api/v1/goals/'* ]]"
qg_wait_for "the gateway's goal to finish" 120 gw_final "$GW_LOC" "$DIR/answer-gateway.json" || true
check "... answered end to end through the secured cluster: GET shows it completed with a production time" \
    jq_ok '.status == "completed" and .goal.executionLog.status == "completed"
           and ([.goal.executionLog.stages[].stage] == ["swrlSelection","yamlBinding","simulation"])
           and .goal.QueryGoal.outputs.estimatedTime > 0' "$DIR/answer-gateway.json"

# ---- qg-trigger on SASL_SSL: an MQTT order event becomes an answered goal ----
MQTT_PORT=$(free_port)
MQTT_PASSWORD=mqtt-password-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$MQTT_PASSWORD" >"$DIR/mqtt.password"
chmod 600 "$DIR/mqtt.password"
mosquitto_passwd -b -c "$DIR/mosquitto.passwd" plant "$MQTT_PASSWORD" >/dev/null
"$QG_ROOT/scripts/tls" server "$DIR/aas-tls" mqtt # the plant CA signs the MQTT broker's certificate
cat >"$DIR/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
cafile $DIR/aas-tls/ca.pem
certfile $DIR/aas-tls/mqtt.pem
keyfile $DIR/aas-tls/mqtt.key
tls_version tlsv1.2
allow_anonymous false
password_file $DIR/mosquitto.passwd
persistence false
user $(id -un)
EOF
PATH=$PATH:/usr/sbin start_worker mosquitto mosquitto -c "$DIR/mosquitto.conf"
mqtt_up() { (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null; }
qg_wait_for "mosquitto on $MQTT_PORT" 20 mqtt_up || { tail -5 "$DIR/mosquitto.log"; exit 1; }
cat >"$DIR/triggers.yaml" <<YAML
sources:
  - {name: plant, type: mqtt, host: 127.0.0.1, port: $MQTT_PORT, protocol: 5,
     client_id: qg-trigger-secure-$$, clean_session: false, qos: 1, username: plant,
     password_file: $DIR/mqtt.password, tls: {ca_file: $DIR/aas-tls/ca.pem},
     subscribe: ["plant/+/orders/new"]}
rules:
  - name: new-order
    when: {topic: "plant/+/orders/new", where: [{field: order.quantity, gt: 0}]}
    event_id: order.id
    then:
      goal:
        type: goal3_predict_production_time
        id: "order-\${order.id}"
        pipeline: [swrlSelection, yamlBinding, simulation]
        parameters: {productType: "\${order.product}", quantity: "\${order.quantity}"}
        watch: live
YAML
start_worker trigger "$BIN/qg-trigger" -F "$CLIENTS/trigger.properties" -X topics.create=false \
    -X processing.guarantee=exactly_once --trigger-file "$DIR/triggers.yaml" \
    --spool-dir "$DIR/trigger-spool" --stats-file "$DIR/trigger.stats" --stats-interval-ms 200
trg_subscribed() { grep -q 'mqtt .*: connected to' "$DIR/trigger.log"; }
check "qg-trigger as its own SCRAM principal (exactly_once) loads its state topics and connects to MQTT over TLS" \
    qg_wait_for "qg-trigger connected" 90 trg_subscribed
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$DIR/aas-tls/ca.pem" -u plant -P "$MQTT_PASSWORD" -V 5 -q 1 \
    -t plant/line1/orders/new -m '{"order": {"id": "S1", "product": "P-1001", "quantity": 50}}' \
    2>>"$DIR/mosquitto-pub.log" || true
check "one MQTT order event becomes goal order-S1 on the secured cluster, answered end to end" \
    bash -c "'$BIN/qgctl' wait order-S1 --json --timeout 120 -F '$CLIENTS/qgctl.properties' \
        >'$DIR/answer-trigger.json' 2>>'$DIR/qgctl.log' &&
        jq -e '.QueryGoal.outputs.estimatedTime > 0 and .QueryGoal.metadata.trigger.rule == \"new-order\"' \
        '$DIR/answer-trigger.json' >/dev/null"
check "the MQTT broker takes TLS only: a plaintext client is refused" \
    bash -c "! timeout 10 mosquitto_pub -h 127.0.0.1 -p '$MQTT_PORT' -u plant -P '$MQTT_PASSWORD' \
        -V 5 -q 1 -t plant/line1/orders/new -m '{}' 2>/dev/null"
trg_watching() { jq -e '.goals == 1 and .watches == 1' "$DIR/trigger.stats"; }
check "... qg-trigger read the answer from completed with its group and watches the goal (state written in a transaction)" \
    qg_wait_for "qg-trigger to watch order-S1" 60 trg_watching

# ---- failures close ----
sed 's/^sasl.password=.*/sasl.password=not-the-password/' "$CLIENTS/binding.properties" >"$DIR/wrong-password.properties"
start_worker wrongpw "$BIN/qg-binding" -F "$DIR/wrong-password.properties" "${AAS_OAUTH[@]}"
qg_wait_for "a worker with a wrong password to stop" 60 exited wrongpw
check "a wrong Kafka password stops the worker at start (exit 1)" test "$(exit_code wrongpw)" = 1
check "... saying authentication failed" grep -q 'authentication with .* failed' "$DIR/wrongpw.log"

sed "s|^ssl.ca.location=.*|ssl.ca.location=$DIR/other-ca/ca.pem|" "$CLIENTS/binding.properties" >"$DIR/unknown-ca.properties"
start_worker unknownca "$BIN/qg-binding" -F "$DIR/unknown-ca.properties" "${AAS_OAUTH[@]}"
qg_wait_for "a worker that does not trust the broker to stop" 60 exited unknownca
check "an unknown Kafka CA stops the worker at start (exit 1) naming the TLS failure" \
    bash -c "[ $(exit_code unknownca) = 1 ] && grep -qi 'ssl\|certificate' '$DIR/unknownca.log'"

start_worker reader "$BIN/qg-binding" -F "$CLIENTS/reader.properties" "${AAS_OAUTH[@]}"
qg_wait_for "a principal without ACLs to stop" 60 exited reader
check "a principal without Read on its topic stops at start naming the topic and operation" \
    bash -c "[ $(exit_code reader) = 1 ] && grep -q \"not authorized to Read topic 'querygoal.yamlBinding'\" '$DIR/reader.log'"

# The stage principal may read yamlBinding but not write simulation: stop the
# good binding worker, let nowrite take the goal; it must stop without committing.
kill -TERM "$(cat "$DIR/binding.pid")"
qg_wait_for "qg-binding to stop" 30 exited binding
start_worker nowrite "$BIN/qg-binding" -F "$CLIENTS/nowrite.properties" "${AAS_OAUTH[@]}" \
    -X "binding.work.dir=$DIR/binding-nowrite"
qg_wait_for "qg-binding (nowrite) consuming" 60 consuming nowrite
"$BIN/qgctl" ask "Predict production time for product P-1001 quantity 5" -o "$DIR/g3.json" \
    --patterns "$QG_ROOT/config/goal-patterns.yaml" >/dev/null
jq '.QueryGoal.goalId = "secure-3"' "$DIR/g3.json" >"$DIR/g3.id.json"
"$BIN/qgctl" submit "$DIR/g3.id.json" -F "$CLIENTS/qgctl.properties" >/dev/null 2>>"$DIR/qgctl.log"
qg_wait_for "the principal without Write to stop" 90 exited nowrite
check "a principal without Write on the next topic stops (non-zero) naming the topic" \
    bash -c "[ $(exit_code nowrite) != 0 ] && grep -q 'delivery to querygoal.simulation failed: Broker: Topic authorization failed' '$DIR/nowrite.log'"
start_worker binding2 "$BIN/qg-binding" -F "$CLIENTS/binding.properties" "${AAS_OAUTH[@]}" \
    -X "binding.work.dir=$DIR/binding2"
check "... and the goal it left uncommitted is finished by a correctly authorised worker" \
    bash -c "'$BIN/qgctl' wait secure-3 --timeout 120 -F '$CLIENTS/qgctl.properties' >/dev/null 2>>'$DIR/qgctl.log'"

# Expired static token and unknown AAS CA: the goal is dead-lettered with the reason.
kill -TERM "$(cat "$DIR/binding2.pid")"
qg_wait_for "qg-binding to stop" 30 exited binding2
expired=$(token_of aas.read)
qg_wait_for "a 4 s token to expire" 30 expired "$expired"
printf '%s\n' "$expired" >"$DIR/expired.token"
start_worker expired "$BIN/qg-binding" -F "$CLIENTS/binding.properties" "${AAS_MTLS[@]}" -X "aas.base.url=$AAS" \
    -X "aas.ca.file=$DIR/aas-tls/ca.pem" -X "aas.token.file=$DIR/expired.token" \
    -X "registry.dir=$QG_ROOT/config" -X "binding.work.dir=$DIR/binding3"
qg_wait_for "qg-binding (expired token) consuming" 60 consuming expired
ask secure-4 "$DIR/answer4.json" || true
check "an expired token: the goal is dead-lettered by yamlBinding with HTTP 401" \
    grep -q 'dead-lettered (gate_failed): .*HTTP 401 from GET https://127.0.0.1' "$DIR/qgctl.log"
kill -TERM "$(cat "$DIR/expired.pid")"
qg_wait_for "qg-binding to stop" 30 exited expired
start_worker badca "$BIN/qg-binding" -F "$CLIENTS/binding.properties" "${AAS_MTLS[@]}" -X "aas.base.url=$AAS" \
    -X "aas.ca.file=$DIR/other-ca/ca.pem" -X "aas.oauth.token.url=$ISSUER/token" \
    -X aas.oauth.client.id=qg-binding -X "aas.oauth.client.secret.file=$DIR/client.secret" \
    -X "registry.dir=$QG_ROOT/config" -X "binding.work.dir=$DIR/binding4"
qg_wait_for "qg-binding (unknown AAS CA) consuming" 60 consuming badca
ask secure-5 "$DIR/answer5.json" || true
check "an unknown AAS CA: the goal is dead-lettered naming the host" \
    grep -q 'dead-lettered (gate_failed): .*TLS with 127.0.0.1 failed' "$DIR/qgctl.log"

# ---- no secret anywhere ----
"$BIN/qgctl" dlq list -F "$CLIENTS/qgctl.properties" >"$DIR/dlq.txt" 2>&1 || true
for g in secure-4 secure-5; do "$BIN/qgctl" dlq show "$g" -F "$CLIENTS/qgctl.properties" >>"$DIR/dlq.txt" 2>&1 || true; done
"$BIN/qg-binding" -F "$CLIENTS/binding.properties" "${AAS_OAUTH[@]}" --dump-config >"$DIR/dump.txt" 2>&1 || true
QG_HTTP_TOKEN=$HTTP_TOKEN "$BIN/qg-gateway" -F "$CLIENTS/gateway.properties" --dump-config >"$DIR/dump-gateway.txt" 2>&1 || true
"$BIN/qg-trigger" -F "$CLIENTS/trigger.properties" --trigger-file "$DIR/triggers.yaml" --dump-config \
    >"$DIR/dump-trigger.txt" 2>&1 || true
secrets=("$SECRET" "$probe" "$expired" "$HTTP_TOKEN" "$MQTT_PASSWORD")
for f in "$TLS"/*.password; do secrets+=("$(cat "$f")"); done
leaks=0
for s in "${secrets[@]}"; do
    [ -n "$s" ] || continue
    if grep -rlF -- "$s" "$DIR"/*.log "$DIR"/*.out "$DIR"/*.txt "$DIR"/*.json "$DIR"/trigger.stats >/dev/null 2>&1; then
        leaks=$((leaks + 1))
    fi
done
check "no password, client secret or token in any log, output, HTTP answer, dump or DLQ record: workers, qgctl, gateway, trigger (${#secrets[@]} secrets)" \
    test "$leaks" = 0
check "--dump-config masks the Kafka password (binding worker, gateway, trigger) and the gateway's bearer token" \
    bash -c "grep -q '^sasl.password=\*\*\*' '$DIR/dump.txt' && grep -q '^sasl.password=\*\*\*' '$DIR/dump-gateway.txt' &&
        grep -q '^sasl.password=\*\*\*' '$DIR/dump-trigger.txt' && grep -q '^http.token=\*\*\*' '$DIR/dump-gateway.txt'"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
