"""Conditions beyond depression: PTSD, anxiety, OCD, alcohol and cocaine use disorder,
bipolar depression, chronic pain.

Each condition is one small module (:mod:`.ptsd`, :mod:`.anxiety`, ...) holding *data*: a population
preset (keyword arguments of :class:`neuroplast.cohort.presets.Preset`), its scales (keyword arguments
of :class:`neuroplast.instruments.Instrument`) and the sub-circuit mapping from a simulation's read-outs
to the condition's symptom score (:mod:`._symptoms`). The registries build the objects
(``cohort/presets.py``, ``instruments.py``, ``parameters/table.py``), so this package imports
nothing else of neuroplast at import time and adds no import cycle.

Condition symptoms are computed after the solve from the read-outs (the circuit level is
evaluated on the slow state). The parameters are :data:`._params.CONDITION_PARAMETERS`
(``neuroplast params --scale conditions``); the calibrated ones come from ``fitted.json`` beside this
file, written by ``python -m neuroplast.calibration.conditions`` (``neuroplast calibrate-conditions``).
Heavier entry points live in submodules: :mod:`.calibrate` (the fit), :mod:`.validate` (the
``neuroplast validate`` rows), :mod:`.safety` (the YMRS safety keys of ``summary.json``).
"""

from __future__ import annotations

from ..parameters.conditions import CONDITION_PARAMETERS
from . import alcohol_use_disorder, anxiety, bipolar_depression, chronic_pain, cocaine_use_disorder, ocd, ptsd

MODULES = (ptsd, anxiety, ocd, alcohol_use_disorder, cocaine_use_disorder, bipolar_depression, chronic_pain)
"""One module per condition; each has ``NAME``, ``PRESET`` (dict or None: bipolar uses its own), ``SCALES``
(list of Scale keyword dicts), ``EVIDENCE`` (what the calibration set holds, in words)."""

CONDITION_PRESETS = {m.NAME: m.PRESET for m in MODULES}
"""population name -> Preset keyword arguments."""

CONDITION_SCALES = [s for m in MODULES for s in m.SCALES]
"""Scale keyword arguments, one dict per scale (registered by ``instruments.py``)."""

__all__ = ["CONDITION_PARAMETERS", "CONDITION_PRESETS", "CONDITION_SCALES", "MODULES"]
