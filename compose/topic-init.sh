#!/bin/sh
# Create every topic querygoal-runtime uses, idempotently (existing topics are left as they are).
# Runs with the Kafka distribution's kafka-topics.sh (the apache/kafka image has it in
# /opt/kafka/bin); used by compose/docker-compose.yml (service topic-init) and by the
# Kubernetes Job querygoal-topic-init. Configuration by environment only:
#   QG_BOOTSTRAP_SERVERS                  kafka:9092
#   QG_TOPIC_PREFIX                       querygoal
#   QG_TOPIC_PARTITIONS                   12   stage, retry and completed topics: the most
#                                              replicas a stage can usefully scale to
#   QG_TOPIC_DLQ_PARTITIONS               3
#   QG_TOPIC_REPLICATION_FACTOR           1    (3 on a production cluster)
#   QG_TOPIC_MIN_INSYNC_REPLICAS          1    (2 with replication factor 3)
#   QG_TOPIC_RETENTION_MS                 604800000   (7 days) stage and retry topics
#   QG_TOPIC_RESULT_RETENTION_MS          2592000000  (30 days) completed and dlq
#   QG_TOPIC_MAX_MESSAGE_BYTES            4194304     goals grow as stages add results
#   QG_TOPIC_INIT_COMMAND_CONFIG          client properties file (SASL/TLS), optional
#   QG_TOPIC_INIT_TOOLS_DIR               /opt/kafka/bin
#   QG_TOPIC_INIT_TIMEOUT_S               120  how long to wait for the cluster
#   QG_TOPIC_INIT_DRY_RUN                 1: print the topic table, contact nothing
set -eu

servers=${QG_BOOTSTRAP_SERVERS:-kafka:9092}
prefix=${QG_TOPIC_PREFIX:-querygoal}
partitions=${QG_TOPIC_PARTITIONS:-12}
dlq_partitions=${QG_TOPIC_DLQ_PARTITIONS:-3}
rf=${QG_TOPIC_REPLICATION_FACTOR:-1}
min_isr=${QG_TOPIC_MIN_INSYNC_REPLICAS:-1}
retention=${QG_TOPIC_RETENTION_MS:-604800000}
result_retention=${QG_TOPIC_RESULT_RETENTION_MS:-2592000000}
max_bytes=${QG_TOPIC_MAX_MESSAGE_BYTES:-4194304}
tools=${QG_TOPIC_INIT_TOOLS_DIR:-/opt/kafka/bin}
timeout=${QG_TOPIC_INIT_TIMEOUT_S:-120}

say() { printf 'topic-init: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

for n in "$partitions" "$dlq_partitions" "$rf" "$min_isr" "$retention" "$result_retention" \
    "$max_bytes" "$timeout"; do
    case $n in '' | *[!0-9]*) die "not a whole number: '$n'" ;; esac
done
[ "$min_isr" -le "$rf" ] || die "min.insync.replicas ($min_isr) > replication factor ($rf)"
case $prefix in '' | *[!A-Za-z0-9._-]*) die "bad topic prefix '$prefix'" ;; esac

# The topic table: name partitions retention.ms, one line each.
topics() {
    for stage in swrlSelection yamlBinding simulation aasQuery dataFiltering; do
        echo "$prefix.$stage $partitions $retention"
        echo "$prefix.$stage.retry $partitions $retention"
    done
    echo "$prefix.completed $partitions $result_retention"
    echo "$prefix.dlq $dlq_partitions $result_retention"
}

if [ "${QG_TOPIC_INIT_DRY_RUN:-}" = 1 ]; then
    topics
    exit 0
fi

kt() {
    if [ -n "${QG_TOPIC_INIT_COMMAND_CONFIG:-}" ]; then
        "$tools/kafka-topics.sh" --bootstrap-server "$servers" \
            --command-config "$QG_TOPIC_INIT_COMMAND_CONFIG" "$@"
    else
        "$tools/kafka-topics.sh" --bootstrap-server "$servers" "$@"
    fi
}

[ -x "$tools/kafka-topics.sh" ] || die "no kafka-topics.sh in $tools"

say "waiting for $servers (up to ${timeout}s)"
deadline=$(($(date +%s) + timeout))
until kt --list >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "cluster $servers not reachable in ${timeout}s"
    sleep 2
done

existing=$(kt --list)
topics | while read -r name parts keep; do
    if printf '%s\n' "$existing" | grep -qx "$name"; then
        say "exists: $name"
        continue
    fi
    kt --create --if-not-exists --topic "$name" --partitions "$parts" \
        --replication-factor "$rf" \
        --config cleanup.policy=delete \
        --config retention.ms="$keep" \
        --config min.insync.replicas="$min_isr" \
        --config max.message.bytes="$max_bytes" >/dev/null
    say "created: $name partitions=$parts rf=$rf retention.ms=$keep"
done

# Report what the cluster now holds, so a topic created earlier with fewer partitions
# (which caps how far a stage scales) shows up in the log.
missing=0
topics | while read -r name parts _; do
    have=$(kt --describe --topic "$name" | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)
    [ -n "$have" ] || { say "missing after create: $name"; exit 1; }
    [ "$have" -ge "$parts" ] || say "warning: $name has $have partitions, configured $parts"
done || missing=1
[ "$missing" = 0 ] || die "some topics are missing"
say "all topics present"
