#!/usr/bin/env bash
# The Kubernetes test control plane (scripts/kube) with the simulated node
# (tests/integration/kube-node.py), through the restricted simulation identity of
# compose/k8s/base/simulation-rbac.yaml, with curl only:
#  - a batch/v1 Job whose container writes /work/out.txt on PVC qg-work: the node runs it,
#    the real job controller sets Complete, the file is in the node's volume root, the pod
#    log is readable (pods/log through the node);
#  - a Job whose container exits 3: Failed, the pod's terminated exitCode is 3;
#  - ttlSecondsAfterFinished 0: the ttl-after-finished controller deletes Job and pod;
#  - deleting a Job (propagationPolicy Background): the garbage collector deletes its pod;
#  - deleting a Job whose pod runs deletes the pod and kills its process;
#  - the restricted token is refused secrets, pods it did not make, other namespaces (403);
#  - with podman: the node's podman runtime runs a Job as a container (uid 65534, no
#    network, read-only root); an image it cannot pull leaves the pod waiting (ErrImagePull).
# Skipped when the binaries are not built (scripts/kube-bins, 5-8 min cold) unless
# QG_KUBE_BUILD=1.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

if ! "$QG_ROOT/scripts/kube-bins" --dir >/dev/null && [ -z "${QG_KUBE_BUILD:-}" ]; then
    qg_say "skip: Kubernetes binaries not built (run scripts/kube-bins, or set QG_KUBE_BUILD=1)"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/qg-kube-smoke.XXXXXX")
