#!/usr/bin/env python3
"""Write goal3-enriched.json: an enriched goal for product P-1001 x 50 on the seed factory.

The plan is a simple list schedule of the seed factory's 30 jobs plus the order
(five lots of ten units), good enough to exercise the report: it has no overlap
on any machine and keeps each job's operation order. Times are seconds.
Usage: make-fixture.py SEED_FACTORY_DIR > goal3-enriched.json
"""
import json
import os
import sys


def props(path):
    env = json.load(open(path))
    out = {}
    for sm in env.get("submodels", []):
        for el in sm.get("submodelElements", []):
            out[el["idShort"]] = el.get("value")
    return out


def main():
    seed = sys.argv[1]
    sim = props(os.path.join(seed, "FactorySimulation.json"))
    jobs = json.loads(sim["jobs_data"])
    ops = {o["operation_id"]: o for o in json.loads(sim["operations_data"])}
    durs = json.loads(sim["operation_durations_data"])
    release = {r["job_id"]: r["release_time"] * 60 for r in json.loads(sim["job_release_data"])}
    spec = props(os.path.join(seed, "Factory.json"))
    routing = json.loads(spec["P-1001"])["process_steps"]

    work = []  # (job, release, [(operation id, type, eligible machines, duration by machine)])
    for j in jobs:
        steps = []
        for oid in j["operations"]:
            o = ops[oid]
            d = {m: durs[o["type"]][m]["mean"] * 60 for m in o["machines"] if m in durs[o["type"]]}
            steps.append((oid, o["type"], d))
        work.append((j["job_id"], release.get(j["job_id"], 0), steps, False))
    for lot in range(1, 6):
        steps = [("%s-S%d" % ("ORD", s["step"]), s["operation"],
                  {s["required_machine_type"]: s["std_duration_min"] * 10 * 60}) for s in routing]
        work.append(("P-1001-L%d" % lot, 0, steps, True))

    free = {}
    plan = []
    waiting = {}
    for job, rel, steps, order in sorted(work, key=lambda w: w[1]):
        ready = rel
        for oid, typ, d in steps:
            m = min(d, key=lambda m: max(free.get(m, 0), ready) + d[m])
            start = max(free.get(m, 0), ready)
            waiting[m] = waiting.get(m, 0) + (start - ready)
            end = start + d[m]
            free[m] = end
            op = {"job": job, "operation": oid, "type": typ, "machine": m,
                  "start": start, "end": end}
            if order:
                op["order"] = True
            plan.append(op)
            ready = end
    makespan = max(o["end"] for o in plan)
    order_done = max(o["end"] for o in plan if o.get("order"))
    machines = []
    for m in sorted(free):
        busy = sum(o["end"] - o["start"] for o in plan if o["machine"] == m)
        machines.append({"machine": m, "busy": busy, "utilization": round(busy / makespan, 4),
                         "operations": sum(1 for o in plan if o["machine"] == m)})
    ranked = sorted(machines, key=lambda x: (-x["utilization"], x["machine"]))
    bottlenecks = [{"rank": i + 1, "machine": b["machine"], "utilization": b["utilization"],
                    "busyTime": b["busy"], "waitingCaused": waiting.get(b["machine"], 0),
                    "operations": b["operations"]} for i, b in enumerate(ranked)]
    est = float(order_done)
    outputs = {
        "estimatedTime": est,
        "confidence": 0.82,
        "percentiles": {"p10": round(est * 0.93, 1), "p50": est, "p90": round(est * 1.09, 1)},
        "mean": round(est * 1.01, 1), "std": round(est * 0.06, 1),
        "makespan": makespan, "orderCompletion": est,
        "productionPlan": {"operations": plan, "machines": machines},
        "bottlenecks": bottlenecks,
        "units": {"time": "s"},
    }
    t0 = "2026-11-24T04:08:05.120Z"
    stages = [
        {"stage": "swrlSelection", "status": "completed", "gate": {"passed": True,
         "reason": "model NSGA2SimulatorModel selected by rule goal3-production-time"},
         "startedAt": t0, "finishedAt": "2026-11-24T04:08:05.134Z", "durationMs": 14,
         "worker": "qg-selection-1"},
        {"stage": "yamlBinding", "status": "completed", "gate": {"passed": True,
         "reason": "5 of 5 required sources bound"},
         "startedAt": "2026-11-24T04:08:05.160Z", "finishedAt": "2026-11-24T04:08:06.002Z",
         "durationMs": 842, "worker": "qg-binding-1"},
        {"stage": "simulation", "status": "completed", "gate": {"passed": True,
         "reason": "plan verified: %d operations, outputs complete" % len(plan)},
         "startedAt": "2026-11-24T04:08:06.030Z", "finishedAt": "2026-11-24T04:08:08.451Z",
         "durationMs": 2421, "worker": "qg-simulation-1"},
    ]
    doc = {
        "QueryGoal": {
            "goalId": "goal3-20261124T040805Z-5f3a9c1e",
            "goalType": "goal3_predict_production_time",
            "parameters": [
                {"key": "productType", "value": "P-1001", "type": "string", "required": True},
                {"key": "quantity", "value": 50, "type": "integer", "required": True}],
            "outputSpec": [{"name": "estimatedTime", "datatype": "number", "unit": "s"},
                           {"name": "confidence", "datatype": "number"},
                           {"name": "productionPlan", "datatype": "object"},
                           {"name": "bottlenecks", "datatype": "array"}],
            "metadata": {"category": "Predict", "requiresModel": True,
                         "pipelineStages": ["swrlSelection", "yamlBinding", "simulation"],
                         "request": "Predict production time for product P-1001 quantity 50",
                         "language": "en", "source": "qgctl ask"},
            "selectedModel": {"modelId": "NSGA2SimulatorModel", "purpose":
                              "production_time_prediction"},
            "outputs": outputs,
        },
        "executionLog": {"goalId": "goal3-20261124T040805Z-5f3a9c1e", "startTime": t0,
                         "status": "completed", "endTime": "2026-11-24T04:08:08.451Z",
                         "stages": stages},
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
