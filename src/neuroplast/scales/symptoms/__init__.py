"""Mood state, expectancy (placebo) and the rating-scale read-outs."""

from .learning import KINDS, Learning
from .mood import Mood, hamd17_from_madrs

__all__ = ["KINDS", "Learning", "Mood", "hamd17_from_madrs"]
