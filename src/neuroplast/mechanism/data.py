"""The mechanism split and the comparisons config, read and checked.

``evidence/mechanism_split.yaml`` assigns every entry of ``evidence/mechanistic_timecourses.yaml`` to ``fit``,
``held_out`` or ``unused``; ``mechanism/comparisons.yaml`` says how each fit or held-out entry is simulated
(population, arms, species mapping) and which of its published values are compared, at what time. Published
numbers are read from the evidence file, never from the config. Anything unknown — an entry, a family, a
read-out, a value index, a species without a sourced mapping — raises :class:`NeuroplastInputError` naming the
file, the field and the value.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml

from .._errors import NeuroplastInputError
from .._units import parse_amount, parse_quantity
from ..catalog import READOUTS
from ..cohort import PRESETS
from ..evidence import HERE as EVIDENCE_DIR
from ..evidence import timecourse_ids, timecourses
from ..regimen import Regimen, build_regimen
from .observe import FAMILIES
from .species import SpeciesMapping, load_mappings

SPLIT_PATH = EVIDENCE_DIR / "mechanism_split.yaml"
CONFIG_PATH = Path(__file__).parent / "comparisons.yaml"
USES = ("fit", "held_out", "unused")
KIND = {"fit": "mechanism_fitted", "held_out": "mechanism_held_out"}
DIRECTIONS = ("up", "none", "down")
Z95 = 1.959964  # two-sided 95 % normal quantile: a standard error becomes a 95 % interval


class _UniqueKeys(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (PyYAML keeps the last one silently)."""


def _no_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise NeuroplastInputError("a key is named twice in one mapping", value=key)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _read(path: Path) -> dict:
    try:
        data = yaml.load(Path(path).read_text(), Loader=_UniqueKeys)  # a SafeLoader that refuses duplicate keys
    except NeuroplastInputError as e:
        raise e.with_file(str(path)) from None
    if not isinstance(data, dict):
        raise NeuroplastInputError("expected a YAML mapping", file=str(path))
    return data


@dataclasses.dataclass(frozen=True)
class SplitEntry:
    id: str
    use: str
    family: str | None
    reason: str


def load_split(path: Path = SPLIT_PATH) -> dict[str, SplitEntry]:
    """The split, checked: every evidence entry exactly once, known uses and families, a reason each."""
    file = str(path)
    data = _read(path)
    if not str(data.get("rule") or "").strip():
        raise NeuroplastInputError("the split must state its rule", field="rule", file=file)
    entries = data.get("entries")
    if not isinstance(entries, dict):
        raise NeuroplastInputError("expected 'entries': a mapping of entry id to its use", field="entries", file=file)
    known = timecourse_ids()
    out = {}
    for eid, e in entries.items():
        f = f"entries.{eid}"
        if eid not in known:
            raise NeuroplastInputError("unknown mechanistic entry (not in mechanistic_timecourses.yaml)",
                                       field="entries", value=eid, file=file)  # fmt: skip
        if not isinstance(e, dict) or e.get("use") not in USES:
            use = e.get("use") if isinstance(e, dict) else e
            raise NeuroplastInputError(f"use must be one of {', '.join(USES)}", field=f"{f}.use", value=use, file=file)
        family = e.get("family")
        if e["use"] != "unused" and family not in FAMILIES:
            raise NeuroplastInputError(f"unknown read-out family; known: {', '.join(FAMILIES)}",
                                       field=f"{f}.family", value=family, file=file)  # fmt: skip
        if e["use"] == "unused" and family is not None:
            raise NeuroplastInputError("an unused entry names no family", field=f"{f}.family", value=family, file=file)
        if not str(e.get("reason") or "").strip():
            raise NeuroplastInputError("every entry needs a one-line reason", field=f"{f}.reason", file=file)
        out[eid] = SplitEntry(eid, e["use"], family, str(e["reason"]))
    missing = [i for i in known if i not in out]
    if missing:
        raise NeuroplastInputError("the split leaves entries out; assign each to fit, held_out or unused",
                                   field="entries", value=missing[0], file=file)  # fmt: skip
    return out


