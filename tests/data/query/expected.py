#!/usr/bin/env python3
"""Expected answers of goal1 and goal4, computed from the AAS environment files alone.

usage: expected.py FACTORY_DIR goal1 MACHINE|- DAY|last:HOURS|-
                                                      -> JSON {alarmIds, count, jobs, readings}
       expected.py FACTORY_DIR goal4 PRODUCT          -> JSON location fields and the status
                                                         of its job step, or null
Reads MachineCondition.json and ProductTracking.json directly (no code of the
runtime): SubmodelElementLists of collections become lists of dicts.
"""
import datetime as dt
import json
import os
import sys


def load(factory, name):
    with open(os.path.join(factory, name), encoding="utf-8") as f:
        return {sm["id"]: sm for sm in json.load(f)["submodels"]}


def rows(submodel, list_id_short):
    lst = next(e for e in submodel["submodelElements"] if e["idShort"] == list_id_short)
    return [{p["idShort"]: p["value"] for p in c["value"]} for c in lst["value"]]


def when(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def readings(condition, machine):
    sm = condition.get(f"urn:factory:submodel:coolant:{machine}")
    if not sm:
        return []
    segments = next(e for e in sm["submodelElements"] if e["idShort"] == "Segments")
    out = []
    for seg in segments["value"]:
        records = next(e for e in seg["value"] if e["idShort"] == "Records")
        for rec in records["value"]:
            out.append({p["idShort"]: p["value"] for p in rec["value"]})
    return out


def in_window(day, text):
    """DAY: that UTC date; last:H: the H hours before now; None: always."""
    if day is None:
        return True
    if day.startswith("last:"):
        now = dt.datetime.now(dt.timezone.utc)
        return now - dt.timedelta(hours=int(day[5:])) <= when(text) < now
    return text.startswith(day)


def goal1(factory, machine, day):
    condition = load(factory, "MachineCondition.json")
    history = rows(load(factory, "ProductTracking.json")["urn:factory:submodel:job_history"], "Jobs")
    alarms = rows(condition["urn:factory:submodel:machine_alarms"], "Alarms")
    found = [a for a in alarms if a["Category"] == "cooling"
             and (machine is None or a["MachineId"] == machine)
             and in_window(day, a["Time"])]
    found.sort(key=lambda a: (a["Time"], a["AlarmId"]))
    series = readings(condition, machine) if machine else []
    series = [r for r in series if in_window(day, r["Time"])]
    return {
        "alarmIds": [a["AlarmId"] for a in found],
        "count": len(found),
        "jobs": [[j["JobId"] for j in history if j["JobId"] == a.get("JobId")] for a in found],
        "readings": [[r["Time"] for r in series
                      if abs((when(r["Time"]) - when(a["Time"])).total_seconds()) <= 3600
                      and float(r["CoolantTemperature"]) > 30] for a in found],
    }


def goal4(factory, product):
    tracking = load(factory, "ProductTracking.json")
    events = rows(tracking["urn:factory:submodel:product_tracking"], "Events")
    history = rows(tracking["urn:factory:submodel:job_history"], "Jobs")
    mine = sorted((e for e in events if e["ProductId"] == product),
                  key=lambda e: (e["Time"], e["EventId"]))
    if not mine:
        return None
    last = mine[-1]
    job = [j for j in history if j["JobId"] == last["JobId"] and j["Step"] == last["Step"]]
    return {"jobStatus": job[0]["Status"] if job else None,"station": last["Station"], "since": last["Time"], "jobId": last["JobId"],
            "operation": last["Operation"], "step": int(last["Step"]),
            "nextStep": last["NextStep"]}


def main():
    factory, kind = sys.argv[1], sys.argv[2]
    arg = lambda i: None if sys.argv[i] == "-" else sys.argv[i]
    if kind == "goal1":
        print(json.dumps(goal1(factory, arg(3), arg(4))))
    else:
        print(json.dumps(goal4(factory, sys.argv[3])))


if __name__ == "__main__":
    main()
