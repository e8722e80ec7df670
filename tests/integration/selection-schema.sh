#!/usr/bin/env bash
# schemas/registry.schema.json accepts the default registry and the seed's
# model_registry.json, and rejects registries the loader rejects too
# (missing runner, metaDataFile escaping the directory, bad runner type).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

venv=$QG_CACHE/venv-swrl
if ! "$venv/bin/python" -c "import jsonschema, yaml" 2>/dev/null; then
    qg_say "installing jsonschema and PyYAML into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "jsonschema>=4.18" PyYAML
fi

exec "$venv/bin/python" - "$QG_ROOT/schemas/registry.schema.json" "$QG_ROOT/config/registry.yaml" \
    "$QG_SHARED/seed-formats/model_registry.json" <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
passed = failed = 0
def check(desc, doc, ok):
    global passed, failed
    errs = list(v.iter_errors(doc))
    if (not errs) == ok:
        passed += 1
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - %s: %s" % (desc, errs[0].message if errs else "accepted"))
check("default registry is valid", yaml.safe_load(open(sys.argv[2])), True)
check("seed model_registry.json is valid", json.load(open(sys.argv[3])), True)
m = {"modelId": "M", "purpose": "p"}
check("model without runner or container is rejected", {"models": [m]}, False)
check("metaDataFile with .. is rejected",
      {"models": [dict(m, runner={"type": "builtin", "engine": "nsga2"}, metaDataFile="../x.yaml")]}, False)
check("absolute metaDataFile is rejected",
      {"models": [dict(m, runner={"type": "builtin", "engine": "nsga2"}, metaDataFile="/etc/x")]}, False)
check("unknown runner type is rejected", {"models": [dict(m, runner={"type": "docker"})]}, False)
check("exec runner needs a command", {"models": [dict(m, runner={"type": "exec"})]}, False)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
