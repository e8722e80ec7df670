#!/usr/bin/env python3
"""Differential check of qg-swrl against Pellet (owlready2).

For every case file (tests/data/swrl/*.json: rules, individuals, expect) this
builds an OWL ontology with owlready2, adds the rules as SWRL, runs the
bundled Pellet reasoner with property-value inference, and compares the
inferred values of the queried predicates (default selectedModel) with what
`qg-swrl CASE` prints. All individuals are declared pairwise different, which
is the unique-name assumption our engine makes.

usage: pellet_reference.py --ours BUILD/bin/qg-swrl CASE.json...
Prints one line per case and a final "N passed, N failed".
"""
import argparse
import json
import re
import subprocess
import sys
import types

import owlready2 as owl

BUILTIN_NAMES = {
    "equal", "notEqual", "lessThan", "lessThanOrEqual", "greaterThan",
    "greaterThanOrEqual", "stringEqualIgnoreCase", "startsWith", "endsWith",
    "contains", "matches", "add", "subtract", "multiply",
}
SPECIAL = {"sameAs", "differentFrom"}
INT_TYPES = ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
             "positiveInteger", "negativeInteger", "nonPositiveInteger")


def owlready_rule(text):
    """Rewrite our SWRL text into the dialect owlready2's parser accepts."""
    text = text.replace("\u2227", "^").replace("\u2192", "->")
    text = re.sub(r"^\s*[A-Za-z_][\w.-]*:\s", "", text)  # rule label
    text = text.replace("swrlb:", "")

    def typed(m):
        lex, dt = m.group(1), m.group(2)
        if dt in INT_TYPES:
            return str(int(lex))
        if dt in ("decimal", "double", "float"):
            v = float(lex)
            return repr(v)
        if dt == "boolean":
            return "true" if lex in ("true", "1") else "false"
        return '"%s"' % lex
    return re.sub(r'"((?:[^"\\]|\\.)*)"\^\^xsd:(\w+)', typed, text)


def atoms(text):
    """Yield (name, [args]) of each atom, respecting string literals."""
    i, n = 0, len(text)
    while i < n:
        m = re.compile(r'[A-Za-z_][\w.:-]*\s*\(').match(text, i)
        if not m:
            if text[i] == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        name = m.group(0)[:-1].strip()
        if name.startswith("swrlb:"):
            name = name[len("swrlb:"):]
        j, args, cur = m.end(), [], ""
        while j < n and text[j] != ")":
            if text[j] == '"':
                k = j + 1
                while k < n and text[k] != '"':
                    k += 2 if text[k] == "\\" else 1
                cur += text[j:k + 1]
                j = k + 1
                continue
            if text[j] == ",":
                args.append(cur.strip())
                cur = ""
            else:
                cur += text[j]
            j += 1
        args.append(cur.strip())
        yield name, [a for a in args if a]
        i = j + 1


def is_ident(arg):
    return re.fullmatch(r"[A-Za-z_][\w.-]*", arg) and arg not in ("true", "false")


def property_kinds(case, rules):
    """name -> 'class' | 'object' | 'data', from facts, declarations and rules."""
    kinds = {}
    for desc in case.get("individuals", {}).values():
        for c in desc.get("classes", []):
            kinds[c] = "class"
        for k, v in desc.items():
            if k == "classes":
                continue
            vals = v if isinstance(v, list) else [v]
            kinds[k] = "object" if any(isinstance(x, dict) for x in vals) else "data"
    for p in case.get("objectProperties", []):
        kinds[p] = "object"
    for p in case.get("dataProperties", []):
        kinds[p] = "data"
    all_atoms = [a for r in rules for a in atoms(r)]
    ind_vars = set()
    for name, args in all_atoms:
        if name in BUILTIN_NAMES or name in SPECIAL:
            continue
        if len(args) == 1:
            kinds.setdefault(name, "class")
        if args and args[0].startswith("?"):
            ind_vars.add(args[0])
    changed = True
    while changed:
        changed = False
        for name, args in all_atoms:
            if len(args) != 2 or name in BUILTIN_NAMES or name in SPECIAL:
                continue
            if name not in kinds and (args[1] in ind_vars or is_ident(args[1])):
                kinds[name] = "object"
                changed = True
            if kinds.get(name) == "object" and args[1].startswith("?") \
                    and args[1] not in ind_vars:
                ind_vars.add(args[1])
                changed = True
    for name, args in all_atoms:
        if len(args) == 2 and name not in BUILTIN_NAMES and name not in SPECIAL:
            kinds.setdefault(name, "data")
    return kinds, all_atoms


