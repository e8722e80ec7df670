#!/usr/bin/env bash
# Deployment files: static validation passes on the repository, catches each kind of
# mistake it exists for (in a scratch copy), the topic script creates the right topics
# idempotently, and the image's run steps work with the built binaries: the HEALTHCHECK
# command, the binaries the services start, the runtime libraries the final stage installs.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); qg_say "ok: $*"; }
fail() { failed=$((failed + 1)); qg_say "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); qg_say "skip: $*"; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# 1. The repository's files are valid (this also installs the validators once).
if "$QG_ROOT/scripts/validate-deploy" >"$scratch/valid.log" 2>&1; then
    pass "validate-deploy on the repository ($(grep -o '[0-9]* passed' "$scratch/valid.log" | tail -n 1))"
else
    cat "$scratch/valid.log" >&2
    fail "validate-deploy on the repository"
fi

# 2. Each mistake is caught: mutate a scratch copy, expect failure and the right message.
# expect_rejected NAME MESSAGE_REGEX FILE PYTHON_EXPRESSION_ON_s
expect_rejected() {
    local name=$1 want=$2 file=$3 edit=$4 tree=$scratch/tree
    rm -rf "$tree" && mkdir -p "$tree"
    cp -r "$QG_ROOT/compose" "$QG_ROOT/config" "$tree/"
    python3 - "$tree/$file" "$edit" <<'EOF' || { fail "$name: edit did not apply"; return; }
import sys
path, edit = sys.argv[1:]
s = open(path).read()
t = eval(edit, {"s": s})
if t == s:
    sys.exit("unchanged")
open(path, "w").write(t)
EOF
    if QG_K8S_VERSIONS=1.37.0 "$QG_ROOT/scripts/validate-deploy" "$tree" >"$scratch/bad.log" 2>&1; then
        fail "$name: accepted"
    elif grep -Eq "$want" "$scratch/bad.log"; then
        pass "$name: rejected"
    else
        cat "$scratch/bad.log" >&2
        fail "$name: rejected, but without /$want/"
    fi
}
expect_rejected "compose: fixed container name on a scaled worker" "container_name prevents --scale" \
    compose/docker-compose.yml 's.replace("  binding:\n", "  binding:\n    container_name: qg-binding\n", 1)'
expect_rejected "compose: credential written in the file" "QG_KAFKA_SASL_PASSWORD has a value" \
    compose/docker-compose.yml 's.replace("  QG_LOG_LEVEL: ${QG_LOG_LEVEL:-info}\n", "  QG_LOG_LEVEL: info\n  QG_KAFKA_SASL_PASSWORD: hunter2\n", 1)'
expect_rejected "compose: not the Compose specification" "additional properties|schema" \
    compose/docker-compose.yml 's.replace("    init: true\n", "    init: true\n    replicas_max: 3\n", 1)'
expect_rejected "Dockerfile: build stage with its own package list" "installs packages itself" \
    compose/Dockerfile 's.replace("RUN QG_NO_TESTS=1 scripts/build", "RUN apt-get install -y gcc && QG_NO_TESTS=1 scripts/build")'
expect_rejected "Dockerfile: compiler in the runtime stage" "build-only package libcurl4-openssl-dev" \
    compose/Dockerfile 's.replace("librdkafka1 libcurl4 ", "librdkafka1 libcurl4-openssl-dev ")'
expect_rejected "Dockerfile: runs as root" "runs as root" \
    compose/Dockerfile 's.replace("USER 10001:10001\n", "")'
expect_rejected "k8s: unknown field in a Deployment" "additional properties 'restartPolicyy'" \
    compose/k8s/base/selection.yaml 's.replace("      serviceAccountName:", "      restartPolicyy: Always\n      serviceAccountName:", 1)'
expect_rejected "k8s: ScaledObject outside the KEDA CRD schema" "scaledobject_v1alpha1.json.*pollingIntervall" \
    compose/k8s/base/binding.yaml 's.replace("  pollingInterval: 15", "  pollingIntervall: 15")'
expect_rejected "k8s: more replicas than partitions" "maxReplicaCount 48 outside" \
    compose/k8s/base/simulation.yaml 's.replace("  maxReplicaCount: 12", "  maxReplicaCount: 48")'
expect_rejected "k8s: scaling on another stage's topic" 'trigger topic "factory1.binding"' \
    compose/k8s/base/binding.yaml 's.replace("topic: querygoal.yamlBinding", "topic: querygoal.binding")'
expect_rejected "k8s: grace period shorter than a simulation" "must exceed QG_SIMULATION_TIME_LIMIT_S" \
    compose/k8s/base/simulation.yaml 's.replace("terminationGracePeriodSeconds: 180", "terminationGracePeriodSeconds: 100")'
expect_rejected "k8s: SASL without KEDA credentials" "names no TriggerAuthentication" \
    compose/k8s/overlays/example/scaledobject-sasl.yaml 's.split("- op: add\n  path: /spec/triggers/0/authenticationRef")[0]'
expect_rejected "k8s: a manifest missing from the models ConfigMap" "nsga2-builtin.yaml is not in querygoal-models" \
    compose/k8s/base/kustomization.yaml 's.replace("      - ../../../config/models/nsga2-builtin.yaml\n", "")'

# 3. topic-init.sh against a stand-in kafka-topics.sh that keeps the cluster's topics in a file.
tools=$scratch/kafka-bin
mkdir -p "$tools"
cat >"$tools/kafka-topics.sh" <<'EOF'
#!/bin/sh
state=${STUB_STATE:?}; touch "$state"
[ -z "${STUB_DOWN:-}" ] || exit 1
echo "$*" >>"$state.calls"
case " $* " in
*" --list "*) cut -d' ' -f1 "$state" ;;
*" --create "*)
    t=$(echo "$*" | sed 's/.*--topic \([^ ]*\).*/\1/'); p=$(echo "$*" | sed 's/.*--partitions \([^ ]*\).*/\1/')
    echo "$t $p" >>"$state" ;;
