#!/usr/bin/env bash
# The kubernetes runner against a real control plane: etcd, kube-apiserver and
# kube-controller-manager built from the Kubernetes Go modules (scripts/kube), the
# worker authenticated as the restricted service account of
# compose/k8s/base/simulation-rbac.yaml (a kubeconfig), and a simulated node
# (tests/integration/kube-node.py --runtime podman: binds each pod to itself and
# runs it as a podman container with the pod's user, limits, mounts and network;
# no kubelet is built here). What is real: the API server's validation, RBAC,
# watches, the job controller creating the pod and completing or failing the Job,
# the garbage collector deleting the pod with its Job, pods/log through the API.
#  - a seed-format model with executionType kubernetes-job goes through
#    qg-selection, qg-binding (real AAS server, seed factory) and qg-simulation;
#    the container read the bound scenario and parameters from the shared claim,
#    ran as non-root with a read-only root, no network, the model's limits; the
#    Job the server stored carries backoffLimit 0, the deadline, the TTL, the
#    labels and the claim's subPath; its pod was made by the job controller;
#  - a pod that fails: stage_error with its exit status and log;
#  - past the time limit: stage_error, the Job deleted;
#  - an image the node cannot pull: stage_error naming the image;
#  - a namespace the identity may not use: stage_error naming the refusal (RBAC);
#  - the API server unreachable: retried, then transient_exhausted;
#  - a Job of a dead worker of this host is deleted when a worker starts;
#  - SIGTERM during a run deletes the Job, the goal is redelivered and answered;
#  - no Job, pod or container of this run is left.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"
qgk_init sim-kube
. "$QG_ROOT/tests/data/simulators/lib.sh"
. "$QG_ROOT/tests/integration/container-e2e.lib"
for b in qg-selection qg-binding qg-simulation qgctl qg-broker; do
    [ -x "$QGK_BIN/$b" ] || qg_die "$QGK_BIN/$b not built"
done

KUBE_STARTED= NODE_PID=
AAS_NAME=sim-kube-$$
kube_cleanup() {
    local rc=$?
    set +e # the exit path runs to its end (sim_cleanup exits with rc)
    [ -z "$NODE_PID" ] || { kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; }
    "$QG_ROOT/scripts/aas-server" stop --name "$AAS_NAME" >/dev/null 2>&1
    [ -z "$KUBE_STARTED" ] || "$QG_ROOT/scripts/kube" stop >/dev/null 2>&1
    (exit "$rc")
    sim_cleanup
}
trap kube_cleanup EXIT

"$QG_ROOT/scripts/kube" status >/dev/null 2>&1 || KUBE_STARTED=1
kube_env=$("$QG_ROOT/scripts/kube" start)
set -a
eval "$kube_env"
set +a
"$QG_ROOT/scripts/podman" install >/dev/null
IMAGE=$("$QG_ROOT/tests/data/containers/build-image.sh" localhost/qg-test-sim:latest 2>/dev/null)
export NS=$QG_KUBE_NAMESPACE
qg_say "Kubernetes API server at $QG_KUBE_SERVER (namespace $NS), test image $IMAGE"
export RUN_ID=$$-$RANDOM
kapi() { curl -sf --cacert "$QG_KUBE_CA" -H "Authorization: Bearer $QG_KUBE_TOKEN_ADMIN" \
    "$QG_KUBE_SERVER$1" "${@:2}"; }
# Jobs / pods of this run's goals (annotation querygoal.io/goal-id contains RUN_ID).
ours() { # jobs|pods
    local api=/api/v1
    [ "$1" = jobs ] && api=/apis/batch/v1
    kapi "$api/namespaces/$NS/$1?labelSelector=querygoal.io%2Frunner%3Dkubernetes" |
        jq -r --arg r "$RUN_ID" '.items[] | select(.metadata.annotations["querygoal.io/goal-id"] // ""
            | contains($r)) | .metadata.name'
}
nothing_left() {
    qg_wait_for "no Job or pod of this run" 30 bash -c \
        "$(declare -f kapi ours); [ -z \"\$(ours jobs)\$(ours pods)\" ]"
}

# The claim: a directory the node mounts into pods and the worker uses as its work directory.
VOLUMES=$QGK_DIR/volumes
CLAIM=qg-work
mkdir -p "$VOLUMES/$CLAIM/runs"
python3 "$QG_ROOT/tests/integration/kube-node.py" --runtime podman --volume-root "$VOLUMES" \
    --namespace "$NS" --selector querygoal.io/runner=kubernetes 2>"$QGK_DIR/log/kube-node.log" &
NODE_PID=$!
qg_wait_for "the simulated node to register" 30 kapi /api/v1/nodes/qg-node >/dev/null ||
    { cat "$QGK_DIR/log/kube-node.log" >&2; qg_die "kube-node did not register"; }

qgk_broker_mock
KUBE_ARGS=(-X "simulation.kubernetes.kubeconfig=$QG_KUBE_KUBECONFIG"
    -X "simulation.kubernetes.pvc=$CLAIM" -X "simulation.kubernetes.pvc.mount=$VOLUMES/$CLAIM"
    -X "simulation.work.dir=$VOLUMES/$CLAIM/runs"
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)

