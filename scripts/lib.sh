# Shared helpers for scripts/*. Source it: . "$(dirname "$0")/lib.sh"
QG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QG_SHARED=${QG_SHARED:-$(cd "$QG_ROOT/.." && pwd)/shared}
# Downloads and tool builds live outside the clone so a fresh clone (CI) reuses them.
QG_CACHE=${QG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/querygoal-runtime}
QG_BUILD=${QG_BUILD:-$QG_ROOT/build}
# Running servers (pid, port, log) of this checkout.
QG_RUN=${QG_RUN:-$QG_ROOT/.run}
export QG_ROOT QG_SHARED QG_CACHE QG_BUILD QG_RUN

qg_say() { printf '%s %s\n' "==>" "$*" >&2; }
qg_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root (directly when we are root, else through sudo).
qg_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# qg_wait_for DESCRIPTION TIMEOUT_S COMMAND...: poll COMMAND until it succeeds.
qg_wait_for() {
    local what=$1 timeout=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { qg_say "timed out waiting for $what"; return 1; }
        sleep 0.2
    done
}
