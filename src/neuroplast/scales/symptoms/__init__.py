"""Mood state, expectancy (placebo) and the rating-scale read-outs."""

from .mood import Mood, hamd17_from_madrs

__all__ = ["Mood", "hamd17_from_madrs"]