# ---- end to end: selection, binding, simulation; the model is a kubernetes-job image
ce_pipeline kubernetes-job "${KUBE_ARGS[@]}"
ce_ask_seed kube
ce_check_answer kubernetes
A=$QGK_DIR/answer-e2e.json
SIM=$SIM_RESULT
SUBMIT=("$QGK_BIN/qgctl" submit -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --wait
    --timeout 120 --json)
qgk_check "the runner describes the Job: image, pod on the node, exit 0, the log through the API" \
    sim_jq "$SIM | .runnerType == \"kubernetes\" and .runner.type == \"kubernetes\" and
            .runner.image == \"$IMAGE\" and .runner.node == \"qg-node\" and
            .runner.exitCode == 0 and .runner.namespace == \"$NS\" and
            .runner.logsAvailable == true and .runner.logBytes > 0" "$A"

# ---- the Job as the API server stored it, and SIGTERM in the middle of a run
kube_model() { ce_model kubernetes "$@"; } # IMAGE TIME_LIMIT [COMMAND_JSON]
sim_goal "goal3-kube-term-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(kube_model "$IMAGE" 60 '["/sim/slow.sh", "{scenario}", "{results}", "8"]')" \
    "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-term.json"
"${SUBMIT[@]}" "$QGK_DIR/goal-term.json" >"$QGK_DIR/answer-term.json" 2>"$QGK_DIR/submit-term.err" &
term_submit=$!
running_pod() {
    kapi "/api/v1/namespaces/$NS/pods?labelSelector=querygoal.io%2Frunner%3Dkubernetes" |
        jq -e --arg r "goal3-kube-term-$RUN_ID" '.items[] | select(.metadata.annotations["querygoal.io/goal-id"] == $r and .status.phase == "Running")' >"$QGK_DIR/pod-term.json"
}
if qg_wait_for "the slow Job's pod to run" 60 bash -c "$(declare -f kapi running_pod); QGK_DIR='$QGK_DIR' RUN_ID='$RUN_ID' running_pod"; then
    job=$(jq -r '.metadata.labels["querygoal.io/run"]' "$QGK_DIR/pod-term.json")
    kapi "/apis/batch/v1/namespaces/$NS/jobs/$job" >"$QGK_DIR/job-term.json" || true
fi
J=$QGK_DIR/job-term.json
qgk_check "the stored Job: backoffLimit 0, deadline past the time limit, TTL, restartPolicy Never" \
    sim_jq '.spec.backoffLimit == 0 and .spec.activeDeadlineSeconds == 90 and
            .spec.ttlSecondsAfterFinished == 600 and .spec.template.spec.restartPolicy == "Never"' "$J"
qgk_check "its pod: non-root, read-only root, no token, the claim's subPath at /work, no-network label" \
    sim_jq '.spec.template.spec as $p | $p.securityContext.runAsNonRoot == true and
            $p.automountServiceAccountToken == false and
            $p.containers[0].securityContext.readOnlyRootFilesystem == true and
            ($p.volumes[] | select(.name == "work") | .persistentVolumeClaim.claimName) == "qg-work" and
            ($p.containers[0].volumeMounts[] | select(.mountPath == "/work") | .subPath | startswith("runs/run-")) and
            .metadata.labels["querygoal.io/network"] == "none"' "$J"
qgk_check "the job controller made the pod (owner: the Job), bound to the node" \
    sim_jq '.metadata.ownerReferences[0].kind == "Job" and .spec.nodeName == "qg-node"' \
    "$QGK_DIR/pod-term.json"
qg_wait_for "every worker to be assigned" 60 qgk_workers_assigned || true
qgk_check "the worker exits 0 on SIGTERM in the middle of a run" qgk_workers_stop
qgk_check "the cancelled Job and its pod were deleted" nothing_left
sim_worker_start simulation-2 "${KUBE_ARGS[@]}"
wait "$term_submit" || true
qgk_check "the goal was redelivered and answered by the next worker" \
    sim_jq '.QueryGoal.outputs.estimatedTime == 7200 and
            ([.executionLog.stages[] | select(.stage == "simulation")] | length == 1)' \
    "$QGK_DIR/answer-term.json"

# ---- failures, through the simulation worker alone
sim_goal "goal3-kube-fail-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(kube_model "$IMAGE" 30 '["/sim/fail.sh", "{scenario}", "{results}"]')" "$SIM_EXEC_SPEC" \
    >"$QGK_DIR/goal-fail.json"
sim_goal "goal3-kube-hang-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(kube_model "$IMAGE" 3 '["/sim/hang.sh"]')" "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-hang.json"
sim_goal "goal3-kube-noimage-$RUN_ID" "$SIM_SEED_PARAMS" \
    "$(kube_model localhost/qg-no-such-image:1 30)" "$SIM_EXEC_SPEC" >"$QGK_DIR/goal-noimage.json"
