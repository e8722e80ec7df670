#!/usr/bin/env bash
# Every binary in build/bin (qg-*, qgctl and each qgctl subcommand with options)
# refuses a bad configuration value at start: exit code 2 and stderr naming the key
# (and file:line for -F). The keys and their types come from each binary's own
# --help-markdown; for each, the same key with a good value is accepted
# (--dump-config exits 0), so a refusal is the value's doing.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
BIN=$QG_BUILD/bin
DIR=$(mktemp -d /tmp/qg-config-bad.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
# Nothing may reach a real Kafka if a bad value slipped through: a port nobody serves.
export QG_BOOTSTRAP_SERVERS=127.0.0.1:1
unset $(env | grep -o '^QG_[A-Z_]*' | grep -vE '^QG_(ROOT|SHARED|BUILD|CACHE|RUN|BOOTSTRAP_SERVERS)$') 2>/dev/null

# refused NAME KEY STDERR_PATTERN COMMAND...: exit 2 within 30 s, stderr matches.
refused() {
    local what=$1 pattern=$2; shift 2
    timeout 30 "$@" </dev/null >"$DIR/out" 2>"$DIR/err"
    local rc=$?
    check "$what: exit 2 (got $rc)" test "$rc" = 2
    check "$what: stderr names it" grep -qF -- "$pattern" "$DIR/err"
}

# rows CMD...: "key<TAB>allowed<TAB>default" for every option in the command's --help
# (every binary prints its option tables there: "  --key-name METAVAR  text [allowed] (default: D)").
rows() {
    timeout 30 "$@" --help 2>/dev/null | sed -nE \
        -e 's/^  --([a-z0-9-]+)(\[=BOOL\]| [A-Z]+) .* \[([^]]*)\]( \(default: (.*)\))?$/\1\t\3\t\5/p' \
        -e 's/^  --([a-z0-9-]+)\[=BOOL\] .*\(default: (.*)\)$/\1\ttrue\/false\t\2/p' |
        awk -F'\t' '{ k = $1; gsub(/-/, ".", k); print k "\t" $2 "\t" $3 }'
}

# probe LABEL CMD...: wrong type, out of range, bad choice, bad boolean, bad -F lines and
# a bad environment value, on the options of the command's own table where it has one.
probe() {
    local label=$1; shift
    local key allowed dflt range_key= range_lo= enum_key= bool_key= typed= good=
    while IFS=$'\t' read -r key allowed dflt; do
        case $allowed in
        true/false) bool_key=$key ;;
        comma-separated*) ;;
        *..*)
            range_key=$key # the last: a binary's own table comes after the runtime's
            range_lo=${allowed%%..*}
            typed=$key
            good=${dflt:-$range_lo} ;;
        *", "*) enum_key=${enum_key:-$key} ;;
        esac
    done < <(rows "$@")
    if [ -z "$typed" ] && [ -n "$bool_key" ]; then typed=$bool_key; good=true; fi
    if [ -z "$typed" ]; then
        echo "# $label: no typed option (only -F is probed)"
    else
        check "$label: $typed with a good value is accepted" \
            bash -c '"$@" --dump-config >/dev/null 2>&1' _ "$@" -X "$typed=$good"
        refused "$label: wrong type for $typed" "$typed: abc:" "$@" -X "$typed=abc"
        refused "$label: wrong type for $typed as --flag" "$typed: abc:" "$@" "--${typed//./-}=abc"
    fi
    if [ -n "$range_key" ]; then
        local below
        below=$(awk -v lo="$range_lo" 'BEGIN { print lo - 1 }')
        refused "$label: $range_key below its minimum" "$range_key: $below: out of range" \
            "$@" -X "$range_key=$below"
    fi
    if [ -n "$enum_key" ]; then
        refused "$label: $enum_key not one of its choices" "$enum_key: bogus: not one of" \
            "$@" -X "$enum_key=bogus"
    fi
    if [ -n "$bool_key" ]; then
        refused "$label: $bool_key not a boolean" "$bool_key: maybe: not a boolean" \
            "$@" -X "$bool_key=maybe"
    fi
    printf '# settings\n\nthis line is not a setting\n' >"$DIR/bad-line.conf"
    refused "$label: -F with a line that is not key=value" "$DIR/bad-line.conf:3:" \
        "$@" -F "$DIR/bad-line.conf"
    if [ -n "$typed" ]; then
        printf '# settings\n%s=abc\n' "$typed" >"$DIR/bad-value.conf"
        refused "$label: -F with a bad value" "$DIR/bad-value.conf:2: $typed: abc:" \
            "$@" -F "$DIR/bad-value.conf"
        refused "$label: a bad value from the environment" "$typed: abc:" \
            env "QG_$(echo "$typed" | tr 'a-z.' 'A-Z_')=abc" "$@"
    fi
}

n=0
for b in "$BIN"/qg-* "$BIN"/qgctl; do
    [ -x "$b" ] || continue
    name=$(basename "$b")
    n=$((n + 1))
    if [ "$name" = qgctl ]; then
        for cmd in submit ask dlq ping watch report summary; do probe "qgctl $cmd" "$b" "$cmd"; done
        for stage in swrlSelection yamlBinding simulation; do probe "qgctl stage $stage" "$b" stage "$stage"; done
    else
        probe "$name" "$b"
    fi
done
check "every binary was probed ($n)" test "$n" -ge 10

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
