"""Golden summaries: every shipped example's ``summary.json`` is unchanged by refactors.

Oracle: ``tests/golden/<example>.summary.json``, written by ``tests/golden/regenerate.py`` (see its
docstring: regenerate only when a change is meant to alter results). Each example is rerun the way
``neuroplast trial`` runs it (``load_spec`` -> ``run_trial`` -> ``io.write_json``) at 16 patients per arm
with the spec's own seed; the run is deterministic (two runs, in one process and in two, are identical).

Tolerance: every number within ``abs 1e-9 + rel 1e-9`` of the golden value. A refactor may reorder
float64 sums (round-off of order 1e-15 relative, amplified by the ODE solver's step control to far below
1e-9), but it must not change a result; anything larger is a change of results, not of code.
Strings, ``null`` and the JSON type of each value (integer, float, list, object) must match exactly,
and so must the key set of every object (an optional key is present or absent as in the golden file).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.golden import regenerate

TOL = 1e-9
EXCLUDED = {("neuroplast_version",)}
"""Paths (tuples of keys) that legitimately vary between runs of the same code: the package version."""

SLOW = {
    "anxiety_ketamine_vs_midazolam",
    "berman2000_crossover",
    "cbt_vs_waitlist",
    "esketamine_dose_finding",
    "esketamine_maintenance_withdrawal",
    "esketamine_suicidal_ideation",
    "exercise_vs_usual_care",
    "oral_ketamine_maintenance",
    "repeated_infusions",
    "repeated_vs_single_ketamine_dropout",
    "ssri_vs_placebo",
    "zarate2006_crossover",
}
"""Examples that each compile a kernel of their own (12-36 s each on a 2-core CPU; the two crossovers share one; the
randomised withdrawal, 64 weeks of esketamine sessions, a few minutes): the CI runs them; ``-m "not slow"`` runs the
other eleven in about 60 s, most of it one compile."""

EXAMPLES = regenerate.examples()


def compare(got, want, path: tuple = ()) -> list[str]:
    """Every difference between two JSON documents, as ``path: message`` lines (empty when they agree)."""
    where = "/".join(map(str, path)) or "<root>"
    if path in EXCLUDED:
        return []
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected an object, got {got!r}"]
        out = []
        if set(got) != set(want):
            out.append(f"{where}: keys missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}")
        for k in want.keys() & got.keys():
            out += compare(got[k], want[k], (*path, k))
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: expected a list of {len(want)}, got {got!r}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in compare(g, w, (*path, i))]
    if type(got) is not type(want):
        return [f"{where}: expected {type(want).__name__} {want!r}, got {type(got).__name__} {got!r}"]
    if isinstance(want, float):
        if not math.isclose(got, want, rel_tol=TOL, abs_tol=TOL):
            return [f"{where}: {got!r} != golden {want!r} (diff {got - want:.3g})"]
        return []
    return [] if got == want else [f"{where}: {got!r} != golden {want!r}"]


def test_compare_finds_differences():
    """The comparison itself: a changed number, a missing key and a changed type are all reported."""
    want = {"a": 1.0, "b": [1, {"c": None}], "neuroplast_version": "0"}
    assert compare({"a": 1.0 + 1e-12, "b": [1, {"c": None}], "neuroplast_version": "9"}, want) == []
    assert len(compare({"a": 1.0 + 1e-6, "b": [1, {"c": None}], "neuroplast_version": "0"}, want)) == 1
    assert len(compare({"a": 1.0, "b": [1, {}], "neuroplast_version": "0"}, want)) == 1
    assert len(compare({"a": 1.0, "b": [1.0, {"c": None}], "neuroplast_version": "0"}, want)) == 1


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in EXAMPLES])
def test_summary_matches_golden(name):
    """Also every example's smoke test: every patient simulated, every state finite, concentrations, spines and the
    true MADRS never below zero (beyond the solver's tolerance, 1e-6)."""
    golden = regenerate.golden_path(name)
    want = json.loads(golden.read_text())
    result = regenerate.run(EXAMPLES[name])
    for arm in result.arms.values():
        assert np.all(arm.simulation.ok)
        assert np.isfinite(arm.simulation.states).all()
        for k in ("ketamine_plasma", "spine_density", "madrs_true"):
            assert (arm.simulation.readouts[k] >= -1e-6).all()
    got = regenerate.summary_json(EXAMPLES[name], result)
    diffs = compare(got, want)
    assert not diffs, f"{name}: summary.json differs from {golden.name}:\n" + "\n".join(diffs[:40])
