"""The Forecast page's bridge to ``neuroplast.forecast`` (issue: forecasting), which ships separately.

Forecasting is *available* when ``neuroplast.forecast`` exposes ``forecast`` and ``parse_target``
and ``neuroplast.io.history`` exposes ``read_history`` (the functions ``neuroplast forecast``
uses). Otherwise ``status()`` says "forecasting is not installed in this build", the page shows
that line and ``POST /api/forecast`` answers 501 with it. Nothing is imported until asked.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .._errors import NeuroplastInputError
from ..trials.spec import Name

NOT_INSTALLED = "forecasting is not installed in this build"


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    history: str = Field(
        min_length=1,
        description="the patient's history: CSV text (record,time,item,value,route,"
        "duration) or a FHIR R4 Bundle as JSON text",
    )
    filename: Name = Field(
        "history.csv",
        description="the uploaded file's name; its suffix (.csv or .json) picks the format",
    )
    weeks: float = Field(8.0, gt=0, le=26, description="forecast horizon, weeks")
    target: str = Field("PHQ9<10", max_length=40, description="instrument < threshold, e.g. PHQ9<10")
    probability: float = Field(0.8, gt=0, lt=1, description="probability with which the target must hold")
    weekdays_only: bool = Field(True, description="boosters on weekdays only")
    min_days: float = Field(7.0, ge=0, le=365, description="minimum days between infusions")
    method: Literal["laplace", "nuts"] = Field("laplace", description="posterior: Laplace (fast) or NUTS")
    allow_high_dose: bool = Field(
        False, description="read a history with doses above the safety ceilings (per dose or per 24 h)"
    )


def _modules():
    try:
        fc = importlib.import_module("neuroplast.forecast")
        hist = importlib.import_module("neuroplast.io.history")
    except ImportError:
        return None
    if all(callable(getattr(fc, n, None)) for n in ("forecast", "parse_target")) and callable(
        getattr(hist, "read_history", None)
    ):
        return fc, hist
    return None


def status() -> dict:
    try:
        mods = _modules()
    except Exception as exc:  # a half-installed module must not take the server down
        return {"available": False, "message": f"{NOT_INSTALLED} (import failed: {type(exc).__name__})"}
    if mods is None:
        return {"available": False, "message": NOT_INSTALLED}
    return {"available": True, "message": "forecasting is available"}


def run(req: ForecastRequest) -> dict:
    """Read the history as ``neuroplast forecast`` does, forecast, and return JSON for the page."""
    fc, hist = _modules()
    shown = req.filename or "history.csv"
    # the copy's name keeps only the suffix, which picks the format; messages name the uploaded file
    suffix = re.sub(r"[^a-z0-9.]", "", Path(shown).suffix.lower())
    try:
        data = req.history.encode("utf-8")
    except UnicodeEncodeError:
        raise NeuroplastInputError("the history is not valid UTF-8 text", file=shown) from None
    with tempfile.TemporaryDirectory(prefix="neuroplast-forecast-") as tmp:
        path = Path(tmp) / f"history{suffix}"
        path.write_bytes(data)
        try:
            history = hist.read_history(path, allow_high_dose=req.allow_high_dose)
        except NeuroplastInputError as exc:
            exc.file = shown
            exc.args = (exc.one_line(),)
            raise
    kwargs = {}
    constraints = getattr(fc, "Constraints", None)
    if constraints is not None:
        kwargs["constraints"] = constraints(weekdays_only=req.weekdays_only, min_days=req.min_days)
    result = fc.forecast(
        history, weeks=req.weeks, target=fc.parse_target(req.target, req.probability), method=req.method, **kwargs
    )
    iso = _iso
    return {
        "forecast": result.data,
        "observations": [
            {"time": iso(t), "instrument": ins, "score": s, "score_on_target": st}
            for t, ins, s, st in result.observations
        ],
        "given_doses": [iso(t) for t in result.given_doses],
        "plan_curves": [
            {
                "name": k,
                "time": [iso(t) for t in ts],
                "median": _list(med),
                "p05": _list(lo),
                "p95": _list(hi),
                "doses": [iso(t) for t in times],
            }
            for k, (ts, med, lo, hi, times) in result.plan_curves.items()
        ],
        "now": iso(result.now),
    }


def _iso(t) -> str:
    return t.isoformat(timespec="minutes")


def _list(a) -> list:
    import math

    return [float(x) if math.isfinite(float(x)) else None for x in a]
