"""The role registry (``roles.yaml``): each calibration study's role and the commit that set it.

A role is ``fit`` (in the calibration objective), ``holdout`` (never fitted), ``direction`` (only a direction
read; never fitted) or ``removed`` (no longer compared). Every change of role is a ``history`` entry with its
commit and reason, so a study cannot move between fit and held out silently: the tests compare
``targets.py`` with this file, and ``neuroplast validate`` compares every row it writes.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

ROLES = ("fit", "holdout", "direction", "removed")


@functools.cache
def registry() -> dict[str, dict]:
    """The registry keyed by study id (entries as in ``roles.yaml``)."""
    doc = yaml.safe_load((Path(__file__).parent / "roles.yaml").read_text())
    out: dict[str, dict] = {}
    for entry in doc["studies"]:
        if entry["study"] in out:
            raise ValueError(f"roles.yaml: study {entry['study']!r} is listed twice")
        if entry["role"] not in ROLES:
            raise ValueError(f"roles.yaml: {entry['study']}: role {entry['role']!r} is not one of {ROLES}")
        out[entry["study"]] = entry
    return out


def role_of(study: str, arm: str, time: str | None, metric: str) -> str | None:
    """The registered role of one endpoint (``None``: the study is not registered)."""
    entry = registry().get(study)
    if entry is None:
        return None
    for e in entry.get("endpoints", ()):
        if (e["arm"], e["time"], e["metric"]) == (arm, time, metric):
            return e["role"]
    return entry["role"]


def check_role(study: str, arm: str, time: str | None, metric: str, use: str) -> None:
    """Raise ``ValueError`` when an endpoint's ``use`` is not its registered role."""
    role = role_of(study, arm, time, metric)
    if role != use:
        raise ValueError(
            f"{study} ({arm}, {time}, {metric}) is used as {use!r} but registered as {role!r} in "
            "evidence/roles.yaml: a role changes only with a history entry there (commit and reason)"
        )


def role_changes() -> list[dict]:
    """Every recorded change of role: ``study``, ``commit``, ``date``, ``from``, ``to``, ``reason``."""
    return [
        {"study": s, **{k: h[k] for k in ("commit", "date", "from", "to", "reason")}}
        for s, entry in registry().items()
        for h in entry.get("history", ())
    ]


__all__ = ["ROLES", "check_role", "registry", "role_changes", "role_of"]