KUBE_STARTED= NODE_PID=
passed=0 failed=0
cleanup() {
    local rc=$?
    if [ -n "$NODE_PID" ]; then
        kill -TERM "$NODE_PID" 2>/dev/null
        wait "$NODE_PID" 2>/dev/null
    fi
    [ -z "$KUBE_STARTED" ] || "$QG_ROOT/scripts/kube" stop >/dev/null 2>&1
    if [ "$rc" -eq 0 ]; then rm -rf "$work"; else qg_say "kept $work (node log, pod logs)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
check() { # DESCRIPTION COMMAND...
    local desc=$1
    shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $desc"; else
        failed=$((failed + 1))
        echo "not ok - $desc"
    fi
}

"$QG_ROOT/scripts/kube" status >/dev/null 2>&1 || KUBE_STARTED=1
kenv=$("$QG_ROOT/scripts/kube" start) || qg_die "scripts/kube start failed"
eval "$kenv"
NS=$QG_KUBE_NAMESPACE
RUN_ID=$$-$RANDOM
NODE=qg-smoke-node-$RUN_ID
VOLUMES=$work/volumes

# req TOKEN METHOD PATH [curl args]: the response body on stdout; fails on HTTP >= 400.
req() {
    local token=$1 method=$2 path=$3
    shift 3
    curl -sS --fail-with-body --max-time 20 --cacert "$QG_KUBE_CA" -H "Authorization: Bearer $token" \
        -X "$method" "$QG_KUBE_SERVER$path" "$@"
}
sim() { req "$QG_KUBE_TOKEN" "$@"; }
admin() { req "$QG_KUBE_TOKEN_ADMIN" "$@"; }
status_of() { # TOKEN METHOD PATH [curl args]: the HTTP status code
    local token=$1 method=$2 path=$3
    shift 3
    curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$QG_KUBE_CA" \
        -H "Authorization: Bearer $token" -X "$method" "$QG_KUBE_SERVER$path" "$@"
}

# watch_until TIMEOUT COLLECTION LIST_DONE EVENT_DONE: list COLLECTION (a path with a query);
# done when jq LIST_DONE holds for the list, else watch from the list's resourceVersion (as
# the restricted identity) until jq EVENT_DONE holds for an event, at most TIMEOUT seconds.
watch_until() {
    local timeout=$1 path=$2 list_done=$3 event_done=$4 list rv ev found=1 curl_pid
    list=$(sim GET "$path") || return 1
    jq -e "$list_done" <<<"$list" >/dev/null && return 0
    rv=$(jq -r .metadata.resourceVersion <<<"$list")
    while IFS= read -r ev; do
        if jq -e "$event_done" <<<"$ev" >/dev/null; then found=0; break; fi
    done < <(curl -sSN --max-time "$timeout" --cacert "$QG_KUBE_CA" \
        -H "Authorization: Bearer $QG_KUBE_TOKEN" \
        "$QG_KUBE_SERVER$path&watch=true&resourceVersion=$rv" 2>/dev/null)
    curl_pid=$!
    kill "$curl_pid" 2>/dev/null
    return "$found"
}
job_condition() { # NAME TYPE TIMEOUT: wait for the Job's condition TYPE=True
    local cond="(.status.conditions // []) | any(.type == \"$2\" and .status == \"True\")"
    watch_until "$3" "/apis/batch/v1/namespaces/$NS/jobs?fieldSelector=metadata.name%3D$1" \
        "[.items[] | $cond] | any" ".object | $cond"
}
pods_gone() { # JOB TIMEOUT: wait until the Job has no pod
    watch_until "$2" "/api/v1/namespaces/$NS/pods?labelSelector=batch.kubernetes.io/job-name%3D$1" \
        '.items | length == 0' '.type == "DELETED"'
}
job_pod() { # JOB: the Job's pod (JSON)
    sim GET "/api/v1/namespaces/$NS/pods?labelSelector=batch.kubernetes.io/job-name%3D$1" | jq '.items[0]'
}
jqok() { jq -e "$@" >/dev/null; } # jqok FILTER <<<JSON: the filter holds
job_json() { # NAME SHELL_COMMAND [TTL_SECONDS_AFTER_FINISHED]
    jq -n --arg name "$1" --arg cmd "$2" --arg run "$RUN_ID" --argjson ttl "${3:-null}" '{
        apiVersion: "batch/v1", kind: "Job",
        metadata: {name: $name, labels: {"qg-smoke": $run}},
        spec: ({backoffLimit: 0} + if $ttl == null then {} else {ttlSecondsAfterFinished: $ttl} end
               + {template: {
            metadata: {labels: {"qg-smoke": $run}},
            spec: {restartPolicy: "Never", containers: [{
                name: "model", image: "docker.io/library/busybox:1.36",
                command: ["sh", "-c", $cmd],
                volumeMounts: [{name: "qg-work", mountPath: "/work"}]}],
                volumes: [{name: "qg-work", persistentVolumeClaim: {claimName: "qg-work"}}]}}})}'
}
create_job() { # NAME SHELL_COMMAND [TTL_SECONDS_AFTER_FINISHED]
    job_json "$@" | sim POST "/apis/batch/v1/namespaces/$NS/jobs" \
        -H 'Content-Type: application/json' --data-binary @- >/dev/null
}

python3 "$QG_ROOT/tests/integration/kube-node.py" --name "$NODE" --namespace "$NS" \
    --selector "qg-smoke=$RUN_ID" --volume-root "$VOLUMES" --log-dir "$work/pod-logs" \
    2>"$work/node.log" &
NODE_PID=$!
qg_wait_for "node $NODE to register" 30 bash -c "grep -q 'watching pods' '$work/node.log'" ||
    { cat "$work/node.log" >&2; qg_die "kube-node.py did not start"; }
check "the simulated node registered Node $NODE" admin GET "/api/v1/nodes/$NODE" -o /dev/null

# ---- a Job that completes
OK=qg-smoke-ok-$RUN_ID
check "the restricted identity creates a Job in $NS" \
    create_job "$OK" 'echo hi > /work/out.txt && echo model done'
check "the job controller sets Complete (watched, 60 s at most)" job_condition "$OK" Complete 60
check "the file is in the node's volume root (PVC qg-work)" \
    bash -c "[ \"\$(cat '$VOLUMES/qg-work/out.txt' 2>/dev/null)\" = hi ]"