def build(case, rules):
    world = owl.World()
    onto = world.get_ontology("http://example.org/qg-case.owl")
    kinds, all_atoms = property_kinds(case, rules)
    base = {"class": owl.Thing, "object": owl.ObjectProperty, "data": owl.DataProperty}
    with onto:
        ents = {name: types.new_class(name, (base[k],)) for name, k in kinds.items()}
        inds = {}
        for name in case.get("individuals", {}):
            inds[name] = owl.Thing(name, namespace=onto)
        for name, args in all_atoms:  # individual constants in rules
            for a in args:
                if is_ident(a) and a not in inds and name not in BUILTIN_NAMES:
                    inds[a] = owl.Thing(a, namespace=onto)
        for name, desc in case.get("individuals", {}).items():
            ind = inds[name]
            for c in desc.get("classes", []):
                ind.is_a.append(ents[c])
            for k, v in desc.items():
                if k == "classes":
                    continue
                vals = v if isinstance(v, list) else [v]
                vals = [inds[x["ref"]] if isinstance(x, dict) else x for x in vals]
                setattr(ind, k, vals)
        if len(inds) > 1:
            owl.AllDifferent(list(inds.values()))
        for r in rules:
            owl.Imp().set_as_rule(owlready_rule(r))
    return world, onto, inds


def plain(v):
    if isinstance(v, owl.Thing):
        return v.name
    if isinstance(v, bool) or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return round(v, 9)
    return str(v)


def pellet_facts(case, queries):
    rules = case["rules"] if isinstance(case["rules"], list) else [case["rules"]]
    rules = [r for r in rules if r.strip() and not r.strip().startswith("#")]
    world, onto, inds = build(case, rules)
    owl.sync_reasoner_pellet(world, infer_property_values=True,
                             infer_data_property_values=True, debug=0)
    out = {}
    for q in queries:
        prop = onto[q]
        pairs = []
        for name, ind in inds.items():
            if prop is None:
                continue
            for v in prop[ind]:
                pairs.append([name, plain(v)])
        out[q] = sorted(pairs, key=lambda p: json.dumps(p))
    return out


def normalize(facts):
    return {q: sorted(([s, round(o, 9) if isinstance(o, float) else o] for s, o in pairs),
                      key=lambda p: json.dumps(p)) for q, pairs in facts.items()}


def our_facts(ours, path, queries):
    cmd = [ours, "--query", ",".join(queries)]
    res = subprocess.run(cmd + [path], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError("qg-swrl failed: " + res.stderr.strip())
    return json.loads(res.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True)
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    passed = failed = 0
    for path in args.cases:
        with open(path, encoding="utf-8") as f:
            case = json.load(f)
        if "error" in case:
            continue  # rejected rule sets are checked by the unit tests
        queries = case.get("query", ["selectedModel"])
        try:
            ref = normalize(pellet_facts(case, queries))
            got = normalize(our_facts(args.ours, path, queries))
        except Exception as e:  # report and go on with the next case
            print("FAIL %s: %s" % (path, str(e).splitlines()[-1] if str(e) else e))
            failed += 1
            continue
        want = normalize({q: case.get("expect", {}).get(q, []) for q in queries})
        if ref == got:
            n = sum(len(v) for v in got.values())
            note = "" if ref == want else " (expect in case file differs!)"
            print("ok   %s: %d fact(s) agree%s" % (path, n, note))
            passed += 1 if ref == want else 0
            failed += 0 if ref == want else 1
        else:
            print("FAIL %s\n  pellet: %s\n  ours:   %s" % (path, json.dumps(ref), json.dumps(got)))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