@dataclasses.dataclass(frozen=True)
class Point:
    """One compared published value. Times are human hours after the first dose."""

    value_index: int
    arm: str | None  # None: the entry's contrast or its only arm
    time_label: str
    t_h: float | None  # a time ...
    window_h: tuple[float, float] | None  # ... or a window (the largest change inside it)
    direction: str | None  # up / none / down for a verbal value; None for a number
    published: float
    lo: float | None
    hi: float | None
    statistic: str | None = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """How one fit or held-out entry is simulated and compared."""

    id: str
    kind: str  # mechanism_fitted | mechanism_held_out
    family: str
    species: str
    population: str
    arms: dict[str, Regimen]
    arm_labels: dict[str, str]  # arm -> what was given to the simulated patient
    contrast: tuple[str, str, str] | None  # (arm A, arm B, "difference" | "ratio")
    points: tuple[Point, ...]
    cohort: tuple[int, int] | None  # (n, seed): a sampled cohort instead of the typical patient
    responders: dict | None

    @property
    def end_h(self) -> float:
        return max(p.window_h[1] if p.window_h else float(p.t_h or 0.0) for p in self.points)


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _number(text: object, *, file: str, field: str) -> float:
    """A published value: a number, or the first number of a string such as "+200% ('enhanced by 200%')"."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    m = _NUMBER.search(str(text))
    if m is None:
        raise NeuroplastInputError("this evidence value has no number; compare it as a direction",
                                   field=field, value=text, file=file)  # fmt: skip
    return float(m.group())


def _se(spread: object, *, file: str, field: str) -> float:
    m = re.search(r"±\s*(\d+(?:\.\d+)?)", str(spread))
    if m is None:
        raise NeuroplastInputError("the evidence value's spread has no '± SE'", field=field, value=spread, file=file)
    return float(m.group(1))


def _hours(text: object, mapping: SpeciesMapping | None, *, file: str, field: str) -> float:
    try:
        h = parse_quantity(text, "time", field=field)
    except NeuroplastInputError as e:
        raise e.with_file(file) from None
    return mapping.time_to_human(h) if mapping else h


def _human_dose(d: dict, mapping: SpeciesMapping | None, *, file: str, field: str) -> tuple[dict, str]:
    """A dose dict in a species' terms made a human one (amount by body-surface area, route, times)."""
    if mapping is None:
        return d, f"{d.get('drug')} {d.get('amount')} {d.get('route', 'iv')}"
    out = dict(d)
    amount, unit = parse_amount(d.get("amount"), field=f"{field}.amount")
    if unit != "mg/kg":
        raise NeuroplastInputError("a rodent dose is given in mg/kg", field=f"{field}.amount", value=d.get("amount"),
                                   file=file)  # fmt: skip
    hed = mapping.dose_to_human(amount)
    out["amount"] = f"{hed:.6g} mg/kg"
    out["route"] = mapping.route_to_human(str(d.get("route")), file=file, field=f"{field}.route")
    for key in ("start", "every"):
        if key in d:
            out[key] = f"{_hours(d[key], mapping, file=file, field=f'{field}.{key}'):.6g} h"
    if "at" in d:
        out["at"] = [f"{_hours(t, mapping, file=file, field=f'{field}.at'):.6g} h" for t in d["at"]]
    label = f"{d.get('drug')} {hed:.3g} mg/kg {out['route']}"
    return out, label


def _point(p: dict, entry: dict, fam: str, mapping, *, file: str, field: str) -> Point:
    values = entry.get("values") or []
    i = p.get("value")
    if not isinstance(i, int) or not 0 <= i < len(values):
        raise NeuroplastInputError(f"value index out of range (the entry has {len(values)} values)",
                                   field=f"{field}.value", value=i, file=file)  # fmt: skip
    v = values[i]
    if v.get("verified") is False:
        raise NeuroplastInputError("this evidence value is verified false and may not be compared",
                                   field=f"{field}.value", value=i, file=file)  # fmt: skip
    if ("time" in p) == ("window" in p):
        raise NeuroplastInputError("give a time or a window", field=field, value=p, file=file)
    if "time" in p:
        t_h, window, label = _hours(p["time"], mapping, file=file, field=f"{field}.time"), None, str(p["time"])
    else:
        a, b = (_hours(x, mapping, file=file, field=f"{field}.window") for x in p["window"])
        t_h, window, label = None, (a, b), f"{p['window'][0]} to {p['window'][1]}"
    band = FAMILIES[fam].none_band
    direction = p.get("direction")
    if direction is not None:
        if direction not in DIRECTIONS:
            raise NeuroplastInputError(f"direction must be one of {', '.join(DIRECTIONS)}",
                                       field=f"{field}.direction", value=direction, file=file)  # fmt: skip
        published, lo, hi = {"up": (band, band, None), "none": (0.0, -band, band), "down": (-band, None, -band)}[
            direction
        ]
    else:
        published = _number(v.get("value"), file=file, field=f"{field}.value")
        spread = p.get("spread")
        if spread == "se":
            se = _se(v.get("spread"), file=file, field=f"{field}.spread")
            lo, hi = published - Z95 * se, published + Z95 * se
        elif spread == "none":
            lo = hi = None
        else:
            raise NeuroplastInputError(
                "spread must be 'se' or 'none'", field=f"{field}.spread", value=spread, file=file
            )
    arm = p.get("arm")
    return Point(i, arm, label, t_h, window, direction, published, lo, hi, p.get("statistic"))