pod=$(job_pod "$OK")
check "the pod ran on the simulated node and Succeeded with exit code 0" \
    jqok --arg n "$NODE" '.spec.nodeName == $n and .status.phase == "Succeeded" and
        .status.containerStatuses[0].state.terminated.exitCode == 0' <<<"$pod"
check "Job status: succeeded 1, a completion time" \
    jqok '.status.succeeded == 1 and .status.completionTime != null' \
    <<<"$(sim GET "/apis/batch/v1/namespaces/$NS/jobs/$OK")"
check "the restricted identity reads the pod log (pods/log through the node)" \
    bash -c '[ "$1" = "model done" ]' _ \
    "$(sim GET "/api/v1/namespaces/$NS/pods/$(jq -r .metadata.name <<<"$pod")/log")"
check "the restricted identity deletes the Job (propagationPolicy Background)" \
    sim DELETE "/apis/batch/v1/namespaces/$NS/jobs/$OK?propagationPolicy=Background" -o /dev/null
check "the garbage collector deletes its pod" pods_gone "$OK" 60

# ---- a Job whose container fails
BAD=qg-smoke-fail-$RUN_ID
create_job "$BAD" 'echo failing >&2; exit 3' || qg_say "creating $BAD failed"
check "a container that exits 3: the Job gets Failed" job_condition "$BAD" Failed 60
check "its pod is Failed with terminated exitCode 3" \
    jqok '.status.phase == "Failed" and .status.containerStatuses[0].state.terminated.exitCode == 3' \
    <<<"$(job_pod "$BAD")"

# ---- ttlSecondsAfterFinished: the ttl-after-finished controller deletes the finished Job
TTL=qg-smoke-ttl-$RUN_ID
create_job "$TTL" 'true' 0 || qg_say "creating $TTL failed"
check "a finished Job with ttlSecondsAfterFinished 0 is deleted" \
    watch_until 60 "/apis/batch/v1/namespaces/$NS/jobs?fieldSelector=metadata.name%3D$TTL" \
    '.items | length == 0' '.type == "DELETED"'
check "and so is its pod" pods_gone "$TTL" 60

# ---- deleting the Job of a running pod deletes the pod and kills its process
SLOW=qg-smoke-slow-$RUN_ID
# ($$$$: a container's command reduces $$ to $, as the kubelet does)
create_job "$SLOW" 'echo $$$$ > /work/slow.pid; exec sleep 300' || qg_say "creating $SLOW failed"
qg_wait_for "the slow pod to run" 30 test -s "$VOLUMES/qg-work/slow.pid"
slow_pid=$(cat "$VOLUMES/qg-work/slow.pid" 2>/dev/null)
check "the slow Job's process runs" kill -0 "${slow_pid:-0}"
admin DELETE "/apis/batch/v1/namespaces/$NS/jobs/$SLOW?propagationPolicy=Background" -o /dev/null
check "deleting the Job deletes the running pod" pods_gone "$SLOW" 60
check "and kills its process" qg_wait_for "process $slow_pid to end" 10 \
    bash -c "! kill -0 '${slow_pid:-0}' 2>/dev/null"
admin DELETE "/apis/batch/v1/namespaces/$NS/jobs/$BAD?propagationPolicy=Background" -o /dev/null

# ---- what the restricted identity may not do
code=$(status_of "$QG_KUBE_TOKEN" GET "/api/v1/namespaces/$NS/secrets")
check "the restricted token may not list secrets (403, got $code)" [ "$code" = 403 ]
code=$(status_of "$QG_KUBE_TOKEN" POST "/api/v1/namespaces/$NS/pods" \
    -H 'Content-Type: application/json' --data-binary '{"apiVersion":"v1","kind":"Pod"}')
