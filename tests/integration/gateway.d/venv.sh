# shellcheck shell=bash
# The gateway tests' Python venv under $QG_CACHE: openapi-spec-validator (which
# brings jsonschema, openapi-schema-validator and PyYAML) and Selenium.
# Source it after scripts/lib.sh; sets GW_PY.
GW_VENV=$QG_CACHE/venv-gateway
GW_PY=$GW_VENV/bin/python
if ! "$GW_PY" -c 'import openapi_spec_validator, selenium, yaml' 2>/dev/null; then
    qg_say "creating $GW_VENV (openapi-spec-validator, selenium)"
    python3 -m venv "$GW_VENV" >&2 || qg_die "python3 -m venv failed"
    "$GW_VENV/bin/pip" install -q "openapi-spec-validator>=0.7,<1" "selenium>=4.20,<5" >&2 ||
        qg_die "pip install failed"
fi
