#!/usr/bin/env bash
# A short libFuzzer run of the SWRL rule parser and engine under ASan (leak
# checking on) and UBSan: no crash, no leak. Length: $QG_FUZZ_SECONDS (20 s).
# Longer runs: scripts/fuzz-swrl 600.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
exec "$QG_ROOT/scripts/fuzz-swrl" "${QG_FUZZ_SECONDS:-20}"