check "nor create pods itself (403, got $code)" [ "$code" = 403 ]
code=$(job_json qg-smoke-elsewhere 'true' | status_of "$QG_KUBE_TOKEN" POST \
    /apis/batch/v1/namespaces/default/jobs -H 'Content-Type: application/json' --data-binary @-)
check "nor create Jobs in another namespace (403, got $code)" [ "$code" = 403 ]
code=$(status_of "bad-$QG_KUBE_TOKEN" GET "/api/v1/namespaces/$NS/pods")
check "an unknown token is refused (401, got $code)" [ "$code" = 401 ]

kill -TERM "$NODE_PID"
wait "$NODE_PID"
check "the simulated node exits 0 on SIGTERM" [ $? = 0 ]
NODE_PID=

# ---- the node's podman runtime (when podman and the test image's busybox are there)
if command -v podman >/dev/null && [ -x /bin/busybox ] &&
    IMAGE=$("$QG_ROOT/tests/data/containers/build-image.sh" localhost/qg-test-sim:latest 2>/dev/null); then
    python3 "$QG_ROOT/tests/integration/kube-node.py" --runtime podman --name "$NODE-podman" \
        --namespace "$NS" --selector "qg-smoke=$RUN_ID-podman" --volume-root "$VOLUMES" \
        --log-dir "$work/pod-logs" 2>"$work/node-podman.log" &
    NODE_PID=$!
    qg_wait_for "the podman node to register" 30 bash -c "grep -q 'watching pods' '$work/node-podman.log'"
    chmod 777 "$VOLUMES/qg-work"
    podman_job() { # NAME IMAGE SHELL_COMMAND: as uid 65534, read-only root, no network
        job_json "$1" "$3" | jq --arg img "$2" --arg run "$RUN_ID-podman" '
            .spec.template.metadata.labels = {"qg-smoke": $run, "querygoal.io/network": "none"} |
            .spec.template.spec.securityContext = {runAsNonRoot: true, runAsUser: 65534} |
            .spec.template.spec.containers[0] += {image: $img,
                securityContext: {readOnlyRootFilesystem: true}}' |
            sim POST "/apis/batch/v1/namespaces/$NS/jobs" -H 'Content-Type: application/json' \
                --data-binary @- >/dev/null
    }
    PM=qg-smoke-podman-$RUN_ID
    podman_job "$PM" "$IMAGE" 'id -u > /work/podman.out; ls /sys/class/net >> /work/podman.out;
        touch /ro 2>/dev/null || echo read-only >> /work/podman.out'
    check "podman runtime: the Job completes" job_condition "$PM" Complete 60
    check "in a container as uid 65534, without network, with a read-only root" \
        bash -c "[ \"\$(tr '\n' ' ' <'$VOLUMES/qg-work/podman.out')\" = '65534 lo read-only ' ]"
    NOIMG=qg-smoke-noimage-$RUN_ID
    podman_job "$NOIMG" localhost/qg-no-such-image:1 true
    check "an image the node cannot pull: the pod waits with ErrImagePull" \
        watch_until 60 "/api/v1/namespaces/$NS/pods?labelSelector=batch.kubernetes.io/job-name%3D$NOIMG" \
        '[.items[].status.containerStatuses[0].state.waiting.reason] == ["ErrImagePull"]' \
        '.object.status.containerStatuses[0].state.waiting.reason == "ErrImagePull"'
    for j in "$PM" "$NOIMG"; do
        admin DELETE "/apis/batch/v1/namespaces/$NS/jobs/$j?propagationPolicy=Background" -o /dev/null
    done
    kill -TERM "$NODE_PID"
    wait "$NODE_PID"
    NODE_PID=
    check "no container of the podman node is left" bash -c \
        "[ -z \"\$(podman ps -aq --filter label=io.querygoal.kube-node='$NODE-podman')\" ]"
else
    qg_say "skip: podman runtime (needs podman and /bin/busybox: scripts/podman install)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