*" --describe "*)
    t=$(echo "$*" | sed 's/.*--topic \([^ ]*\).*/\1/')
    printf 'Topic: %s\tPartitionCount: %s\n' "$t" "$(grep "^$t " "$state" | cut -d' ' -f2)" ;;
esac
EOF
chmod +x "$tools/kafka-topics.sh"
export STUB_STATE=$scratch/topics
run_init() {
    env QG_TOPIC_INIT_TOOLS_DIR="$tools" QG_TOPIC_PREFIX=plant7 QG_TOPIC_REPLICATION_FACTOR=3 \
        QG_TOPIC_MIN_INSYNC_REPLICAS=2 QG_TOPIC_INIT_TIMEOUT_S=2 "$@" sh "$QG_ROOT/compose/topic-init.sh"
}
echo "plant7.dlq 1" >"$STUB_STATE" # created earlier, by hand, with fewer partitions
if run_init >"$scratch/init.log" 2>&1 &&
    [ "$(wc -l <"$STUB_STATE")" -eq 12 ] &&
    grep -qx "plant7.dataFiltering.retry 12" "$STUB_STATE" &&
    grep -qx "plant7.yamlBinding.retry 12" "$STUB_STATE" &&
    grep -qx "plant7.completed 12" "$STUB_STATE" &&
    grep -q -- "--topic plant7.completed .*--replication-factor 3 .*retention.ms=2592000000 .*min.insync.replicas=2" "$STUB_STATE.calls" &&
    grep -q -- "--topic plant7.simulation .*retention.ms=604800000" "$STUB_STATE.calls" &&
    grep -q "warning: plant7.dlq has 1 partitions, configured 3" "$scratch/init.log"; then
    pass "topic-init creates the 11 missing topics (5 stages with their retry topics, completed) with their partitions and configs, reports the short one"
else
    cat "$scratch/init.log" "$STUB_STATE" >&2
    fail "topic-init first run"
fi
calls=$(grep -c -- --create "$STUB_STATE.calls")
if run_init >"$scratch/init2.log" 2>&1 && [ "$(grep -c -- --create "$STUB_STATE.calls")" -eq "$calls" ]; then
    pass "topic-init run again creates nothing"
else
    fail "topic-init is not idempotent"
fi
if ! run_init env STUB_DOWN=1 >"$scratch/init3.log" 2>&1 && grep -q "not reachable" "$scratch/init3.log"; then
    pass "topic-init fails when the cluster does not answer"
else
    fail "topic-init with no cluster"
fi
if ! run_init env QG_TOPIC_PARTITIONS=twelve >/dev/null 2>&1 &&
    ! run_init env QG_TOPIC_MIN_INSYNC_REPLICAS=4 >/dev/null 2>&1; then
    pass "topic-init refuses a bad partition count and min.insync.replicas > replication factor"
else
    fail "topic-init accepted bad settings"
fi