def load_comparisons(
    path: Path = CONFIG_PATH, split: dict[str, SplitEntry] | None = None, *, split_path: Path = SPLIT_PATH
) -> list[Comparison]:
    """Every fit and held-out entry of the split as a :class:`Comparison`, in the evidence file's order."""
    split = load_split(split_path) if split is None else split
    file = str(path)
    data = _read(path)
    mappings = load_mappings(data, file=file)
    config = data.get("entries") or {}
    evidence = {e["id"]: e for e in timecourses()["entries"]}
    for eid in config:
        if eid not in split:
            raise NeuroplastInputError("unknown mechanistic entry", field="entries", value=eid, file=file)
        if split[eid].use == "unused":
            raise NeuroplastInputError("the split marks this entry unused; it is not compared",
                                       field="entries", value=eid, file=file)  # fmt: skip
    out = []
    for eid, s in split.items():
        if s.use == "unused":
            continue
        if eid not in config:
            raise NeuroplastInputError(f"the split's {s.use} entry has no comparison", field="entries", value=eid,
                                       file=file)  # fmt: skip
        out.append(_comparison(eid, s, config[eid], evidence[eid], mappings, file=file))
    return out


def _comparison(eid, s: SplitEntry, c: dict, entry: dict, mappings, *, file: str) -> Comparison:
    f = f"entries.{eid}"
    family = str(s.family)  # a compared entry always names one (load_split)
    species = c.get("species", "human")
    mapping = None
    if species != "human":
        if species not in mappings:
            raise NeuroplastInputError("no sourced species mapping for this species (add it under 'species')",
                                       field=f"{f}.species", value=species, file=file)  # fmt: skip
        mapping = mappings[species]
    arms, labels = {}, {}
    for name, arm in (c.get("arms") or {}).items():
        arm = arm or {}
        doses, given = [], []
        for k, d in enumerate(arm.get("dose") or []):
            human, label = _human_dose(d, mapping, file=file, field=f"{f}.arms.{name}.dose[{k}]")
            doses.append(human)
            given.append(label)
        given += [f"{t.get('kind')} sessions" for t in arm.get("therapy") or []]
        try:
            arms[name] = build_regimen(doses, field=f"{f}.arms.{name}.dose", therapy=arm.get("therapy") or (),
                                       therapy_field=f"{f}.arms.{name}.therapy", allow_empty=True,
                                       allow_high_dose=mapping is not None)  # fmt: skip
        except NeuroplastInputError as e:
            raise e.with_file(file) from None
        labels[name] = "; ".join(given) or "no treatment"
    if not arms:
        raise NeuroplastInputError("an entry needs at least one arm", field=f"{f}.arms", file=file)
    contrast = None
    if c.get("contrast"):
        a, b = c["contrast"].get("arms") or (None, None)
        how = c["contrast"].get("how")
        if a not in arms or b not in arms or how not in ("difference", "ratio"):
            raise NeuroplastInputError("a contrast names two of the entry's arms and how: difference or ratio",
                                       field=f"{f}.contrast", value=c["contrast"], file=file)  # fmt: skip
        contrast = (str(a), str(b), str(how))
    points = tuple(
        _point(p, entry, family, mapping, file=file, field=f"{f}.points[{k}]")
        for k, p in enumerate(c.get("points") or [])
    )
    if not points:
        raise NeuroplastInputError("an entry needs at least one point", field=f"{f}.points", file=file)
    for k, p in enumerate(points):
        if p.arm is not None and p.arm not in arms:
            raise NeuroplastInputError("unknown arm", field=f"{f}.points[{k}].arm", value=p.arm, file=file)
        if p.arm is None and contrast is None and len(arms) > 1:
            raise NeuroplastInputError("name the arm of each point, or give a contrast",
                                       field=f"{f}.points[{k}].arm", file=file)  # fmt: skip
    responders = c.get("responders")
    if responders is not None and responders.get("readout") not in READOUTS:
        raise NeuroplastInputError(f"unknown read-out; known: {', '.join(READOUTS)}",
                                   field=f"{f}.responders.readout", value=responders.get("readout"), file=file)  # fmt: skip
    for r in FAMILIES[family].readouts:
        if r not in READOUTS:  # a family is code; this guards a read-out renamed in the catalogue
            raise NeuroplastInputError("the family reads an unknown read-out", field=f"{f}.family", value=r, file=file)
    population = str(c.get("population", "trd"))
    if population not in PRESETS:
        raise NeuroplastInputError(f"unknown population; known: {', '.join(sorted(PRESETS))}",
                                   field=f"{f}.population", value=population, file=file)  # fmt: skip
    cohort = c.get("cohort")
    return Comparison(
        id=eid,
        kind=KIND[s.use],
        family=family,
        species=species,
        population=population,
        arms=arms,
        arm_labels=labels,
        contrast=contrast,
        points=points,
        cohort=(int(cohort["n"]), int(cohort["seed"])) if cohort else None,
        responders=responders,
    )


__all__ = ["CONFIG_PATH", "KIND", "SPLIT_PATH", "Comparison", "Point", "SplitEntry", "load_comparisons", "load_split"]
