"""Benchmark: long trials with daily oral dosing and weekly sessions, per simulated month,
beside the ketamine trials, measured side by side in one run (warm: each shape compiled first).

Regimens, each on a ``trd``/``mdd`` cohort of N patients, production engine (``neuroplast.simulate``):
(a) ketamine, six 0.5 mg/kg infusions over 12 days, 12 weeks (the issue-8 benchmark regimen);
(b) escitalopram 20 mg a day for 12 weeks;
(c) escitalopram 20 mg a day with weekly CBT for 52 weeks;
(d) weekly CBT alone for 52 weeks (no drug).
Prints ms per patient-month (median of 3) and the ratio of each to (a); writes JSON with ``--json``.

    uv run python benchmarks/long_trial_speed.py [--patients 256] [--json long.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import neuroplast as npl

MONTH_H = 365.25 * 24.0 / 12.0
SSRI = {"drug": "escitalopram", "route": "oral", "amount": "20 mg", "start": "0 d", "every": "1 d"}
CBT = {"kind": "cbt", "start": "0 d", "every": "7 d"}
KET = {
    "drug": "ketamine",
    "amount": "0.5 mg/kg",
    "duration": "40 min",
    "at": ["0 d", "2 d", "4 d", "7 d", "9 d", "11 d"],
}

CASES = {
    "ketamine 6 infusions, 12 weeks": ("trd", [KET], [], 84),
    "escitalopram daily, 12 weeks": ("mdd", [{**SSRI, "count": 84}], [], 84),
    "escitalopram daily + weekly CBT, 52 weeks": ("mdd", [{**SSRI, "count": 364}], [{**CBT, "count": 52}], 364),
    "weekly CBT, 52 weeks": ("mdd", [], [{**CBT, "count": 52}], 364),
}


def main():
    npl.engine.configure()  # as the CLI does: float64, XLA's CPU options, the allocator
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    model = npl.default_model()
    rows = []
    for name, (pop, doses, therapy, days) in CASES.items():
        reg = npl.build_regimen(doses, therapy=therapy, allow_empty=True)
        cohort = npl.sample_cohort(model.values, model.cvs, pop, a.patients, seed=1)
        ts = np.arange(0.0, days * 24.0 + 1e-9, 24.0)
        t0 = time.perf_counter()
        sim = npl.simulate(model, reg, cohort, saveat=ts)
        cold = time.perf_counter() - t0
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            npl.simulate(model, reg, cohort, saveat=ts)
            times.append(time.perf_counter() - t0)
        warm = float(np.median(times))
        months = days * 24.0 / MONTH_H
        rows.append(
            {
                "case": name,
                "events": len(reg.doses),
                "days": days,
                "patients": a.patients,
                "failed": int((~sim.ok).sum()),
                "cold_s": cold,
                "warm_s": warm,
                "ms_per_patient_month": 1000.0 * warm / (a.patients * months),
            }
        )
    ref = rows[0]["ms_per_patient_month"]
    print(f"{'case':45s} {'events':>6s} {'ms/patient-month':>17s} {'vs ketamine':>12s} {'failed':>6s}")
    for r in rows:
        r["ratio_vs_ketamine"] = r["ms_per_patient_month"] / ref
        print(
            f"{r['case']:45s} {r['events']:6d} {r['ms_per_patient_month']:17.2f} {r['ratio_vs_ketamine']:11.2f}x "
            f"{r['failed']:6d}"
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "patients": a.patients, "repeats": a.repeats}, f, indent=1)


if __name__ == "__main__":
    main()
