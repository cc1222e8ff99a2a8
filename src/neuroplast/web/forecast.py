"""The Forecast page's bridge to ``neuroplast.forecast``, which ships separately.

When the package has no forecasting module, ``status()`` says so and ``POST /api/forecast``
answers 501 with that message; the page shows it. Nothing is imported until asked.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NOT_INSTALLED = "forecasting is not installed in this build"
ENTRY = "forecast"  # the function of neuroplast.forecast the page calls


class Observation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: str = Field(description="when the score was taken, from the first dose, e.g. \"3 d\"")
    scale: str = Field("MADRS", description="the rating scale of the score")
    score: float = Field(ge=0, le=100)


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    history: list[Observation] = Field(min_length=1, max_length=500, description="the patient's observed scores")
    doses: list[dict[str, Any]] = Field([], max_length=200, description="doses given so far, in the trial TOML's shape")
    horizon: str = Field("28 d", description="how far ahead to forecast")


def _module():
    if importlib.util.find_spec("neuroplast.forecast") is None:
        return None
    return importlib.import_module("neuroplast.forecast")


def status() -> dict:
    try:
        mod = _module()
    except Exception as exc:  # a half-installed module must not take the server down
        return {"available": False, "message": f"{NOT_INSTALLED} (import failed: {type(exc).__name__})"}
    if mod is None or not callable(getattr(mod, ENTRY, None)):
        return {"available": False, "message": NOT_INSTALLED}
    return {"available": True, "message": "forecasting is available"}


def run(req: ForecastRequest) -> dict:
    mod = _module()
    return getattr(mod, ENTRY)(req.model_dump())
