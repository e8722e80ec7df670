#!/usr/bin/env bash
# At-least-once crash test on the real Kafka broker: as kafka-crash-eos.sh with
# processing.guarantee=at_least_once. Asserts no goal is lost; duplicates in
# completed are counted and reported, not failures.
QG_CRASH_GUARANTEE=at_least_once exec "$(dirname "$0")/kafka-crash-eos.sh" "$@"
