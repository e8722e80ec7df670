#!/usr/bin/env bash
# Horizontal scaling on the real Kafka broker, with an I/O-bound pass-through
# stage (a fixed 200 ms per goal, standing for a slow AAS server or a remote
# simulator): 1, then 2, then 3 workers of one stage.
#  - each member holds a balanced share of the stage topic's 6 partitions
#    (floor or ceil of 6/N), read from the group description (`qgctl workers`);
#  - throughput with N workers, measured over the steady middle of a run (from
#    the 10th to the 70th percentile of completions, so start-up and the drain of
#    the last partitions do not count), compared with N x the 1-worker figure;
#    asserted >= 0.9 x N unless QG_SCALE_RATIO_SOFT=1, printed either way;
#  - a worker killed with -9 mid-run: its partitions move to the others and no
#    goal is lost (at-least-once: duplicates allowed).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/scripts/kafka.d/pipeline.sh"

DELAY=${QG_SCALE_DELAY_MS:-200}
PER_WORKER=${QG_SCALE_GOALS_PER_WORKER:-40}
STAGE=passS
qgk_init scale
qgk_broker_real
QGK_WORKER_ARGS=(-X pipeline.extra.stages=$STAGE -X passthrough.delay.ms="$DELAY"
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 -X topics.partitions=6)
LG=("$QGK_BIN/qg-loadgen" -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX" --stages "$STAGE"
    --partitions 6 --size 512)
QCTL=("$QGK_BIN/qgctl" workers "$STAGE" --json -b "$QGK_BOOTSTRAP" --topic-prefix "$QGK_PREFIX")

# Every member of the stage topic's group holds floor(6/N) or ceil(6/N) partitions,
# and together they hold all 6.
balanced() {
    local n=$1
    "${QCTL[@]}" >"$QGK_DIR/workers.json" 2>/dev/null || return 1
    jq -e --arg t "$QGK_PREFIX.$STAGE" --argjson n "$n" '
        [.groups[] | select(.topic == $t)][0] as $g
        | ($g.state == "Stable") and ($g.members | length == $n)
          and ([$g.members[].partitions | length] | all(. >= (6 / $n | floor) and . <= (6 / $n | ceil)))
          and ([$g.members[].partitions[]] | sort == [0,1,2,3,4,5])' "$QGK_DIR/workers.json" >/dev/null
}

# Goals/s over the steady middle of run $1 (completion times from --dump).
steady_rate() {
    awk -F, '$1 != "goal" { printf "%.3f\n", $2 + $3 }' "$1" | sort -n | awk '
        { t[NR] = $1 } END {
            if (NR < 10) { print 0; exit }
            a = int(NR * 0.1); b = int(NR * 0.7)
            if (t[b] <= t[a]) { print 0; exit }
            printf "%.2f\n", (b - a) * 1000 / (t[b] - t[a]) }'
}

qgk_check "create topics" "${LG[@]}" topics
declare -A RATE
for n in 1 2 3; do
    qgk_worker_start "$STAGE" "$n"
    qgk_check "$n worker(s): the group is stable with $n members" \
        "${LG[@]}" wait-groups --members "$n" --timeout 90
    qgk_check "$n worker(s): each holds a balanced share of the 6 partitions" \
        qg_wait_for "balanced assignment" 60 balanced "$n"
    jq -c '.groups[] | {topic, members: [.members[] | {member, partitions}]}' \
        "$QGK_DIR/workers.json" >&2 || true
    count=$((PER_WORKER * n))
    "${LG[@]}" bench --run-id "n$n" --count "$count" --at-least-once --settle 1 --json \
        --timeout 120 --dump "$QGK_DIR/dump-$n.csv" >"$QGK_DIR/bench-$n.json" 2>>"$QGK_DIR/bench.err" &&
        rc=0 || rc=$?
    qgk_check "$n worker(s): all $count goals completed" test "$rc" = 0
    RATE[$n]=$(steady_rate "$QGK_DIR/dump-$n.csv")
    qg_say "$n worker(s): ${RATE[$n]} goals/s in steady state"
done
ratio() { awk -v r="${RATE[$1]}" -v one="${RATE[1]}" -v n="$1" 'BEGIN { printf "%.2f", (one > 0 ? r / (n * one) : 0) }'; }
for n in 2 3; do
    e=$(ratio "$n")
    qg_say "scaling efficiency with $n workers: $e (${RATE[$n]} vs $n x ${RATE[1]} goals/s)"
    if [ -n "${QG_SCALE_RATIO_SOFT:-}" ]; then
        echo "# efficiency $n workers: $e (not asserted: QG_SCALE_RATIO_SOFT)"
    else
        qgk_check "$n workers: throughput >= 0.9 x $n x 1 worker (efficiency $e)" \
            awk -v e="$e" 'BEGIN { exit !(e >= 0.9) }'
    fi
done

# Kill -9 one of three workers while a run is under way.
count=$((PER_WORKER * 4))
"${LG[@]}" bench --run-id kill --count "$count" --at-least-once --settle 2 --json --timeout 150 \
    >"$QGK_DIR/bench-kill.json" 2>>"$QGK_DIR/bench.err" &
BENCH=$!
# Goals waiting on the stage topic: the run is under way.
waiting() { "${QCTL[@]}" 2>/dev/null | jq -e --arg t "$QGK_PREFIX.$STAGE" \
    '[.groups[] | select(.topic == $t and .lag > 0)] | length > 0' >/dev/null; }
qg_wait_for "goals waiting" 30 waiting || true
victim=$(cat "$QGK_DIR/pid/$STAGE-2")
kill -KILL "$victim"
qg_wait_for "killed worker gone" 10 test -e "$QGK_DIR/rc/$STAGE-2"
rm -f "$QGK_DIR/pid/$STAGE-2" "$QGK_DIR/rc/$STAGE-2"
qgk_check "after kill -9: the 2 others take over all 6 partitions" \
    qg_wait_for "rebalance after the kill" 60 balanced 2
wait "$BENCH" && rc=0 || rc=$?
qgk_check "after kill -9: no goal lost ($(jq -r '"\(.completed)/\(.count) completed, \(.duplicates) duplicates"' "$QGK_DIR/bench-kill.json" 2>/dev/null))" \
    test "$rc" = 0
qgk_check "workers exit 0 on SIGTERM" qgk_workers_stop
qgk_finish
