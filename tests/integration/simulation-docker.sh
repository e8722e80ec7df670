#!/usr/bin/env bash
# The docker runner on podman's Docker Engine API service (scripts/podman):
#  - a goal whose model is a container image (the seed registry format,
#    container.image) goes through qg-selection, qg-binding (real AAS server,
#    seed factory) and qg-simulation; the container read the bound scenario and
#    the goal's parameters, ran as non-root with a read-only root, no network,
#    the model's memory and CPU limits; its goal3_result.json (plan and
#    bottlenecks under detailed_results) is the answer;
#  - a container past its time limit is stopped and removed (stage_error);
#  - a missing image is a stage_error naming the image;
#  - a daemon that does not answer is retried, then transient_exhausted;
#  - a container left by a dead worker is removed when a worker starts;
#  - SIGTERM during a container run stops it, the goal is redelivered and answered;
#  - no container is left behind (listed by label).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init sim-docker
. "$QG_ROOT/tests/data/simulators/lib.sh"
. "$QG_ROOT/tests/integration/container-e2e.lib"
for b in qg-selection qg-binding qg-simulation qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done

PODMAN_STARTED=
AAS_NAME=sim-docker-$$
docker_cleanup() {
    local rc=$?
    set +e # the exit path runs to its end (sim_cleanup exits with rc)
    "$QG_ROOT/scripts/aas-server" stop --name "$AAS_NAME" >/dev/null 2>&1 || true
    [ -n "$PODMAN_STARTED" ] && "$QG_ROOT/scripts/podman" stop >/dev/null 2>&1
    (exit "$rc")
    sim_cleanup
}
trap docker_cleanup EXIT

"$QG_ROOT/scripts/podman" status >/dev/null 2>&1 || PODMAN_STARTED=1
DOCKER_HOST_URL=$("$QG_ROOT/scripts/podman" start)
SOCK=${DOCKER_HOST_URL#unix://}
IMAGE=$("$QG_ROOT/tests/data/containers/build-image.sh" localhost/qg-test-sim:latest 2>/dev/null)
qg_say "Docker Engine API (podman) at $DOCKER_HOST_URL, test image $IMAGE"
api() { curl -sf --unix-socket "$SOCK" "http://docker/v1.41$1" "${@:2}"; }
RUN_ID=$$-$RANDOM
# Containers of this run's goals (label io.querygoal.goalId contains RUN_ID).
our_containers() {
    api "/containers/json?all=true&filters=$(jq -rn '{label: ["io.querygoal.runner=docker"]} | tojson | @uri')" |
        jq -r --arg r "$RUN_ID" '.[] | select(.Labels["io.querygoal.goalId"] // "" | contains($r)) | .Names[0]'
}
no_container_left() {
    qg_wait_for "no container of this run" 10 bash -c "[ -z \"\$($(declare -f api our_containers); SOCK='$SOCK' RUN_ID='$RUN_ID' our_containers)\" ]"
}

qgk_broker_mock
# Short sessions: a restarted worker gets its partitions quickly.
DOCKER_ARGS=(-X "simulation.docker.host=$DOCKER_HOST_URL" -X session.timeout.ms=6000
    -X heartbeat.interval.ms=1000)

# ---- end to end: selection, binding, simulation; the model is a container image
ce_pipeline docker "${DOCKER_ARGS[@]}"
ce_ask_seed docker
ce_check_answer docker
A=$QGK_DIR/answer-e2e.json
SIM=$SIM_RESULT
SUBMIT=("$QGK_BIN/qgctl" submit -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --wait
    --timeout 120 --json)
qgk_check "the runner describes the container run" \
    sim_jq "$SIM | .runnerType == \"docker\" and .runner.type == \"docker\" and
            .runner.image == \"$IMAGE\" and .runner.exitCode == 0" "$A"

# ---- failures, through the simulation worker alone
docker_model() { ce_model docker "$@"; } # IMAGE TIME_LIMIT [COMMAND_JSON]
sim_goal "goal3-docker-hang-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(docker_model "$IMAGE" 2 '["/sim/hang.sh"]')" "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-hang.json"
sim_goal "goal3-docker-noimage-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(docker_model localhost/qg-no-such-image:1 10)" "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-noimage.json"
"${SUBMIT[@]}" "$QGK_DIR/goal-hang.json" >/dev/null 2>"$QGK_DIR/submit-hang.err" &
hang_pid=$!
"${SUBMIT[@]}" "$QGK_DIR/goal-noimage.json" >/dev/null 2>"$QGK_DIR/submit-noimage.err" || true
wait "$hang_pid" || true
qgk_check "a container past its time limit: stage_error, stopped and removed" \
    sim_dlq_says "$QGK_DIR/submit-hang.err" stage_error "exceeded the time limit of 2 s"
qgk_check "a missing image: stage_error naming the image" \
    sim_dlq_says "$QGK_DIR/submit-noimage.err" stage_error "localhost/qg-no-such-image:1 not found"

# Daemon down: a worker whose daemon socket does not answer retries, then gives up.
ce_dead_letter down "$(docker_model "$IMAGE" 10)" \
    -X "simulation.docker.host=unix://$QGK_DIR/no-daemon.sock" -X retry.backoff.ms=100,200 \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000
qgk_check "daemon unreachable: retried, then transient_exhausted" \
    sim_dlq_says "$QGK_DIR/submit-down.err" transient_exhausted "unreachable"
qgk_check "the worker logged its retries" \
    bash -c "[ \$(grep -c 'retry' '$QGK_DIR/log/simulation-down.log') -ge 2 ]"

# Crash recovery: a container of a dead worker of this host is removed at start.
host=$(hostname)
orphan=$(jq -n --arg img "$IMAGE" --arg host "$host" --arg goal "goal3-docker-orphan-$RUN_ID" \
    '{Image: $img, Cmd: ["/sim/hang.sh"], User: "65534:65534",
      Labels: {"io.querygoal.runner": "docker", "io.querygoal.goalId": $goal,
               "io.querygoal.host": $host, "io.querygoal.owner": ($host + "/999999999/1")}}' |
    api "/containers/create?name=qg-orphan-$RUN_ID" -X POST -H 'Content-Type: application/json' \
        --data-binary @- | jq -r .Id)