submits=()
for g in fail hang noimage; do
    "${SUBMIT[@]}" "$QGK_DIR/goal-$g.json" >/dev/null 2>"$QGK_DIR/submit-$g.err" &
    submits+=($!)
done
wait "${submits[@]}" || true
qgk_check "a failing pod: stage_error with its exit status and its log" \
    bash -c "grep -F 'dead-lettered (stage_error): ' '$QGK_DIR/submit-fail.err' | grep -F 'exit status 3' | grep -qF 'license server unreachable'"
qgk_check "past the time limit: stage_error, the Job deleted" \
    sim_dlq_says "$QGK_DIR/submit-hang.err" stage_error "exceeded the time limit of 3 s and was deleted"
qgk_check "an image the node cannot pull: stage_error naming the image" \
    sim_dlq_says "$QGK_DIR/submit-noimage.err" stage_error "image localhost/qg-no-such-image:1 cannot be pulled"

# A namespace the service account has no Role in: the API server's refusal, dead-lettered.
ce_dead_letter deny "$(kube_model "$IMAGE" 30)" "${KUBE_ARGS[@]}" \
    -X simulation.kubernetes.namespace=default
qgk_check "a namespace the identity may not use: stage_error with the RBAC refusal" \
    sim_dlq_says "$QGK_DIR/submit-deny.err" stage_error 'HTTP 403: jobs.batch is forbidden'

# The API server unreachable: retried, then transient_exhausted.
sed "s#server: .*#server: https://127.0.0.1:9#" "$QG_KUBE_KUBECONFIG" >"$QGK_DIR/down.kubeconfig"
ce_dead_letter down "$(kube_model "$IMAGE" 30)" "${KUBE_ARGS[@]}" \
    -X "simulation.kubernetes.kubeconfig=$QGK_DIR/down.kubeconfig" -X retry.backoff.ms=100,200
qgk_check "API server unreachable: retried, then transient_exhausted" \
    sim_dlq_says "$QGK_DIR/submit-down.err" transient_exhausted "Kubernetes API server at https://127.0.0.1:9 unreachable"

# Crash recovery: a Job of a dead worker of this host is deleted when a worker starts.
# The host label: the host name with characters a label value cannot hold made "_", at most
# 63, starting and ending with a letter or digit (the rule of docs/simulation.md).
host=$(cat /proc/sys/kernel/hostname)
host_label=$(printf '%s' "$host" | tr -c 'A-Za-z0-9._-' '_' | sed -E 's/^[^A-Za-z0-9]+//' |
    cut -c1-63 | sed -E 's/[^A-Za-z0-9]+$//')
jq -n --arg img "$IMAGE" --arg host "$host_label" --arg owner "$host/999999999/1" \
    --arg goal "goal3-kube-orphan-$RUN_ID" --arg name "qg-orphan-$$" \
    '{apiVersion: "batch/v1", kind: "Job",
      metadata: {name: $name, labels: {"querygoal.io/runner": "kubernetes", "querygoal.io/host": $host},
                 annotations: {"querygoal.io/goal-id": $goal, "querygoal.io/owner": $owner}},
      spec: {backoffLimit: 0, template: {
        metadata: {labels: {"querygoal.io/runner": "kubernetes"},
                   annotations: {"querygoal.io/goal-id": $goal}},
        spec: {restartPolicy: "Never", securityContext: {runAsNonRoot: true, runAsUser: 65534},
               containers: [{name: "simulator", image: $img, args: ["/sim/hang.sh"]}]}}}}' |
    kapi "/apis/batch/v1/namespaces/$NS/jobs" -X POST -H 'Content-Type: application/json' \
        --data-binary @- >/dev/null
qgk_check "an orphan Job (owner gone) exists before the restart" \
    bash -c "$(declare -f kapi); kapi /apis/batch/v1/namespaces/$NS/jobs/qg-orphan-$$ >/dev/null"
sim_worker_start simulation-3 "${KUBE_ARGS[@]}"
qgk_check "a starting worker deleted it" qg_wait_for "the orphan Job to be deleted" 30 \
    bash -c "$(declare -f kapi); ! kapi /apis/batch/v1/namespaces/$NS/jobs/qg-orphan-$$ >/dev/null"

qg_wait_for "every worker to be assigned" 60 qgk_workers_assigned || true
qgk_check "the workers exit 0 on SIGTERM" qgk_workers_stop
qgk_check "no Job or pod of this run is left (listed by label)" nothing_left
qgk_check "no container of the simulated node is left" \
    qg_wait_for "no kube-node container" 30 bash -c \
    "[ -z \"\$(podman ps -a --filter label=io.querygoal.kube-node --format '{{.Names}}')\" ]"
qgk_check "no work directory is left on the claim" \
    bash -c "[ -z \"\$(ls -A '$VOLUMES/$CLAIM/runs')\" ]"
ce_diagnose "$QGK_DIR/log/kube-node.log" "$QGK_DIR"/log/simulation-*.log
qgk_finish
