#!/usr/bin/env python3
"""Independent replay of an engine plan (shares no code with lib/engine).

usage: replay_plan.py SCENARIO.json RESULT.json [--replications R] [--seed S] [--due SECONDS]

Reads the scenario (docs/engine.md: laws, transfers, machines, routing and the
`plant` section: asOf, calendars, setups, breakdowns, yield, history, work in
progress) and the engine's result (productionPlan: machine and sequence of
every operation; order: product, quantity, lot size). Replays the plan R times
with its own random numbers and prints JSON: median, p10, p90 and mean of the
order's completion (seconds from asOf), the fraction of replications inside
the engine's [p10, p90], and P(completion <= due) when --due is given.

Semantics re-implemented from docs/engine.md: a duration is the law divided
by efficiency (normal truncated at 0 by redrawing); an order step takes its
standard time with the law's coefficient of variation, times the units in
the lot; transfers from GEN before a job's first operation, between machines
after; an operation starts when its job predecessor has arrived and its
machine is free, at the next working instant; it takes the setup from the
machine's previous operation type, then its processing (each unit repeated
until good at the operation type's yield, repairs after exponential operating
time with mean MTBF added), in working time (breaks interrupt).
"""
import bisect
import datetime
import json
import math
import random
import sys

HORIZON_DAYS = 120


def num(v, dflt=None):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return dflt
    return dflt


def section(sc, key):
    v = sc.get(key)
    if isinstance(v, str):
        v = json.loads(v)
    return v


def parse_time(text):
    text = text.replace("Z", "+00:00")
    if len(text) == 10:
        text += "T00:00:00+00:00"
    t = datetime.datetime.fromisoformat(text)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


# ---- laws ----

class Law:
    def __init__(self, desc):
        if not isinstance(desc, dict):
            self.kind, self.a, self.b = "constant", num(desc), 0.0
            return
        kind = (desc.get("distribution") or desc.get("type") or "constant").lower()
        mean = num(desc.get("mean"), num(desc.get("value")))
        std = num(desc.get("std"), 0.0) or 0.0
        self.kind = kind
        if kind == "normal":
            self.a, self.b = mean, std
        elif kind == "exponential":
            self.a, self.b = mean, 0.0
        elif kind == "constant":
            self.a, self.b = mean, 0.0
        else:
            raise SystemExit(f"reference: law {kind} not supported here")

    def mean(self):
        return self.a

    def scaled(self, f):
        law = Law(0)
        law.kind, law.a, law.b = self.kind, self.a * f, self.b * f
        return law

    def sample(self, rng):
        if self.kind == "normal":
            if self.b <= 0:
                return self.a
            for _ in range(32):
                v = rng.gauss(self.a, self.b)
                if v >= 0:
                    return v
            return 0.0
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return self.a


# ---- calendars (minutes from asOf) ----

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def clock(s):
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def merge(spans):
    out = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def calendar_off(cal, extra_maint, as_of):
    """Non-working spans: outside shifts, breaks, non-working days, maintenance."""
    start = datetime.datetime.fromtimestamp(as_of, datetime.timezone.utc).date()
    start -= datetime.timedelta(days=1)
    off, on = [], []
    holidays = {parse_time(d) for d in cal.get("nonWorkingDays", [])}
    shifts = cal.get("shifts", [])
    for d in range(HORIZON_DAYS + 2):
        day = start + datetime.timedelta(days=d)
        midnight = datetime.datetime(day.year, day.month, day.day,
                                     tzinfo=datetime.timezone.utc).timestamp()
        base = (midnight - as_of) / 60.0
        if shifts and midnight not in holidays:
            for sh in shifts:
                days = [x.lower()[:3] if isinstance(x, str) else DAYS[(int(x) - 1) % 7]
                        for x in sh.get("days", DAYS[:5])]
                if DAYS[day.weekday()] not in days:
                    continue
                a, b = clock(sh["start"]), clock(sh["end"])
                if b <= a:
                    b += 1440
                on.append((base + a, base + b))
        for br in cal.get("breaks", []):
            off.append((base + clock(br["start"]), base + clock(br["end"])))
    if shifts:
        t = ((datetime.datetime(start.year, start.month, start.day,
                                tzinfo=datetime.timezone.utc).timestamp() - as_of) / 60.0)
        for a, b in merge(on):
            off.append((t, a))
            t = b
        off.append((t, HORIZON_DAYS * 1440.0))
    for w in list(cal.get("maintenance", [])) + list(extra_maint or []):
        off.append(((parse_time(w["start"]) - as_of) / 60.0, (parse_time(w["end"]) - as_of) / 60.0))
    return merge(off)