api "/containers/$orphan/start" -X POST >/dev/null || true
qgk_check "an orphan container (owner gone) exists before the restart" \
    bash -c "api() { curl -sf --unix-socket '$SOCK' \"http://docker/v1.41\$1\"; }; api /containers/$orphan/json >/dev/null"
sim_worker_start simulation-2 "${DOCKER_ARGS[@]}"
qgk_check "a starting worker removed it" qg_wait_for "the orphan to be removed" 20 \
    bash -c "! curl -sf --unix-socket '$SOCK' http://docker/v1.41/containers/$orphan/json"

# SIGTERM during a container run: stopped, removed, redelivered, answered.
# (librdkafka 2.0.2 hangs closing a consumer that has no assignment yet: see
# qgk_workers_assigned.)
qg_wait_for "every worker to be assigned" 60 qgk_workers_assigned || true
qgk_check "workers stop cleanly" qgk_workers_stop
sim_worker_start simulation-3 "${DOCKER_ARGS[@]}"
sim_goal "goal3-docker-term-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(docker_model "$IMAGE" 60 '["/sim/slow.sh", "{scenario}", "{results}", "8"]')" \
    "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-term.json"
"${SUBMIT[@]}" "$QGK_DIR/goal-term.json" >"$QGK_DIR/answer-term.json" 2>"$QGK_DIR/submit-term.err" &
term_submit=$!
qg_wait_for "the slow container to run" 60 bash -c "[ -n \"\$($(declare -f api our_containers); SOCK='$SOCK' RUN_ID='$RUN_ID' our_containers)\" ]" ||
    QGK_FAILED=$((QGK_FAILED + 1))
qgk_check "the worker exits 0 on SIGTERM in the middle of a container run" qgk_workers_stop
qgk_check "the cancelled container was stopped and removed" no_container_left
sim_worker_start simulation-4 "${DOCKER_ARGS[@]}"
wait "$term_submit" || true
qgk_check "the goal was redelivered and answered by the next worker" \
    sim_jq '.QueryGoal.outputs.estimatedTime == 7200 and
            ([.executionLog.stages[] | select(.stage == "simulation")] | length == 1)' \
    "$QGK_DIR/answer-term.json"
qg_wait_for "every worker to be assigned" 60 qgk_workers_assigned || true
qgk_check "the last worker exits 0 on SIGTERM" qgk_workers_stop
qgk_check "no container of this run is left (listed by label)" no_container_left
qgk_check "no work directory is left" bash -c "[ -z \"\$(ls -A '$QGK_DIR/work')\" ]"
ce_diagnose "$QGK_DIR"/log/simulation-*.log
qgk_finish
