#!/usr/bin/env bash
# The HTML report in a real browser: render the fixture goal (and, when qg-sim
# is built, a real plan of the seed factory) with `qgctl report`, load each
# page in headless Chromium, and check that the screenshot is not blank and
# that the DOM holds one <rect class="op"> per operation of the plan. A blank
# page is checked too, so the blank-detector is known to be able to fail.
# Installs the Debian package `chromium` when it is missing.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

fixture=$QG_ROOT/tests/data/report/goal3-enriched.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); qg_say "ok: $name"; else fail=$((fail + 1)); qg_say "FAILED: $name"; fi
}

# ---- chromium ----
if ! command -v chromium >/dev/null 2>&1; then
    qg_say "installing chromium (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    qg_as_root apt-get update -qq && qg_as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
command -v chromium >/dev/null 2>&1 || qg_die "chromium is not available"

browser() { # browser ARGS... : headless Chromium with a private profile, bounded in time
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --no-default-browser-check --hide-scrollbars --mute-audio \
        --user-data-dir="$work/profile" "$@" 2>>"$work/chromium.log"
}

# ---- the renderer: qgctl report, or a small driver over libqgcommon when qgctl lacks it ----
render() { # render GOAL.json OUT.html
    if [ ! -x "$QG_BUILD/bin/qgctl" ]; then
        render_with_driver "$1" "$2"
        return
    fi
    if "$QG_BUILD/bin/qgctl" report "$1" -o "$2" 2>"$work/qgctl.err"; then
        return 0
    fi
    if grep -q "not available in this build" "$work/qgctl.err" 2>/dev/null; then
        render_with_driver "$1" "$2"
        return
    fi
    cat "$work/qgctl.err" >&2
    return 1
}

