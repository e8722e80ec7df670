# Helpers for tests/integration/simulation-*.sh: the event forwarder, simulation
# workers on the embedded broker, and goals that already carry a bound scenario.
# Source after scripts/lib.sh and scripts/kafka.d/pipeline.sh, after qgk_init.

SIM_DATA=$QG_ROOT/tests/data/simulators
SIM_EVENTS_PID=

# Start qg-events on free ports; sets SIM_XSUB and SIM_XPUB.
sim_events_start() {
    "$QGK_BIN/qg-events" -X 'events.xsub.bind=tcp://127.0.0.1:*' \
        -X 'events.xpub.bind=tcp://127.0.0.1:*' \
        >"$QGK_DIR/log/events.out" 2>"$QGK_DIR/log/events.err" &
    SIM_EVENTS_PID=$!
    qg_wait_for "qg-events endpoints" 10 test -s "$QGK_DIR/log/events.out" ||
        qg_die "qg-events printed no endpoints"
    read -r SIM_XSUB SIM_XPUB <"$QGK_DIR/log/events.out"
    qg_say "event forwarder: publishers -> $SIM_XSUB, subscribers -> $SIM_XPUB"
}

sim_events_stop() {
    [ -n "$SIM_EVENTS_PID" ] || return 0
    kill -TERM "$SIM_EVENTS_PID" 2>/dev/null || true
    wait "$SIM_EVENTS_PID" 2>/dev/null
    local rc=$?
    SIM_EVENTS_PID=
    return $rc
}

sim_cleanup() {
    local rc=$?
    set +e # the exit path runs to its end (qgk_cleanup exits with rc)
    if [ -n "$SIM_EVENTS_PID" ]; then
        kill -TERM "$SIM_EVENTS_PID" 2>/dev/null || true
        wait "$SIM_EVENTS_PID" 2>/dev/null || true
    fi
    # qgk_cleanup restarts (as pass-through workers) any worker that is down: forget
    # the ones that already exited.
    local n
    for n in $(qgk_worker_names); do
        [ -e "$QGK_DIR/rc/$n" ] && rm -f "$QGK_DIR/pid/$n"
    done
    (exit "$rc")
    qgk_cleanup
}

# sim_worker_start NAME [args...]: a qg-simulation worker registered like qgk's workers.
sim_worker_start() {
    local name=$1
    shift
    rm -f "$QGK_DIR/rc/$name" "$QGK_DIR/pid/$name"
    mkdir -p "$QGK_DIR/work"
    QGK_LOG="$QGK_DIR/log/$name.log" QGK_PIDF="$QGK_DIR/pid/$name" QGK_RCF="$QGK_DIR/rc/$name" \
        bash -c '"$@" 2>>"$QGK_LOG" & echo $! >"$QGK_PIDF.t"; mv "$QGK_PIDF.t" "$QGK_PIDF"; wait $!; echo $? >"$QGK_RCF.t"; mv "$QGK_RCF.t" "$QGK_RCF"' \
        sim-launch "$QGK_BIN/qg-simulation" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" \
        --worker-id "$name" -X simulation.work.dir="$QGK_DIR/work" -X topics.create=false "$@" \
        </dev/null >/dev/null 2>&1 &
    qg_wait_for "worker $name to start" 10 test -s "$QGK_DIR/pid/$name"
}

# sim_goal ID PARAMS_JSON MODEL_JSON|null SPEC_JSON > file: pipeline [simulation], bound scenario.
sim_goal() {
    jq -n --arg id "$1" --argjson params "$2" --argjson model "$3" --argjson spec "$4" \
        --slurpfile sc "$SIM_DATA/seed-scenario.json" '
        {QueryGoal: ({goalId: $id, goalType: "goal3_predict_production_time",
                      parameters: $params, outputSpec: $spec,
                      metadata: {pipelineStages: ["simulation"]}}
                     + (if $model == null then {} else {selectedModel: $model} end)),
         executionLog: {goalId: $id, status: "running",
                        stages: [{stage: "yamlBinding", status: "completed",
                                  result: {scenario: $sc[0]}}]}}'
}

# sim_exec_model SCRIPT [ARG] [TIME_LIMIT]: a registry entry running a test simulator.
sim_exec_model() {
    jq -n --arg cmd "$SIM_DATA/$1" --arg arg "${2:-}" --argjson limit "${3:-10}" \
        '{modelId: "TestSimulator", version: "1.0.0",
          runner: {type: "exec", command: ([$cmd, "{scenario}", "{results}"]
                   + (if $arg == "" then [] else [$arg] end)), timeLimit: $limit}}'
}

SIM_SEED_PARAMS='[{"key":"productType","value":"P-1001"},{"key":"quantity","value":50}]'
SIM_SEED_SPEC='[{"name":"estimatedTime","datatype":"number","unit":"s"},{"name":"confidence","datatype":"number"},{"name":"productionPlan","datatype":"object"},{"name":"bottlenecks","datatype":"array"}]'
SIM_EXEC_SPEC='[{"name":"estimatedTime","datatype":"number"},{"name":"confidence","datatype":"number"},{"name":"bottlenecks","datatype":"array"}]'

# sim_jq FILTER FILE: does the filter hold (quietly)?
sim_jq() {
    [ -s "$2" ] && jq -e "$1" "$2" >/dev/null 2>&1
}

# sim_dlq_says FILE CLASS TEXT: qgctl submit reported a dead letter of CLASS mentioning TEXT.
sim_dlq_says() {
    grep -F "dead-lettered ($2): " "$1" | grep -qF -- "$3"
}

# sim_no_process REGEX: no process's command line matches (a few seconds' grace
# for the kernel to finish killing); prints the survivors otherwise.
sim_no_process() {
    if qg_wait_for "no process matching $1" 5 bash -c "! pgrep -f '$1'"; then
        return 0
    fi
    ps -o pid,ppid,pgid,stat,etime,args -p "$(pgrep -d, -f "$1")" >&2 || true
    return 1
}
