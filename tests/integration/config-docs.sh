#!/usr/bin/env bash
# The configuration tables in README.md and docs/*.md are the option tables of
# the code (scripts/gen-config-docs --check), and the check notices a table that
# drifted from the code.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
DIR=$(mktemp -d /tmp/qg-config-docs.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
pass=0; fail=0
check() {
    local what=$1; shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
GEN=$QG_ROOT/scripts/gen-config-docs

check "every marked table in README.md and docs/*.md matches the code" "$GEN" --check
for doc in README.md docs/binding.md docs/selection.md docs/simulation.md docs/kafka.md docs/qgctl-ask.md docs/engine.md; do
    check "$doc has a generated configuration table" grep -q '^<!-- config:' "$QG_ROOT/$doc"
done

# A doc whose table says another default than the code must fail the check.
cp "$QG_ROOT/README.md" "$DIR/README.md"
sed -i 's/^| `goal.max.bytes` | 1048576 |/| `goal.max.bytes` | 2097152 |/' "$DIR/README.md"
check "the drifted copy really differs" bash -c '! cmp -s "$1" "$2"' _ "$QG_ROOT/README.md" "$DIR/README.md"
check "a table with a wrong default fails the check" bash -c '! "$1" --check "$2" 2>/dev/null' _ "$GEN" "$DIR/README.md"
# A row the code no longer has fails it too; regenerating repairs the copy.
sed -i 's/^| `topic.prefix` |.*/&\n| `topic.gone` | 1 | | removed |/' "$DIR/README.md"
check "a table with a key the code does not have fails the check" bash -c '! "$1" --check "$2" 2>/dev/null' _ "$GEN" "$DIR/README.md"
"$GEN" "$DIR/README.md"
check "regenerating the copy gives README.md back" cmp -s "$QG_ROOT/README.md" "$DIR/README.md"
# A marker naming no table is an error, not a silent empty table.
printf '<!-- config:no-such-table -->\n<!-- /config -->\n' >"$DIR/bad.md"
check "a marker naming no option table fails" bash -c '! "$1" --check "$2" 2>/dev/null' _ "$GEN" "$DIR/bad.md"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
