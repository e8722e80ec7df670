#!/usr/bin/env python3
"""Solve one flexible job-shop instance (.fjs, or OR-Library .txt job shop)
with OR-Tools CP-SAT under a time budget; print one JSON line:
{"instance", "makespan", "bound", "status", "time_to_best", "workers"}.

Model: one start/end per operation, an optional fixed-size interval per
eligible machine (exactly one present), no-overlap per machine, job
precedence, minimize the makespan.
"""
import json
import sys
import time

from ortools.sat.python import cp_model


def parse(path):
    """Jobs as lists of operations; an operation is a list of (machine, duration)."""
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    n_jobs, n_machines = int(lines[0][0]), int(lines[0][1])
    jobs = []
    jssp = path.endswith(".txt")
    for row in lines[1:1 + n_jobs]:
        nums = [int(float(x)) for x in row]
        ops = []
        if jssp:
            for i in range(0, len(nums), 2):
                ops.append([(nums[i], nums[i + 1])])
        else:
            i = 1
            for _ in range(nums[0]):
                k = nums[i]
                i += 1
                ops.append([(nums[i + 2 * a] - 1, nums[i + 2 * a + 1]) for a in range(k)])
                i += 2 * k
        jobs.append(ops)
    return jobs, n_machines


class Tracker(cp_model.CpSolverSolutionCallback):
    def __init__(self, t0):
        super().__init__()
        self.t0 = t0
        self.best = None
        self.time_to_best = 0.0

    def on_solution_callback(self):
        v = self.ObjectiveValue()
        if self.best is None or v < self.best:
            self.best = v
            self.time_to_best = time.monotonic() - self.t0


def solve(path, budget, workers):
    jobs, n_machines = parse(path)
    horizon = sum(max(d for _, d in op) for ops in jobs for op in ops)
    m = cp_model.CpModel()
    per_machine = [[] for _ in range(n_machines)]
    ends = []
    for j, ops in enumerate(jobs):
        prev_end = None
        for o, alts in enumerate(ops):
            s = m.NewIntVar(0, horizon, f"s{j}_{o}")
            e = m.NewIntVar(0, horizon, f"e{j}_{o}")
            if len(alts) == 1:
                mach, d = alts[0]
                per_machine[mach].append(m.NewIntervalVar(s, d, e, f"i{j}_{o}"))
            else:
                lits = []
                for mach, d in alts:
                    lit = m.NewBoolVar(f"x{j}_{o}_{mach}")
                    per_machine[mach].append(
                        m.NewOptionalFixedSizeIntervalVar(s, d, lit, f"i{j}_{o}_{mach}"))
                    lits.append((lit, d))
                m.AddExactlyOne(lit for lit, _ in lits)
                m.Add(e == s + sum(d * lit for lit, d in lits))
            if prev_end is not None:
                m.Add(s >= prev_end)
            prev_end = e
        ends.append(prev_end)
    for ivs in per_machine:
        if ivs:
            m.AddNoOverlap(ivs)
    mk = m.NewIntVar(0, horizon, "makespan")
    m.AddMaxEquality(mk, ends)
    m.Minimize(mk)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = budget
    solver.parameters.num_workers = workers
    t0 = time.monotonic()
    tracker = Tracker(t0)
    status = solver.Solve(m, tracker)
    return {
        "instance": path,
        "makespan": int(solver.ObjectiveValue()) if tracker.best is not None else None,
        "bound": int(solver.BestObjectiveBound()),
        "status": solver.StatusName(status),
        "time_to_best": round(tracker.time_to_best, 3),
        "workers": workers,
    }


def main():
    if len(sys.argv) != 4:
        print("usage: cpsat.py FILE BUDGET_S WORKERS", file=sys.stderr)
        return 2
    print(json.dumps(solve(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
