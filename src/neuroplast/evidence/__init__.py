"""Published evidence as data: the shared calibration and mechanistic tables, extra sources.

``clinical_calibration.yaml``, ``mechanistic_parameters.yaml`` and ``mechanistic_timecourses.yaml`` are
copies of ``shared/evidence`` (each entry keeps its source and whether it was verified);
``extra_sources.yaml`` and ``pharmacology_sources.yaml`` hold sources this project added, in the
same spirit.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@functools.cache
def clinical() -> dict:
    return yaml.safe_load((HERE / "clinical_calibration.yaml").read_text())


@functools.cache
def mechanistic() -> dict:
    return yaml.safe_load((HERE / "mechanistic_parameters.yaml").read_text())


@functools.cache
def timecourses() -> dict:
    """Published time courses and dose relations of the chain's intermediate steps (glutamate, BDNF,
    mTORC1, spines, neurogenesis, hippocampal volume ...): ``{"meta": ..., "entries": [...]}``."""
    return yaml.safe_load((HERE / "mechanistic_timecourses.yaml").read_text())


@functools.cache
def timecourse_ids() -> tuple[str, ...]:
    """The ids of :func:`timecourses`' entries, in the file's order."""
    return tuple(e["id"] for e in timecourses()["entries"])


@functools.cache
def extra() -> dict:
    return yaml.safe_load((HERE / "extra_sources.yaml").read_text())


@functools.cache
def pharmacology() -> dict:
    """Pharmacology sources added for routes, enantiomers, SSRIs and monitored safety."""
    return yaml.safe_load((HERE / "pharmacology_sources.yaml").read_text())


@functools.cache
def study_ids() -> frozenset[str]:
    return frozenset(s["id"] for s in clinical()["studies"])


@functools.cache
def source_ids() -> frozenset[str]:
    """Every id a parameter may cite."""
    ids = {p["id"] for p in mechanistic()["parameters"]}
    ids |= {s["id"] for s in extra()["sources"]}
    ids |= {s["id"] for s in pharmacology()["sources"]}
    ids |= {s["id"] for s in yaml.safe_load((HERE / "antidepressant_sources.yaml").read_text())["sources"]}
    ids |= {s["id"] for s in yaml.safe_load((HERE / "circuit_sources.yaml").read_text())["sources"]}
    conditions = HERE.parent / "conditions" / "sources.yaml"  # sources of the condition models
    ids |= {s["id"] for s in yaml.safe_load(conditions.read_text())["sources"]}
    return frozenset(ids | study_ids())


__all__ = [
    "clinical",
    "extra",
    "mechanistic",
    "pharmacology",
    "source_ids",
    "study_ids",
    "timecourse_ids",
    "timecourses",
]
