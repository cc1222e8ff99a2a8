"""Mechanistic time courses against the simulation: the split, observation models, species mapping, comparison.

- :mod:`.data`: ``evidence/mechanism_split.yaml`` (fit / held out / unused, with the rule) and
  ``comparisons.yaml`` (how each compared entry is simulated), read and checked;
- :mod:`.observe`: one observation model per read-out family, and the families the model cannot produce;
- :mod:`.species`: rodent dose, route and time mapped to a human regimen, with sources;
- :mod:`.validate`: simulate, observe, and rows shaped like ``neuroplast validate``'s;
- :mod:`.figures`: one figure per family; :func:`run` does all of it and writes the figures.

Nothing here fits a parameter.
"""

from .data import CONFIG_PATH, SPLIT_PATH, Comparison, Point, SplitEntry, load_comparisons, load_split
from .figures import family_figure, figures
from .observe import FAMILIES, UNAVAILABLE, Family, observed, percent_change
from .run import run
from .species import SpeciesMapping, load_mappings
from .validate import Simulated, rows, simulate_entries, simulate_entry

__all__ = [
    "CONFIG_PATH",
    "FAMILIES",
    "SPLIT_PATH",
    "UNAVAILABLE",
    "Comparison",
    "Family",
    "Point",
    "Simulated",
    "SpeciesMapping",
    "SplitEntry",
    "family_figure",
    "figures",
    "load_comparisons",
    "load_mappings",
    "load_split",
    "observed",
    "percent_change",
    "rows",
    "run",
    "simulate_entries",
    "simulate_entry",
]
