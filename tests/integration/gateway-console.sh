#!/usr/bin/env bash
# The web console in a real browser: `scripts/demo --serve` brings up the whole
# system with the gateway; headless Chromium (Debian's chromium and
# chromium-driver, driven by Selenium from the venv) asks the seed question,
# watches progress arrive, checks the answer, the report, the recent goals and
# a DLQ replay (gateway.d/console_check.py). Screenshots stay in
# work/test-logs/gateway-console/.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
. "$QG_ROOT/tests/integration/gateway.d/venv.sh"
for pkg in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" && continue
    qg_say "installing $pkg (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    qg_as_root apt-get update -qq && qg_as_root apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
done
LOGDIR=$QG_ROOT/work/test-logs/gateway-console
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
setsid "$QG_ROOT/scripts/demo" --serve >"$LOGDIR/demo.out" 2>&1 &
DEMO=$!
stop_demo() { kill -INT -- "-$DEMO" 2>/dev/null; wait "$DEMO" 2>/dev/null; }
trap stop_demo EXIT
if ! qg_wait_for "the demo to serve the console" 600 grep -q '^console: http' "$LOGDIR/demo.out"; then
    tail -n 30 "$LOGDIR/demo.out"
    echo "0 passed, 1 failed"
    exit 1
fi
CONSOLE=$(sed -n 's/^console: //p' "$LOGDIR/demo.out")
echo "screenshots: $LOGDIR"
GW_CONSOLE=$CONSOLE GW_LOGDIR=$LOGDIR timeout 900 "$GW_PY" "$QG_ROOT/tests/integration/gateway.d/console_check.py" |
    tee "$LOGDIR/checks.out"
rc=${PIPESTATUS[0]}
stop_demo
trap - EXIT
read -r pass fail < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGDIR/checks.out" | tail -n1)
pass=${pass:-0}
fail=${fail:-1}
if [ "$rc" -eq 0 ] && ! pgrep -s "$DEMO" >/dev/null 2>&1; then
    echo "ok - the demo stopped every process on Ctrl-C"
    pass=$((pass + 1))
else
    echo "not ok - checks exited $rc, or a demo process is left"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