# 4. The image's build steps, run on this machine as the build stage runs them (its RUN
#    parts that call scripts/, in order, into a scratch build dir), then its run steps
#    with what they built. QG_DEPLOY_REUSE_BUILD=1 uses $QG_BUILD instead (faster).
deploycheck=$QG_CACHE/deploy/bin/deploycheck
bin=$QG_BUILD/bin
if [ -z "${QG_DEPLOY_REUSE_BUILD:-}" ]; then
    steps=$("$deploycheck" dockerfile -build-steps "$QG_ROOT/compose/Dockerfile") || steps=""
    want=$(grep -c . <<<"$steps")
    bin=$scratch/image-build/bin
    ran=0
    while IFS= read -r step; do
        [ -n "$step" ] || continue
        if (cd "$QG_ROOT" && QG_BUILD=$scratch/image-build bash -c "$step") >"$scratch/step.log" 2>&1; then
            ran=$((ran + 1))
        else
            tail -20 "$scratch/step.log" >&2
            fail "image build step failed: $step"
        fi
    done <<<"$steps"
    if [ "$want" -ge 2 ] && [ "$ran" -eq "$want" ] && [ -x "$bin/qgctl" ] && ! ls "$bin"/unit-* >/dev/null 2>&1; then
        pass "image build steps ran: ${steps//$'\n'/; } (no unit tests built)"
    else
        fail "image build steps: $ran of $want ran, binaries in $bin: $(ls "$bin" 2>/dev/null | tr '\n' ' ')"
    fi
fi
if [ ! -x "$bin/qgctl" ]; then
    skip "no built binaries in $bin"
else
    # The Dockerfile's HEALTHCHECK, run as the image would (its ENV, /bin/sh -c).
    hc=$(sed -n '/^HEALTHCHECK/,/^[^ ]/p' "$QG_ROOT/compose/Dockerfile" | sed -n 's/^ *CMD //p')
    health=$scratch/health
    run_hc() { env -i PATH="$bin:/usr/bin:/bin" QG_HEALTH_FILE="$health" QG_HEALTH_MAX_AGE_S=60 sh -c "$hc" >/dev/null 2>&1; }
    touch "$health"
    fresh=0; run_hc || fresh=$?
    touch -d '5 minutes ago' "$health"
    stale=0; run_hc || stale=$?
    rm -f "$health"
    missing=0; run_hc || missing=$?
    if [ -n "$hc" ] && [ "$fresh" -eq 0 ] && [ "$stale" -ne 0 ] && [ "$missing" -ne 0 ]; then
        pass "HEALTHCHECK ($hc): fresh 0, stale $stale, missing $missing"
    else
        fail "HEALTHCHECK ($hc): fresh $fresh, stale $stale, missing $missing"
    fi

    # Every binary the compose file and the manifests start is built.
    started=$(grep -ho 'command: \["\(qg[a-z-]*\)"' "$QG_ROOT/compose/docker-compose.yml" \
        "$QG_ROOT"/compose/k8s/base/*.yaml | sed 's/.*\["//; s/"$//' | sort -u)
    absent=()
    for b in $started qgctl; do [ -x "$bin/$b" ] || absent+=("$b"); done
    if [ ${#absent[@]} -eq 0 ]; then
        pass "binaries the services start are built: $(echo $started | tr '\n' ' ')"
    else
        fail "services start binaries that are not built: ${absent[*]}"
    fi

    # The runtime stage installs the package of every library the binaries link directly.
    runtime=$("$deploycheck" dockerfile -runtime-packages "$QG_ROOT/compose/Dockerfile")
    if ! command -v objdump >/dev/null || ! command -v dpkg >/dev/null; then
        skip "runtime libraries: no objdump or dpkg here"
    elif objdump -p "$bin/qgctl" | grep -q 'NEEDED.*libasan'; then
        skip "runtime libraries: $QG_BUILD is a sanitizer build"
    else
        wrong=()
        for f in "$bin"/qg*; do
            for lib in $(objdump -p "$f" 2>/dev/null | awk '$1 == "NEEDED" {print $2}'); do
                path=$(ldd "$f" | awk -v l="$lib" '$1 == l {print $3}')
                pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
                pkg=${pkg%%:*}
                case " libc6 libgcc-s1 $(echo $runtime) " in
                *" $pkg "*) ;;
                *) wrong+=("${f##*/}:$lib(${pkg:-unknown})") ;;
                esac
            done
        done
        if [ ${#wrong[@]} -eq 0 ]; then
            pass "runtime stage installs every linked library's package ($(echo $runtime))"
        else
            fail "linked libraries whose package the runtime stage lacks: ${wrong[*]}"
        fi
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
