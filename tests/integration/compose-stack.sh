#!/usr/bin/env bash
# The container deployment for real (issue: image build and the compose stack under
# podman): scripts/compose-test builds the images without a registry, starts
# compose/docker-compose.yml with podman-compose, asks the seed question through qgctl
# inside the stack and through the HTTP gateway's published port from the host, scales
# binding to 3, kills one, plays the k8s base with podman kube play and tears everything
# down. It prints its checks and "N passed, N failed".
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
export QG_COMPOSE_PROJECT=${QG_COMPOSE_PROJECT:-qgtest$$}
exec "$QG_ROOT/scripts/compose-test" test