render_with_driver() {
    if [ ! -x "$work/render" ]; then
        qg_say "qgctl report is not wired in this build: using a driver over libqgcommon"
        cat >"$work/render.c" <<'EOF'
#include <stdio.h>
#include "report.h"
int main(int argc, char **argv)
{
    char e[512];
    if (argc != 3)
        return 2;
    qg_json_t *doc = qg_json_parse_file(argv[1], e, sizeof(e));
    if (!doc) {
        fprintf(stderr, "%s\n", e);
        return 1;
    }
    FILE *f = fopen(argv[2], "w");
    qg_error_t *err = f ? qg_report_render(doc, f) : NULL;
    int rc = f && !err && fclose(f) == 0 ? 0 : 1;
    if (err)
        fprintf(stderr, "%s\n", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(doc);
    return rc;
}
EOF
        local san=()
        grep -q '^QG_SANITIZE:BOOL=ON' "$QG_BUILD/CMakeCache.txt" 2>/dev/null &&
            san=(-fsanitize=address,undefined)
        cc -std=c11 -D_GNU_SOURCE "${san[@]}" -I"$QG_ROOT/common" "$work/render.c" \
            "$QG_BUILD/libqgcommon.a" $(pkg-config --libs rdkafka libcurl yajl yaml-0.1 libzmq) \
            -lm -lpthread -o "$work/render" || return 1
    fi
    "$work/render" "$1" "$2"
}

# ---- checks on a page ----
count_ops_in_dom() { # count <rect class="op"> in the DOM Chromium built from the page
    browser --dump-dom "file://$1" >"$1.dom" || return 1
    grep -oE 'class="op( existing)?"' "$1.dom" | wc -l
}

# Decode a PNG (8-bit RGB/RGBA, not interlaced) with zlib and print "width height nonwhite".
png_stats() {
    python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    (ln,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + ln]
    pos += 12 + ln
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    elif kind == b"IEND":
        break
assert depth == 8 and interlace == 0 and ctype in (2, 6), "unsupported PNG layout"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, i, nonwhite = bytearray(stride), 0, 0
for _ in range(h):
    ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    if ftype == 1:
        for x in range(bpp, stride):
            line[x] = (line[x] + line[x - bpp]) & 255
    elif ftype == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif ftype == 3:
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
    elif ftype == 4:
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    r, g, b = line[0::bpp], line[1::bpp], line[2::bpp]
    nonwhite += sum(1 for x, y, z in zip(r, g, b) if x < 235 or y < 235 or z < 235)
    prev = line
print(w, h, nonwhite)
EOF
}

screenshot_ok() { # screenshot_ok PAGE MIN_PERMILLE : the shot has at least that share of ink
    browser --window-size=1280,1400 --screenshot="$1.png" "file://$1" >/dev/null || return 1
    read -r w h ink < <(png_stats "$1.png") || return 1
    qg_say "screenshot $(basename "$1"): ${w}x${h}, $ink non-white pixels"
    [ "$w" -eq 1280 ] && [ "$ink" -ge $((w * h * $2 / 1000)) ]
}

self_contained() { # no scripts, links or URLs but the SVG namespace
    ! grep -Eq '<script|<link|<img|src="|href="|url\(' "$1" &&
        [ "$(grep -o 'https\?://[^"]*' "$1" | grep -vc '^http://www.w3.org/2000/svg$')" = 0 ]
}

ops_in_json() { # number of operations in the plan of a goal file
    python3 -c 'import json,sys
o=json.load(open(sys.argv[1]))["QueryGoal"]["outputs"]["productionPlan"]
print(len(o["operations"] if isinstance(o, dict) else o))' "$1"
}

# 1. the fixture goal
check "render the fixture goal" render "$fixture" "$work/fixture.html"
check "the page is self-contained" self_contained "$work/fixture.html"
want=$(ops_in_json "$fixture")
got=$(count_ops_in_dom "$work/fixture.html")
check "one bar per operation in the DOM ($got of $want)" test "${got:-x}" = "$want"
check "the screenshot of the fixture is not blank" screenshot_ok "$work/fixture.html" 20

# 2. the detector can fail: a blank page
printf '<!DOCTYPE html><html><body></body></html>\n' >"$work/blank.html"
blank_detected() { ! screenshot_ok "$1" 20; }
check "a blank page is recognised as blank" blank_detected "$work/blank.html"

# 3. a goal without outputs still renders, with no bars
printf '{"QueryGoal":{"goalId":"goal3-empty","goalType":"goal3_predict_production_time"}}\n' \
    >"$work/empty.json"
check "render a goal without outputs" render "$work/empty.json" "$work/empty.html"
check "no bars and 'not available' for a goal without outputs" \
    bash -c "[ \"\$(grep -c 'not available' '$work/empty.html')\" -ge 4 ] && ! grep -q 'class=\"op\"' '$work/empty.html'"

# 4. a real plan of the seed factory from qg-sim (P-1001 x 50)
sim=$QG_BUILD/bin/qg-sim
seed=$QG_SHARED/factory/seed-factory
if [ -x "$sim" ] && command -v jq >/dev/null 2>&1; then
    "$sim" assemble --aas "$seed/FactorySimulation.json" --aas "$seed/Factory.json" \
        --aas "$seed/M1.json" --aas "$seed/M2.json" --aas "$seed/M3.json" --aas "$seed/M4.json" \
        --out "$work/scenario.json" &&
        mkdir -p "$work/scn" &&
        for key in jobs operations operation_durations machine_transfer_time job_release machines routing; do
            jq ".$key" "$work/scenario.json" >"$work/scn/$key.json"
        done &&
        "$sim" run --scenario "$work/scn" --product P-1001 --quantity 50 --time-limit 0.3 --json \
            --quiet --out "$work/result.json" &&
        jq '{QueryGoal: {goalId: "goal3-seed", goalType: "goal3_predict_production_time",
             parameters: [{key: "productType", value: "P-1001"}, {key: "quantity", value: 50}],
             outputs: .}}' "$work/result.json" >"$work/seed-goal.json"
    check "qg-sim planned the seed factory" test -s "$work/seed-goal.json"
    check "render the seed factory plan" render "$work/seed-goal.json" "$work/seed.html"
    want=$(ops_in_json "$work/seed-goal.json" 2>/dev/null)
    got=$(count_ops_in_dom "$work/seed.html")
    check "one bar per operation of the real plan ($got of $want)" test "${got:-x}" = "${want:-y}"
    check "the screenshot of the real plan is not blank" screenshot_ok "$work/seed.html" 20
else
    qg_say "qg-sim or jq not available: real-plan checks skipped"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