class Calendar:
    def __init__(self, off):
        self.off = off
        self.ends = [b for _, b in off]

    def next_work(self, t):
        i = bisect.bisect_right(self.ends, t)
        if i < len(self.off) and self.off[i][0] <= t:
            return self.off[i][1]
        return t

    def finish(self, t, work):
        i = bisect.bisect_right(self.ends, t)
        if i < len(self.off) and self.off[i][0] <= t:
            t = self.off[i][1]
            i += 1
        while i < len(self.off) and t + work > self.off[i][0]:
            work -= self.off[i][0] - t
            t = self.off[i][1]
            i += 1
        return t + work


# ---- the model ----

def fitted_durations(plant, durations):
    hist = plant.get("history") or []
    min_n = max(2, num(plant.get("minHistorySamples"), 10))
    for t, row in durations.items():
        for m in list(row):
            xs = [num(h["actual_min"]) for h in hist
                  if h.get("operation_type") == t and h.get("machine") == m
                  and (num(h.get("actual_min")) or 0) > 0]
            if len(xs) < min_n:
                continue
            mean = sum(xs) / len(xs)
            sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
            law = Law(row[m])
            row[m] = {"distribution": "normal", "mean": law.mean(), "std": sd / mean * law.mean()}
    return durations


def build(sc, res):
    plant = section(sc, "plant") or {}
    as_of = parse_time(plant["asOf"])
    durations = fitted_durations(plant, section(sc, "operation_durations"))
    machines = {}
    for m in section(sc, "machines") or []:
        eff = num(m.get("efficiency"), 1.0)
        eff = 1.0 if not eff or eff <= 0 else min(max(eff, 0.01), 100)
        machines[m["machine_id"]] = {"eff": eff, "avail": max(0.0, num(m.get("next_available_time"), 0) or 0),
                                     "raw": m}
    cals = plant.get("calendars") or {}
    default = cals.get("default")
    for mid, m in machines.items():
        own = cals.get(mid)
        if own and default and "shifts" not in own:
            off = calendar_off(default, own.get("maintenance"), as_of)
        elif own or default:
            off = calendar_off(own or default, None, as_of)
        else:
            off = []
        m["cal"] = Calendar(off)
        m["init"] = None
        cj = m["raw"].get("current_job")
        if isinstance(cj, str):
            try:
                cj = json.loads(cj)
            except ValueError:
                cj = None
        if isinstance(cj, dict) and (num(cj.get("remaining_min")) or 0) > 0:
            end = m["cal"].finish(m["cal"].next_work(0.0), num(cj["remaining_min"]))
            m["avail"] = max(m["avail"], end)
            m["init"] = cj.get("operation_type")
        bd = (plant.get("breakdowns") or {}).get(mid)
        m["mtbf"] = num(bd["mtbf"]) if bd else None
        m["mttr"] = Law(bd["mttr"]) if bd else None
    setups = plant.get("setups") or {}
    yields = plant.get("yield") or {}

    def setup(mid, a, b):
        if a is None or b is None or a == b:
            return 0.0
        v = (setups.get(mid) or {}).get(a, {}).get(b)
        if v is None:
            v = (setups.get("*") or {}).get(a, {}).get(b)
        return float(v or 0)

    ops = {o["operation_id"]: o for o in section(sc, "operations")}
    jobs = {j["job_id"]: j for j in section(sc, "jobs")}
    release = {r["job_id"]: num(r.get("release_time"), 0) or 0 for r in section(sc, "job_release")}
    order = res["order"]
    routing = section(sc, "routing")[order["productId"]]["process_steps"]
    q, lot = order["quantity"], order.get("lotSize") or 1
    lots = math.ceil(q / lot)

    plan = sorted(res["productionPlan"]["operations"], key=lambda x: (x["start"], x["operation"]))
    job_ops = {}
    steps = []
    for x in plan:
        name, mid, job = x["operation"], x["machine"], x["job"]
        eff = machines[mid]["eff"]
        if x.get("order"):
            lot_no = int(job.split("#")[1])
            units = lot if lot_no < lots else q - lot * (lots - 1)
            s = int(name.split("/")[1].split(":")[0]) - 1
            st = routing[s]
            otype = st["operation"]
            base = durations.get(otype, {}).get(mid)
            nominal = num(st.get("std_duration_min"))
            if base is not None and Law(base).mean() > 0:
                law = Law(base).scaled(nominal / Law(base).mean())
            else:
                law = Law(nominal)
            law = law.scaled(units / eff)
            idx, rel = s, 0.0
        else:
            op = ops[name]
            otype = op["type"]
            law = Law(durations[otype][mid]).scaled(1.0 / eff)
            units = 1.0
            idx, rel = jobs[job]["operations"].index(name), release.get(job, 0.0)
        steps.append({"name": name, "job": job, "machine": mid, "type": otype, "law": law,
                      "units": units, "idx": idx, "release": rel,
                      "yield": float(yields.get(otype, 1.0)), "order": bool(x.get("order"))})
        job_ops.setdefault(job, []).append(steps[-1])
    for lst in job_ops.values():
        lst.sort(key=lambda s: s["idx"])
        for i, s in enumerate(lst):
            s["pred"] = lst[i - 1] if i else None
    transfer = section(sc, "machine_transfer_time") or {}
    tlaw = {(a, b): Law(v) for a, row in transfer.items() for b, v in row.items()}
    return machines, steps, tlaw, setup


