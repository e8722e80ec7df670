#!/usr/bin/env bash
# Differential test of the SWRL engine against Pellet: every rule/fact case in
# tests/data/swrl/ is run by our engine (qg-swrl) and by owlready2 with its
# bundled Pellet reasoner (Java); the inferred selectedModel facts must agree,
# and agree with the case's "expect". owlready2 is installed from PyPI into
# $QG_CACHE/venv-swrl (pinned: 0.48, the last release whose bundled Jena runs on
# Java 17).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

OWLREADY_VERSION=0.48
venv=$QG_CACHE/venv-swrl
bin=$QG_BUILD/bin/qg-swrl

[ -x "$bin" ] || qg_die "$bin not built"
command -v java >/dev/null || qg_die "java is needed for Pellet (scripts/bootstrap installs it)"
command -v python3 >/dev/null || qg_die "python3 is needed"

if ! "$venv/bin/python" -c "import owlready2, sys; sys.exit(owlready2.VERSION != '$OWLREADY_VERSION')" 2>/dev/null; then
    qg_say "installing owlready2==$OWLREADY_VERSION into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "owlready2==$OWLREADY_VERSION"
fi

cases=("$QG_ROOT"/tests/data/swrl/*.json)
[ "${#cases[@]}" -ge 20 ] || qg_die "expected at least 20 cases, found ${#cases[@]}"
qg_say "comparing ${#cases[@]} cases with Pellet"
exec "$venv/bin/python" "$QG_ROOT/tools/qg-swrl/pellet_reference.py" --ours "$bin" "${cases[@]}"
