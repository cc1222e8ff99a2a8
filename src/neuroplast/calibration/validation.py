"""``neuroplast validate``'s artifact: every calibration endpoint as a :class:`ValidationRow`, with provenance.

The artifact is one JSON object: ``commit``, ``date``, ``n_per_arm``, ``role_changes`` (from
``evidence/roles.yaml``), ``consistency`` (why each consistency row is one) and ``rows``.
"""

from __future__ import annotations

from ..evidence.roles import check_role, role_changes
from ..evidence.targets import TARGETS
from .consistency import Endpoint, classify
from .evaluate import CALIBRATION_TRIALS
from .rows import ValidationRow

N_PER_ARM = 1000
"""Virtual patients per arm of ``neuroplast validate`` by default."""


def _metric(raw: dict, raw_rows: list[dict]) -> str:
    """The metric, with the trial's scale where one study reports the same endpoint on two scales."""
    twins = [
        r
        for r in raw_rows
        if (r["study"], r["arm"], r["time"], r["metric"]) == (raw["study"], raw["arm"], raw["time"], raw["metric"])
    ]
    if len(twins) > 1 and raw["trial"] in CALIBRATION_TRIALS:
        return f"{raw['metric']} ({CALIBRATION_TRIALS[raw['trial']]['trial']['scale']})"
    return raw["metric"]


def validation_rows(raw_rows: list[dict]) -> tuple[list[ValidationRow], list[dict]]:
    """Rows of :func:`~neuroplast.calibration.evaluate.evaluate` and ``evaluate_conditions`` as validation rows,
    classified (:mod:`~neuroplast.calibration.consistency`); and the reason of each consistency row.

    Raises ``ValueError`` when a row's ``use`` disagrees with ``evidence/roles.yaml``."""
    for r in raw_rows:
        check_role(r["study"], r["arm"], r["time"], r["metric"], r["use"])
    kinds = classify([Endpoint.of(r) for r in raw_rows])
    rows, reasons = [], []
    for r, (kind, why) in zip(raw_rows, kinds, strict=True):
        row = ValidationRow(
            study=r["study"],
            kind=kind,
            arms=tuple(r["arm"].split(" vs ")),
            time=r["time"],
            metric=_metric(r, raw_rows),
            published=float(r["value"]),
            lo=r["lo"],
            hi=r["hi"],
            simulated=None if r["simulated"] is None else float(r["simulated"]),
            inside=r["ci_holds"],
        )
        rows.append(row)
        if kind == "consistency":
            reasons.append(
                {"study": row.study, "arms": list(row.arms), "time": row.time, "metric": row.metric, "why": why}
            )
    return rows, reasons


def artifact(raw_rows: list[dict], *, n_per_arm: int, commit: str, date: str) -> dict:
    """The JSON document ``neuroplast validate --json`` writes."""
    rows, reasons = validation_rows(raw_rows)
    return {
        "commit": commit,
        "date": date,
        "n_per_arm": n_per_arm,
        "role_changes": role_changes(),
        "consistency": reasons,
        "rows": [r.to_dict() for r in rows],
    }


def check_targets_registered(targets=TARGETS) -> None:
    """Raise ``ValueError`` when a target's ``use`` is not its registered role."""
    for t in targets:
        check_role(t.study, t.arm, t.time, t.metric, t.use)


__all__ = ["N_PER_ARM", "artifact", "check_targets_registered", "validation_rows"]