def replicate(model, rng):
    machines, steps, tlaw, setup = model
    free = {k: m["avail"] for k, m in machines.items()}
    last = {k: m["init"] for k, m in machines.items()}
    ttf = {k: (rng.expovariate(1.0 / m["mtbf"]) if m["mtbf"] else None) for k, m in machines.items()}
    end = {}
    done = 0.0
    for s in steps:
        k = s["machine"]
        p = s["pred"]
        if p is None:
            law = tlaw.get(("GEN", k))
            ready = s["release"] + (law.sample(rng) if law else 0.0)
        else:
            law = tlaw.get((p["machine"], k)) if p["machine"] != k else None
            ready = end[p["name"]] + (law.sample(rng) if law else 0.0)
        ready = max(ready, free[k])
        m = machines[k]
        start = m["cal"].next_work(ready)
        d = s["law"].sample(rng)
        if s["yield"] < 1.0:
            whole = math.ceil(s["units"])
            tries = 0
            for _ in range(whole):
                tries += 1
                while rng.random() >= s["yield"]:
                    tries += 1
            d *= tries * s["units"] / whole / s["units"]
        if m["mtbf"]:
            left, total = d, d
            while ttf[k] < left:
                left -= ttf[k]
                total += max(0.0, m["mttr"].sample(rng))
                ttf[k] = rng.expovariate(1.0 / m["mtbf"])
            ttf[k] -= left
            d = total
        e = m["cal"].finish(start, setup(k, last[k], s["type"]) + d)
        end[s["name"]] = e
        free[k] = e
        last[k] = s["type"]
        if s["order"]:
            done = max(done, e)
    return done * 60.0


def quantile(xs, q):
    h = (len(xs) - 1) * q
    lo = int(math.floor(h))
    if lo >= len(xs) - 1:
        return xs[-1]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def main(argv):
    args = argv[1:]
    opts = {"--replications": "10000", "--seed": "7", "--due": None}
    pos = []
    while args:
        a = args.pop(0)
        if a in opts and args:
            opts[a] = args.pop(0)
        else:
            pos.append(a)
    sc = json.load(open(pos[0]))
    res = json.load(open(pos[1]))
    model = build(sc, res)
    rng = random.Random(int(opts["--seed"]))
    r = int(opts["--replications"])
    xs = sorted(replicate(model, rng) for _ in range(r))
    p10, p90 = res["percentiles"]["p10"], res["percentiles"]["p90"]
    out = {"replications": r, "median": quantile(xs, 0.5), "p10": quantile(xs, 0.1),
           "p90": quantile(xs, 0.9), "mean": sum(xs) / r,
           "insideEngineP10P90": sum(1 for x in xs if p10 <= x <= p90) / r}
    if opts["--due"] is not None:
        due = float(opts["--due"])
        out["dueConfidence"] = sum(1 for x in xs if x <= due + 1e-9 * (1 + due)) / r
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
