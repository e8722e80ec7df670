#!/usr/bin/env bash
# gateway-api.sh on the real Kafka broker (scripts/kafka), where consumer
# groups can be listed: also the synchronous endpoint's 503 without workers.
GW_BROKER=real exec "$(dirname "$0")/gateway-api.sh" "$@"
